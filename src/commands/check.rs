//! `bgtool check`: validate existing appspec and taskdef files, for pipelines that keep their own.

use anyhow::{Context, Result};
use serde_json::Value;

use crate::checks;
use crate::config::{CheckSettings, Input};
use crate::error::Hinted;
use crate::files::{parse_json, read_input};
use crate::taskdef::{READ_ONLY_KEYS, container_names};

/// Checks each file given; prints `FILE: ok` for each that passes.
///
/// # Errors
/// The first file with a problem, and what the problem is.
pub fn run(settings: &CheckSettings) -> Result<()> {
    let containers = match &settings.taskdef {
        Some(input) => {
            check_taskdef(input)?;
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
    // Only once every check passed, so that a failed run prints no data.
    for input in [&settings.taskdef, &settings.appspec].into_iter().flatten() {
        println!("{}: ok", input.describe().trim_matches('`'));
    }
    Ok(())
}

/// A taskdef.json must be RegisterTaskDefinition input as it stands: no DescribeTaskDefinition
/// wrapper, no read-only keys, no nulls, named containers.
fn check_taskdef(input: &Input) -> Result<()> {
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
    Ok(())
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
