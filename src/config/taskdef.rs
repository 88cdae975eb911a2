//! `taskdef` settings beyond the source and images: the container edits and the change report,
//! parsed and checked before any call to AWS.

use std::fs;
use std::path::PathBuf;

use super::check_container_name;
use crate::artifacts::edits::{ContainerEdit, is_secret_reference};
use crate::artifacts::substitute::parse_env_file;
use crate::cli::TaskdefArgs;
use crate::error::UsageError;

/// The service production runs, to compare the new task definition with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveService {
    pub cluster: String,
    pub service: String,
}

/// The change report: against which service, refusing drops or not, and where its JSON goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSettings {
    pub against: LiveService,
    pub fail_on_drop: bool,
    pub json: Option<PathBuf>,
}

/// The edits in the order they apply: the exclusive sets first, then the files, the variables,
/// the removals, the secrets and their removals.
///
/// # Errors
/// A [`UsageError`] naming the flag whose value cannot be used.
pub fn resolve_container_edits(args: &TaskdefArgs) -> Result<Vec<ContainerEdit>, UsageError> {
    let mut edits = Vec::new();
    for container in &args.exclusive_environment {
        check_container_name("--exclusive-env", container)?;
        edits.push(ContainerEdit::ExclusiveEnvironment {
            container: container.clone(),
        });
    }
    for value in &args.environment_file {
        let (container, file) = split_container("--env-file", value, "CONTAINER:FILE")?;
        let text = fs::read_to_string(file).map_err(|error| {
            UsageError::new(format!(
                "`--env-file {value}`: cannot read `{file}`: {error}"
            ))
        })?;
        let variables = parse_env_file(&text)
            .map_err(|error| UsageError::new(format!("`--env-file {value}`: `{file}` {error}")))?;
        for (name, variable_value) in variables {
            edits.push(ContainerEdit::SetEnvironment {
                container: container.to_owned(),
                flag: format!("--env-file {value} ({name})"),
                name,
                value: variable_value,
            });
        }
    }
    for value in &args.environment {
        let (container, name, variable_value) =
            split_assignment("--env", value, "CONTAINER:NAME=VALUE")?;
        edits.push(ContainerEdit::SetEnvironment {
            container,
            name,
            value: variable_value,
            flag: format!("--env {value}"),
        });
    }
    for value in &args.unset_environment {
        let (container, name) = split_container("--unset-env", value, "CONTAINER:NAME")?;
        check_variable_name("--unset-env", value, name)?;
        edits.push(ContainerEdit::UnsetEnvironment {
            container: container.to_owned(),
            name: name.to_owned(),
        });
    }
    for value in &args.secret {
        let (container, name, value_from) =
            split_assignment("--secret", value, "CONTAINER:NAME=ARN")?;
        if !is_secret_reference(&value_from) {
            return Err(UsageError::new(format!(
                "`--secret {value}`: `{value_from}` is not a Secrets Manager secret ARN or SSM parameter ARN"
            ))
            .with_hint("arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME or arn:aws:ssm:REGION:ACCOUNT:parameter/NAME"));
        }
        edits.push(ContainerEdit::SetSecret {
            container,
            name,
            value_from,
            flag: format!("--secret {value}"),
        });
    }
    for value in &args.unset_secret {
        let (container, name) = split_container("--unset-secret", value, "CONTAINER:NAME")?;
        check_variable_name("--unset-secret", value, name)?;
        edits.push(ContainerEdit::UnsetSecret {
            container: container.to_owned(),
            name: name.to_owned(),
        });
    }
    Ok(edits)
}

/// The change report's settings: with `--against-live`, or `--service` unless `--no-report`.
///
/// # Errors
/// When a report option is given without a live service to compare with, or a bad format.
pub fn resolve_report(
    args: &TaskdefArgs,
    cluster: Option<&str>,
) -> Result<Option<ReportSettings>, UsageError> {
    let json = match args.report.as_slice() {
        [] => None,
        [format, file] if format == "json" => Some(PathBuf::from(file)),
        [format, _] => {
            return Err(UsageError::new(format!(
                "`--report {format}`: the report format is `json`"
            )));
        }
        _ => {
            return Err(UsageError::new(
                "`--report` takes FORMAT FILE, e.g. `--report json report.json`",
            ));
        }
    };
    let against = match (&args.against_live, &args.service, cluster) {
        (Some(service), _, Some(cluster)) | (None, Some(service), Some(cluster))
            if !args.no_report =>
        {
            Some(LiveService {
                cluster: cluster.to_owned(),
                service: service.clone(),
            })
        }
        (Some(_), _, None) => {
            return Err(UsageError::new("`--against-live` needs `--cluster`"));
        }
        _ => None,
    };
    match against {
        Some(against) => Ok(Some(ReportSettings {
            against,
            fail_on_drop: args.fail_on_drop,
            json,
        })),
        None if args.fail_on_drop || json.is_some() => Err(UsageError::new(
            "`--fail-on-drop` and `--report` compare with what production runs, and there is no live service",
        )
        .with_hint("add `--against-live SERVICE --cluster CLUSTER`, or use `--service`")),
        None => Ok(None),
    }
}

fn split_container<'a>(
    flag: &str,
    value: &'a str,
    form: &str,
) -> Result<(&'a str, &'a str), UsageError> {
    let Some((container, rest)) = value.split_once(':') else {
        return Err(UsageError::new(format!(
            "`{flag} {value}`: expected {form}"
        )));
    };
    check_container_name(flag, container)?;
    if rest.is_empty() {
        return Err(UsageError::new(format!(
            "`{flag} {value}`: expected {form}"
        )));
    }
    Ok((container, rest))
}

fn split_assignment(
    flag: &str,
    value: &str,
    form: &str,
) -> Result<(String, String, String), UsageError> {
    let (container, assignment) = split_container(flag, value, form)?;
    let Some((name, assigned)) = assignment.split_once('=') else {
        return Err(UsageError::new(format!(
            "`{flag} {value}`: expected {form}"
        )));
    };
    check_variable_name(flag, value, name)?;
    Ok((container.to_owned(), name.to_owned(), assigned.to_owned()))
}

/// ECS takes any name; bgtool refuses only what is surely a mistake: empty, or with spaces.
fn check_variable_name(flag: &str, value: &str, name: &str) -> Result<(), UsageError> {
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        Err(UsageError::new(format!(
            "`{flag} {value}`: `{name}` is not a variable name"
        )))
    } else {
        Ok(())
    }
}
