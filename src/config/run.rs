//! Settings of `run`, checked before any call: the revision to run, the command, the bounds.

use std::time::Duration;

use super::deploy::{CALL_TIMEOUT, parse_bounded_seconds};
use super::{AwsSettings, Input, non_empty, resolve_image_edits};
use crate::artifacts::taskdef::ImageEdit;
use crate::cli::{AwsArgs, RunArgs};
use crate::error::UsageError;

/// The revision the task runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revision {
    /// A taskdef.json to register first, with its image edits.
    File {
        input: Input,
        image_edits: Vec<ImageEdit>,
    },
    /// A registered revision: `family:revision`, a family or an ARN.
    Registered(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSettings {
    pub cluster: String,
    pub service: String,
    pub revision: Revision,
    pub container: Option<String>,
    /// Run as given: each word one argument, no shell.
    pub command: Vec<String>,
    pub timeout: Duration,
    pub poll_interval: Duration,
    pub aws: AwsSettings,
}

impl RunSettings {
    /// # Errors
    /// A [`UsageError`] for an empty name or command, a bad image or a bad number of seconds.
    pub fn resolve(args: RunArgs) -> Result<Self, UsageError> {
        non_empty("--cluster", &args.cluster)?;
        non_empty("--service", &args.service)?;
        if let Some(container) = &args.container {
            non_empty("--container", container)?;
        }
        if args.command.first().is_none_or(String::is_empty) {
            return Err(UsageError::new("the command after `--` is empty")
                .with_hint("give the program and its arguments: `-- bin/rails db:migrate`"));
        }
        let revision = match (args.taskdef, args.task_definition) {
            (Some(path), None) => Revision::File {
                input: Input::from_path(path),
                image_edits: resolve_image_edits(&args.image, &[])?,
            },
            (None, Some(reference)) => {
                non_empty("--task-definition", &reference)?;
                Revision::Registered(reference)
            }
            _ => {
                return Err(UsageError::new(
                    "give `--taskdef FILE` or `--task-definition REVISION`, not both",
                ));
            }
        };
        let timeout = parse_bounded_seconds("--timeout", &args.timeout)?;
        let poll_interval = parse_bounded_seconds("--poll-interval", &args.poll_interval)?;
        let aws = AwsSettings::resolve(AwsArgs {
            region: args.region,
            profile: args.profile,
            connect_timeout: args.connect_timeout,
            timeout: CALL_TIMEOUT.to_owned(),
            verbose: args.verbose,
        })?;
        Ok(Self {
            cluster: args.cluster,
            service: args.service,
            revision,
            container: args.container,
            command: args.command,
            timeout,
            poll_interval,
            aws,
        })
    }
}
