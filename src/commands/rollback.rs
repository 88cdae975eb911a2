//! `bgtool rollback`: stop an ECS service's deployment in progress with ROLLBACK and wait until
//! the service runs its previous revision again.

use anyhow::Result;

use crate::aws::{self, Ecs};
use crate::config::deploy::WaitSettings;
use crate::deploy::{primary_task_definition, running_deployment};
use crate::error::Hinted;
use crate::watching::{Signals, refuse_other_controllers, roll_back};

/// Rolls back the service's deployment in progress and waits until the service is back.
///
/// # Errors
/// Nothing in progress to roll back, an ECS error, or a rollback that does not settle in time.
pub fn run(settings: &WaitSettings) -> Result<()> {
    aws::with_ecs_unbounded(&settings.watch.aws, async |ecs| {
        let service = ecs
            .describe_service(&settings.cluster, &settings.service)
            .await?;
        refuse_other_controllers(&service, &settings.service)?;
        let Some(running) = running_deployment(&service) else {
            return Err(Hinted::new(
                format!(
                    "nothing to roll back: no deployment of `{}` is in progress (it runs `{}`)",
                    settings.service,
                    primary_task_definition(&service).unwrap_or("no task definition")
                ),
                "to go back to an earlier revision, deploy it: `bgtool deploy --taskdef FILE`",
            )
            .into());
        };
        // The revision being replaced: the newest deployment that is not the running one.
        let previous = service
            .deployments
            .iter()
            .find(|deployment| deployment.id != running.id)
            .and_then(|deployment| deployment.task_definition.clone());
        let mut signals = Signals::install()?;
        roll_back(
            ecs,
            (&settings.cluster, &settings.service),
            previous.as_deref(),
            &settings.watch,
            &mut signals,
        )
        .await
    })
}
