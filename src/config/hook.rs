//! Settings of `hook`, checked before any request: every check parsed, every path given a base URL.

use std::time::Duration;

use super::AwsSettings;
use crate::cli::HookArgs;
use crate::error::UsageError;
use crate::hook::checks::{self, Check};

/// How `bgtool hook` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookSettings {
    /// From a shell: these checks, now.
    Shell {
        base_url: Option<String>,
        checks: Vec<Check>,
    },
    /// As a Lambda function: the Runtime API's address, and how to reach CodeDeploy.
    Lambda {
        runtime_api: String,
        aws: AwsSettings,
    },
}

impl HookSettings {
    /// # Errors
    /// A check that does not parse, a path with no --base-url, or --lambda outside Lambda.
    pub fn resolve(args: HookArgs) -> Result<Self, UsageError> {
        if args.lambda {
            let runtime_api = std::env::var("AWS_LAMBDA_RUNTIME_API")
                .ok()
                .filter(|address| !address.trim().is_empty())
                .ok_or_else(|| {
                    UsageError::new("`--lambda` needs AWS_LAMBDA_RUNTIME_API, which Lambda sets")
                        .with_hint("from a shell, run the checks with `--check`")
                })?;
            return Ok(Self::Lambda {
                runtime_api,
                // Lambda gives the Region and the role's credentials in the environment.
                aws: AwsSettings {
                    region: None,
                    profile: None,
                    connect_timeout: Duration::from_secs(5),
                    timeout: Duration::from_secs(30),
                    verbose: false,
                    patient_attempts: None,
                },
            });
        }
        if let Some(base) = &args.base_url
            && !(base.starts_with("http://") || base.starts_with("https://"))
        {
            return Err(UsageError::new(format!(
                "`--base-url` `{base}` is not an http:// or https:// URL"
            )));
        }
        let checks = args
            .checks
            .iter()
            .map(|text| {
                let check = checks::parse(text)
                    .map_err(|reason| UsageError::new(format!("`--check` `{text}`: {reason}")))?;
                checks::url(&check, args.base_url.as_deref()).map_err(|reason| {
                    UsageError::new(reason).with_hint(
                        "pass `--base-url` (the test listener, e.g. http://HOST:8080), or a whole URL",
                    )
                })?;
                Ok(check)
            })
            .collect::<Result<_, UsageError>>()?;
        Ok(Self::Shell {
            base_url: args.base_url,
            checks,
        })
    }
}
