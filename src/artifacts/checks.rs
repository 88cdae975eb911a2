//! The checks that `render-appspec` and `check` share: parse an AppSpec, validate it, report its
//! warnings, and cross-check it against a task definition.

use anyhow::{Context, Result};
use serde_norway::Value;

use crate::artifacts::appspec::{self, cross_check};
use crate::artifacts::taskdef::{container_ports, registerable};
use crate::config::Input;
use crate::diagnostics::warn;
use crate::error::Hinted;
use crate::files::{parse_json, read_input};

/// Each container of a taskdef.json (or DescribeTaskDefinition output) with its container ports.
///
/// # Errors
/// When the file cannot be read or holds no task definition.
pub fn taskdef_containers(input: &Input) -> Result<Vec<(String, Vec<u64>)>> {
    let bytes = read_input(input)?;
    let document = registerable(parse_json(&bytes, input)?).with_context(|| input.describe())?;
    container_ports(&document).with_context(|| input.describe())
}

/// Parses YAML (JSON is YAML too), naming `origin`, line and column on error.
///
/// # Errors
/// When `text` is not one valid YAML document.
pub fn parse_yaml(text: &str, origin: &str) -> Result<Value> {
    serde_norway::from_str(text).map_err(|error| {
        let message = error.to_string();
        let reason = message.split(" at line ").next().unwrap_or_default();
        let position = error
            .location()
            .map(|location| format!("line {}, column {}: ", location.line(), location.column()))
            .unwrap_or_default();
        anyhow::Error::new(Hinted::new(
            format!("{origin} is not valid YAML: {position}{reason}"),
            "an AppSpec is YAML or JSON; check the quoting and indentation around that line",
        ))
    })
}

/// Validates the AppSpec in `text`: warnings go to standard error, problems make the error.
///
/// # Errors
/// When the text is not YAML, breaks an AppSpec rule, or names a container or port that the task
/// definition does not have.
pub fn appspec(text: &str, origin: &str, containers: Option<&[(String, Vec<u64>)]>) -> Result<()> {
    let document = parse_yaml(text, origin)?;
    let validation = appspec::validate(&document);
    for warning in &validation.warnings {
        warn(&format!("{origin}: {warning}"));
    }
    if !validation.is_valid() {
        let count = validation.problems.len();
        let problems = validation.problems.join("; ");
        let summary = if count == 1 {
            format!("{origin} is not a valid ECS AppSpec: {problems}")
        } else {
            format!("{origin} is not a valid ECS AppSpec ({count} problems): {problems}")
        };
        return Err(Hinted::new(
            summary,
            "see the AppSpec 'resources' and 'hooks' sections for Amazon ECS in the CodeDeploy user guide",
        )
        .into());
    }
    if let (Some(containers), Some(target)) = (containers, &validation.target) {
        cross_check(target, containers).map_err(|problem| {
            Hinted::new(
                format!("{origin} does not match the task definition: {problem}"),
                "the AppSpec's LoadBalancerInfo must name a container of the task definition and one of its container ports",
            )
        })?;
    }
    Ok(())
}
