//! Settings of `verify`, checked before any call: what to check (a file, a revision, a service's
//! own) and how to print it.

use super::{AwsSettings, Input, non_empty, resolve_image_edits};
use crate::artifacts::taskdef::ImageEdit;
use crate::cli::VerifyArgs;
use crate::error::UsageError;

/// The task definition to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    File {
        input: Input,
        image_edits: Vec<ImageEdit>,
    },
    Registered(String),
    /// The revision the service runs.
    ServiceRevision,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifySettings {
    pub subject: Subject,
    /// `(cluster, service)`.
    pub service: Option<(String, String)>,
    pub read_secrets: bool,
    pub json: bool,
    pub aws: AwsSettings,
}

impl VerifySettings {
    /// # Errors
    /// A [`UsageError`] for nothing to check, an empty name, or a bad image.
    pub fn resolve(args: VerifyArgs) -> Result<Self, UsageError> {
        let service = match (args.cluster, args.service) {
            (Some(cluster), Some(service)) => {
                non_empty("--cluster", &cluster)?;
                non_empty("--service", &service)?;
                Some((cluster, service))
            }
            _ => None,
        };
        let subject = match (args.taskdef, args.task_definition) {
            (Some(path), _) => Subject::File {
                input: Input::from_path(path),
                image_edits: resolve_image_edits(&args.image, &[])?,
            },
            (None, Some(reference)) => {
                non_empty("--task-definition", &reference)?;
                Subject::Registered(reference)
            }
            (None, None) if service.is_some() => Subject::ServiceRevision,
            (None, None) => {
                return Err(UsageError::new("nothing to verify").with_hint(
                    "give `--taskdef FILE`, `--task-definition REVISION`, or `--cluster C --service S`",
                ));
            }
        };
        Ok(Self {
            subject,
            service,
            read_secrets: args.read_secrets,
            json: args.output == "json",
            aws: AwsSettings::resolve(args.aws)?,
        })
    }
}
