//! `bgtool prune`: deregister a family's old ACTIVE revisions (and, when asked, delete its old
//! INACTIVE ones), never one that a service, a deployment, a task set or a task still uses.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::aws::{self, Ecs};
use crate::config::prune::PruneSettings;
use crate::diagnostics;
use crate::error::Hinted;
use crate::revisions::{self, Decision, Inactive, Use};

/// DeleteTaskDefinitions takes at most ten revisions a call.
const DELETE_BATCH: usize = 10;
const SECONDS_PER_DAY: f64 = 86_400.0;

/// Plans, prints and carries out the pruning of one family.
///
/// # Errors
/// An unknown family, a cluster that cannot be searched (nothing is deregistered then), or an
/// AWS error part way (what was done before it is already printed; a rerun continues).
pub fn run(settings: &PruneSettings) -> Result<()> {
    aws::with_ecs_unbounded(&settings.aws, async |ecs, _| prune(ecs, settings).await)
}

async fn prune(ecs: &impl Ecs, settings: &PruneSettings) -> Result<()> {
    let family = settings.family.as_str();
    let active = ecs.task_definition_arns(family, "ACTIVE").await?;
    let inactive = match settings.delete_inactive_after_days {
        Some(_) => ecs.task_definition_arns(family, "INACTIVE").await?,
        None => Vec::new(),
    };
    if active.is_empty() && inactive.is_empty() {
        return Err(Hinted::new(
            format!("family `{family}` has no ACTIVE revision here"),
            "check `--family` and the Region: `aws ecs list-task-definition-families --status ACTIVE`",
        )
        .into());
    }
    // Every use is found before anything changes: a cluster that cannot be searched stops the
    // run here, since a revision it uses would look unused.
    let (uses, clusters) = find_uses(ecs, settings).await?;
    let plan = revisions::plan_active(
        family,
        &active,
        settings.keep,
        &settings.keep_revisions,
        &uses,
    );
    let mut out = std::io::stdout().lock();
    for decision in plan.iter().filter(|decision| !decision.goes()) {
        print_kept(&mut out, family, decision)?;
    }
    let going: Vec<&Decision> = plan
        .iter()
        .rev()
        .filter(|decision| decision.goes())
        .collect();
    for (done, decision) in going.iter().enumerate() {
        if settings.dry_run {
            line(
                &mut out,
                format_args!("{:<16}  {family}:{}", "would deregister", decision.revision),
            )?;
            continue;
        }
        ecs.deregister_task_definition(&decision.arn)
            .await
            .with_context(|| {
                format!(
                    "{done} of {} revisions were deregistered before this failure; a rerun continues from here",
                    going.len()
                )
            })?;
        line(
            &mut out,
            format_args!("{:<16}  {family}:{}", "deregistered", decision.revision),
        )?;
    }
    let kept = plan.len() - going.len();
    let verb = if settings.dry_run {
        "would deregister"
    } else {
        "deregistered"
    };
    diagnostics::note(&format!(
        "`{family}`: {} ACTIVE revisions, uses searched in {clusters} cluster(s); kept {kept}, {verb} {}",
        plan.len(),
        going.len()
    ));
    if let Some(days) = settings.delete_inactive_after_days {
        // In a dry run the revisions it would deregister count as deregistered now.
        let mut inactive = inactive;
        if settings.dry_run {
            inactive.extend(going.iter().map(|decision| decision.arn.clone()));
        } else if !going.is_empty() {
            inactive = ecs.task_definition_arns(family, "INACTIVE").await?;
        }
        let just_deregistered: Vec<&str> =
            going.iter().map(|decision| decision.arn.as_str()).collect();
        delete_inactive(
            ecs,
            settings,
            &mut out,
            days,
            &inactive,
            &just_deregistered,
            &uses,
        )
        .await?;
    }
    Ok(())
}

/// The uses of the family's revisions in the searched clusters, and how many were searched.
async fn find_uses(ecs: &impl Ecs, settings: &PruneSettings) -> Result<(Vec<Use>, usize)> {
    let clusters = if settings.clusters.is_empty() {
        ecs.cluster_arns().await?
    } else {
        settings.clusters.clone()
    };
    let mut uses = Vec::new();
    for cluster in &clusters {
        let name = cluster.rsplit('/').next().unwrap_or(cluster);
        for service in ecs.cluster_services(cluster).await? {
            let who = format!("service `{}` in cluster `{name}`", service.service_name);
            for deployment in &service.deployments {
                if let Some(task_definition) = &deployment.task_definition {
                    uses.push(Use {
                        task_definition: task_definition.clone(),
                        by: format!("{who} ({} deployment)", deployment.status),
                    });
                }
            }
            for task_set in &service.task_sets {
                if let Some(task_definition) = &task_set.task_definition {
                    uses.push(Use {
                        task_definition: task_definition.clone(),
                        by: format!("{who} ({} task set)", task_set.status),
                    });
                }
            }
            // The service's own revision, when no deployment or task set named it already.
            if let Some(task_definition) = &service.task_definition
                && !uses.iter().any(|found| {
                    found.task_definition == *task_definition && found.by.starts_with(&who)
                })
            {
                uses.push(Use {
                    task_definition: task_definition.clone(),
                    by: who,
                });
            }
        }
        for task in ecs.family_tasks(cluster, &settings.family).await? {
            let id = task.task_arn.rsplit('/').next().unwrap_or(&task.task_arn);
            let status = task.last_status.as_deref().unwrap_or("RUNNING");
            uses.push(Use {
                task_definition: task.task_definition_arn.clone(),
                by: match &task.group {
                    Some(group) => format!("{status} task `{id}` ({group}) in cluster `{name}`"),
                    None => format!("{status} task `{id}` in cluster `{name}`"),
                },
            });
        }
    }
    Ok((uses, clusters.len()))
}

async fn delete_inactive(
    ecs: &impl Ecs,
    settings: &PruneSettings,
    out: &mut impl Write,
    days: u32,
    inactive: &[String],
    just_deregistered: &[&str],
    uses: &[Use],
) -> Result<()> {
    let family = settings.family.as_str();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64());
    let dated = dates(ecs, settings, now, inactive, just_deregistered, uses).await?;
    let plan = revisions::plan_inactive(
        family,
        &dated,
        now,
        f64::from(days) * SECONDS_PER_DAY,
        &settings.keep_revisions,
        uses,
    );
    for decision in plan.iter().filter(|decision| !decision.goes()) {
        line(
            out,
            format_args!(
                "{:<16}  {family}:{}  INACTIVE, {}",
                "keep",
                decision.revision,
                decision.kept_because.join("; ")
            ),
        )?;
    }
    let going: Vec<&Decision> = plan
        .iter()
        .rev()
        .filter(|decision| decision.goes())
        .collect();
    let mut refused = Vec::new();
    let mut deleted = 0;
    for batch in going.chunks(DELETE_BATCH) {
        if settings.dry_run {
            for decision in batch {
                line(
                    out,
                    format_args!("{:<16}  {family}:{}", "would delete", decision.revision),
                )?;
            }
            continue;
        }
        let arns: Vec<String> = batch.iter().map(|decision| decision.arn.clone()).collect();
        let answer = ecs.delete_task_definitions(&arns).await.with_context(|| {
            format!(
                "{deleted} of {} INACTIVE revisions were deleted before this failure; a rerun continues from here",
                going.len()
            )
        })?;
        for arn in &answer.deleted {
            let revision = revisions::revision_of(arn, family).unwrap_or_default();
            line(out, format_args!("{:<16}  {family}:{revision}", "deleted"))?;
            deleted += 1;
        }
        refused.extend(answer.failures);
    }
    let verb = if settings.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    diagnostics::note(&format!(
        "`{family}`: {} INACTIVE revisions; {verb} {} deregistered at least {days} days ago",
        plan.len(),
        if settings.dry_run {
            going.len()
        } else {
            deleted
        }
    ));
    if refused.is_empty() {
        return Ok(());
    }
    for (arn, reason) in &refused {
        diagnostics::warn(&format!("ECS did not delete `{arn}`: {reason}"));
    }
    Err(Hinted::new(
        format!(
            "ECS refused to delete {} of the revisions asked",
            refused.len()
        ),
        "each is named above with ECS's reason; a rerun tries them again",
    )
    .into())
}

/// When each INACTIVE revision of the family was deregistered, read only for those that could go
/// (one DescribeTaskDefinition each).
async fn dates(
    ecs: &impl Ecs,
    settings: &PruneSettings,
    now: f64,
    inactive: &[String],
    just_deregistered: &[&str],
    uses: &[Use],
) -> Result<Vec<Inactive>> {
    let family = settings.family.as_str();
    let mut dated = Vec::with_capacity(inactive.len());
    for arn in inactive {
        let Some(revision) = revisions::revision_of(arn, family) else {
            continue;
        };
        let stays = settings.keep_revisions.contains(&revision)
            || uses.iter().any(|found| {
                revisions::revision_of(&found.task_definition, family) == Some(revision)
            });
        let (deregistered_at, registered_at) =
            if stays || settings.delete_inactive_after_days == Some(0) {
                // It stays, or goes, whatever its age: its dates need not be read.
                (Some(0.0), None)
            } else if just_deregistered.contains(&arn.as_str()) {
                (Some(now), None)
            } else {
                let described = ecs.describe_task_definition(arn).await?;
                let document = &described["taskDefinition"];
                (
                    epoch_seconds(&document["deregisteredAt"]),
                    epoch_seconds(&document["registeredAt"]),
                )
            };
        dated.push(Inactive {
            arn: arn.clone(),
            deregistered_at,
            registered_at,
        });
    }
    Ok(dated)
}

fn print_kept(out: &mut impl Write, family: &str, decision: &Decision) -> Result<()> {
    line(
        out,
        format_args!(
            "{:<16}  {family}:{}  {}",
            "keep",
            decision.revision,
            decision.kept_because.join("; ")
        ),
    )
}

fn line(out: &mut impl Write, text: std::fmt::Arguments<'_>) -> Result<()> {
    writeln!(out, "{text}").context("cannot write to standard output")
}

/// ECS's dates are seconds since the epoch, as a number (the SDK's JSON protocol).
fn epoch_seconds(value: &Value) -> Option<f64> {
    value.as_f64()
}
