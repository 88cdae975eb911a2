//! `bgtool check`: validate existing appspec and taskdef files, for pipelines that keep their own.

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use crate::artifacts::checks;
use crate::artifacts::lint::lint_taskdef;
use crate::artifacts::taskdef::{READ_ONLY_KEYS, container_names};
use crate::config::{CheckSettings, Input};
use crate::diagnostics::warn_with_hint;
use crate::error::Hinted;
use crate::files::{parse_json, read_input};

/// Checks each file given; prints `FILE: ok` for each that passes.
///
/// # Errors
/// The first file with a problem, and what the problem is.
pub fn run(settings: &CheckSettings) -> Result<()> {
    let mut findings = 0;
    let containers = match &settings.taskdef {
        Some(input) => {
            let document = check_taskdef(input)?;
            findings = report_lints(input, &document);
            Some(checks::taskdef_containers(input)?)
        }
        None => None,
    };
    if let Some(input) = &settings.appspec {
        let bytes = read_input(input)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", input.describe()))?;
        checks::appspec(&text, &input.describe(), containers.as_deref())?;
    }
    if settings.strict && findings > 0 {
        return Err(Hinted::new(
            format!(
                "{} has {findings} lint finding{} (`--strict`)",
                settings
                    .taskdef
                    .as_ref()
                    .map_or_else(String::new, Input::describe),
                if findings == 1 { "" } else { "s" }
            ),
            "fix them, or drop `--strict` to report them as warnings",
        )
        .into());
    }
    // Only once every check passed, so that a failed run prints no data.
    for input in [&settings.taskdef, &settings.appspec].into_iter().flatten() {
        let warnings = if settings.taskdef.as_ref() == Some(input) && findings > 0 {
            format!(
                " ({findings} warning{})",
                if findings == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        };
        println!("{}: ok{warnings}", input.describe().trim_matches('`'));
    }
    Ok(())
}

/// Prints each lint finding as a warning; returns how many there were.
fn report_lints(input: &Input, document: &Map<String, Value>) -> usize {
    let findings = lint_taskdef(document);
    for finding in &findings {
        let subject = match &finding.container {
            Some(container) => format!("{}: container `{container}`", input.describe()),
            None => input.describe(),
        };
        warn_with_hint(&format!("{subject}: {}", finding.message), &finding.hint);
    }
    findings.len()
}

/// A taskdef.json must be RegisterTaskDefinition input as it stands: no DescribeTaskDefinition
/// wrapper, no read-only keys, no nulls, named containers.
fn check_taskdef(input: &Input) -> Result<Map<String, Value>> {
    let bytes = read_input(input)?;
    let document = parse_json(&bytes, input)?;
    let Value::Object(object) = &document else {
        anyhow::bail!("{}: expected a JSON object", input.describe());
    };
    let fix = format!(
        "make it registerable with `bgtool taskdef --input {0} -o {0}`",
        input.describe().trim_matches('`')
    );
    if object.contains_key("taskDefinition") {
        return Err(Hinted::new(
            format!(
                "{} is DescribeTaskDefinition output, not a taskdef.json",
                input.describe()
            ),
            fix,
        )
        .into());
    }
    let read_only: Vec<String> = READ_ONLY_KEYS
        .iter()
        .filter(|key| object.contains_key(**key))
        .map(|key| format!("`{key}`"))
        .collect();
    if !read_only.is_empty() {
        return Err(Hinted::new(
            format!(
                "{} has read-only keys that RegisterTaskDefinition rejects: {}",
                input.describe(),
                read_only.join(", ")
            ),
            fix,
        )
        .into());
    }
    if let Some(path) = first_null(&document, "") {
        return Err(Hinted::new(format!("{}: `{path}` is null", input.describe()), fix).into());
    }
    container_names(object).with_context(|| input.describe())?;
    Ok(object.clone())
}

/// The path of the first key whose value is null.
fn first_null(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::Object(object) => object.iter().find_map(|(key, inner)| {
            let inner_path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if inner.is_null() {
                Some(inner_path)
            } else {
                first_null(inner, &inner_path)
            }
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| first_null(item, &format!("{path}[{index}]"))),
        _ => None,
    }
}
