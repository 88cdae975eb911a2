//! `bgtool wait`: follow a deployment of an ECS service, started elsewhere, to its end.

use anyhow::Result;

use crate::aws::{self, Ecs};
use crate::config::deploy::WaitSettings;
use crate::deploy::{Watch, primary_task_definition, running_deployment, wait_bound};
use crate::diagnostics::note;
use crate::error::{Hinted, Interrupted};
use crate::watching::{Ended, Signals, failure, minutes, refuse_other_controllers, watch_until};

/// Follows the service's deployment in progress (or `--deployment`) to its end.
///
/// # Errors
/// An ECS error, a deployment that fails, or a wait that runs out or is interrupted.
pub fn run(settings: &WaitSettings) -> Result<()> {
    aws::with_ecs_unbounded(&settings.watch.aws, async |ecs| {
        let service = ecs
            .describe_service(&settings.cluster, &settings.service)
            .await?;
        refuse_other_controllers(&service, &settings.service)?;
        let id = match (&settings.deployment, running_deployment(&service)) {
            (Some(id), _) => id.clone(),
            (None, Some(running)) => running.id.clone(),
            (None, None) => {
                note(&format!(
                    "no deployment of `{}` is in progress; it runs `{}`",
                    settings.service,
                    primary_task_definition(&service).unwrap_or("no task definition")
                ));
                return Ok(());
            }
        };
        let bound = settings
            .watch
            .timeout
            .unwrap_or_else(|| wait_bound(&service));
        let mut signals = Signals::install()?;
        let mut watch = Watch::new(&id, &service);
        let ended = watch_until(
            ecs,
            (&settings.cluster, &settings.service),
            &mut watch,
            bound,
            &settings.watch,
            &mut signals,
        )
        .await?;
        match ended {
            Ended::Completed => {
                note(&format!("deployment `{id}` completed"));
                Ok(())
            }
            Ended::Failed { reason } => Err(failure(ecs, &settings.cluster, &id, &reason).await),
            Ended::Interrupted { signal } => Err(Interrupted {
                message: format!(
                    "{signal}: stopped watching; deployment `{id}` goes on (`bgtool rollback` stops it)"
                ),
            }
            .into()),
            Ended::TimedOut => Err(Hinted::new(
                format!(
                    "deployment `{id}` did not end within {}; it goes on",
                    minutes(bound)
                ),
                "wait longer with `--timeout SECONDS`, or stop it with `bgtool rollback`",
            )
            .into()),
        }
    })
}
