//! `bgtool rollback`: stop a service's deployment in progress with rollback and wait until the
//! service runs its previous revision again (StopServiceDeployment for ECS, StopDeployment with
//! automatic rollback for CodeDeploy).

use anyhow::Result;

use crate::aws::{self, Ecs};
use crate::config::deploy::WaitSettings;
use crate::deployment::ecs::{primary_task_definition, running_deployment};
use crate::deployment::follow::{
    Controller, Signals, code_deploy_in_progress, controller, roll_back, roll_back_code_deploy,
};
use crate::error::Hinted;

const NOTHING_HINT: &str =
    "to go back to an earlier revision, deploy it: `bgtool deploy --taskdef FILE`";

/// Rolls back the service's deployment in progress and waits until the service is back.
///
/// # Errors
/// Nothing in progress to roll back, an AWS error, or a rollback that does not settle in time.
pub fn run(settings: &WaitSettings) -> Result<()> {
    aws::with_ecs_unbounded(&settings.watch.aws, async |ecs, codedeploy| {
        let target = (settings.cluster.as_str(), settings.service.as_str());
        let service = ecs.describe_service(target.0, target.1).await?;
        let mut signals = Signals::install()?;
        if controller(&service, target.1)? == Controller::CodeDeploy {
            let (group, id) = code_deploy_in_progress(
                codedeploy,
                &settings.watch,
                target,
                settings.deployment.as_deref(),
            )
            .await?;
            let Some(id) = id else {
                return Err(Hinted::new(
                    format!(
                        "nothing to roll back: no CodeDeploy deployment of `{}`/`{}` is in progress",
                        group.application_name, group.deployment_group_name
                    ),
                    NOTHING_HINT,
                )
                .into());
            };
            return roll_back_code_deploy(codedeploy, &id, &settings.watch, &mut signals).await;
        }
        let Some(running) = running_deployment(&service) else {
            return Err(Hinted::new(
                format!(
                    "nothing to roll back: no deployment of `{}` is in progress (it runs `{}`)",
                    target.1,
                    primary_task_definition(&service).unwrap_or("no task definition")
                ),
                NOTHING_HINT,
            )
            .into());
        };
        // The revision being replaced: the newest deployment that is not the running one.
        let previous = service
            .deployments
            .iter()
            .find(|deployment| deployment.id != running.id)
            .and_then(|deployment| deployment.task_definition.clone());
        roll_back(
            ecs,
            target,
            previous.as_deref(),
            &settings.watch,
            &mut signals,
        )
        .await
    })
}
