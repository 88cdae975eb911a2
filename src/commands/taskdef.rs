//! `bgtool taskdef`: a live or saved task definition as a registerable taskdef.json.

use anyhow::{Context, Result};
use serde_json::Value;

use crate::aws::{self, Ecs};
use crate::config::{LiveTaskdef, TaskdefSettings, TaskdefSource};
use crate::diagnostics::note;
use crate::files::{json_text, parse_json, read_input, write_output};
use crate::service::current_task_definition;
use crate::taskdef::{apply_images, registerable};

/// Reads the task definition, makes it registerable, sets images, writes it.
///
/// # Errors
/// When the source cannot be read or holds no task definition, an image edit names a container
/// that is not there, or the output cannot be written. Nothing is written then.
pub fn run(settings: &TaskdefSettings) -> Result<()> {
    let (described, origin) = match &settings.source {
        TaskdefSource::Saved(input) => {
            let bytes = read_input(input)?;
            (parse_json(&bytes, input)?, input.describe())
        }
        TaskdefSource::Live(live) => {
            aws::with_ecs(&settings.aws, async |ecs| fetch(ecs, live).await)?
        }
    };
    let mut document = registerable(described).with_context(|| origin.clone())?;
    let applied =
        apply_images(&mut document, &settings.image_edits).with_context(|| origin.clone())?;
    for image in applied {
        note(&format!(
            "container `{}` image set to `{}`",
            image.container, image.image
        ));
    }
    write_output(
        &settings.output,
        json_text(&Value::Object(document)).as_bytes(),
    )
}

/// The DescribeTaskDefinition response, and how messages name where it came from.
async fn fetch(ecs: &impl Ecs, source: &LiveTaskdef) -> Result<(Value, String)> {
    let reference = match source {
        LiveTaskdef::Describe { reference } => reference.clone(),
        LiveTaskdef::Service { cluster, service } => {
            let description = ecs.describe_service(cluster, service).await?;
            let current = current_task_definition(&description)?;
            note(&current.reason);
            current.arn
        }
    };
    let described = ecs.describe_task_definition(&reference).await?;
    Ok((described, format!("task definition `{reference}` from ECS")))
}
