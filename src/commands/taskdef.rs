//! `bgtool taskdef`: a live or saved task definition as a registerable taskdef.json, with its
//! images and container edits applied, and a report of what production gains and loses.

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use crate::artifacts::edits::apply_edits;
use crate::artifacts::report::{Report, compare};
use crate::artifacts::taskdef::{apply_images, registerable};
use crate::aws::{self, Ecs};
use crate::config::{LiveService, LiveTaskdef, Output, TaskdefSettings, TaskdefSource};
use crate::deployment::service::current_task_definition;
use crate::diagnostics::{self, note};
use crate::error::Hinted;
use crate::files::{json_text, parse_json, read_input, write_output};

/// What production runs now: the task definition's ARN and its DescribeTaskDefinition response.
struct Live {
    arn: String,
    described: Value,
}

/// Reads the task definition, makes it registerable, sets images and edits containers, reports
/// the change against production, writes it.
///
/// # Errors
/// When the source cannot be read or holds no task definition, an edit names a container that is
/// not there or conflicts with another, `--fail-on-drop` meets a removal, or the output cannot
/// be written. Nothing is written then.
pub fn run(settings: &TaskdefSettings) -> Result<()> {
    let against = settings.report.as_ref().map(|report| &report.against);
    let (described, origin, live) = match &settings.source {
        TaskdefSource::Saved(input) => {
            let bytes = read_input(input)?;
            let described = parse_json(&bytes, input)?;
            let live = match against {
                Some(service) => Some(aws::with_ecs(&settings.aws, async |ecs| {
                    fetch_live(ecs, service).await
                })?),
                None => None,
            };
            (described, input.describe(), live)
        }
        TaskdefSource::Live(source) => {
            aws::with_ecs(&settings.aws, async |ecs| fetch(ecs, source, against).await)?
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
    let edit_notes =
        apply_edits(&mut document, &settings.container_edits).with_context(|| origin.clone())?;
    for edit_note in edit_notes {
        note(&edit_note.0);
    }
    if let (Some(report_settings), Some(live)) = (&settings.report, live) {
        let live_document = registerable(live.described)
            .with_context(|| format!("task definition `{}` from ECS", live.arn))?;
        let report = compare(&live.arn, &live_document, &document);
        for line in report.lines() {
            diagnostics::report_line(&line);
        }
        if let Some(path) = &report_settings.json {
            let text = serde_json::to_string_pretty(&report_json(&report))
                .context("rendering the change report")?;
            write_output(&Output::File(path.clone()), format!("{text}\n").as_bytes())?;
        }
        if report_settings.fail_on_drop {
            refuse_drops(&report)?;
        }
    }
    write_output(
        &settings.output,
        json_text(&Value::Object(document)).as_bytes(),
    )
}

fn report_json(report: &Report) -> Value {
    let mut object = Map::new();
    object.insert("live".to_owned(), Value::String(report.live.clone()));
    object.insert(
        "changes".to_owned(),
        serde_json::to_value(&report.changes).unwrap_or_default(),
    );
    object.insert(
        "drops".to_owned(),
        serde_json::to_value(report.drops()).unwrap_or_default(),
    );
    Value::Object(object)
}

fn refuse_drops(report: &Report) -> Result<()> {
    let drops = report.drops();
    if drops.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = drops
        .iter()
        .map(|change| match (&change.container, &change.item) {
            (Some(container), Some(item)) => {
                format!("{} `{item}` of container `{container}`", change.field)
            }
            (Some(container), None) => format!("container `{container}`"),
            (None, _) => change.field.clone(),
        })
        .collect();
    Err(Hinted::new(
        format!(
            "`--fail-on-drop`: production would lose {}; nothing written",
            named.join(", ")
        ),
        "if the removal is meant, run without `--fail-on-drop` once; otherwise put them back where the task definition is owned (Terraform)",
    )
    .into())
}

/// The DescribeTaskDefinition response, how messages name where it came from, and what
/// production runs when the report compares with a service.
async fn fetch(
    ecs: &impl Ecs,
    source: &LiveTaskdef,
    against: Option<&LiveService>,
) -> Result<(Value, String, Option<Live>)> {
    let (reference, running) = match source {
        LiveTaskdef::Describe { reference } => (reference.clone(), false),
        LiveTaskdef::Service { cluster, service } => {
            let description = ecs.describe_service(cluster, service).await?;
            let current = current_task_definition(&description)?;
            note(&current.reason);
            (current.arn, true)
        }
    };
    let described = ecs.describe_task_definition(&reference).await?;
    let live = match against {
        // `--service` compares with what it read: production's own task definition.
        Some(_) if running => Some(Live {
            arn: reference.clone(),
            described: described.clone(),
        }),
        Some(service) => Some(fetch_live(ecs, service).await?),
        None => None,
    };
    Ok((
        described,
        format!("task definition `{reference}` from ECS"),
        live,
    ))
}

/// The task definition a service runs now (for CODE_DEPLOY, the PRIMARY task set's).
async fn fetch_live(ecs: &impl Ecs, service: &LiveService) -> Result<Live> {
    let description = ecs
        .describe_service(&service.cluster, &service.service)
        .await?;
    let current = current_task_definition(&description)?;
    let described = ecs.describe_task_definition(&current.arn).await?;
    Ok(Live {
        arn: current.arn,
        described,
    })
}
