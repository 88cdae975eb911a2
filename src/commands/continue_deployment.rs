//! `bgtool continue`: the go-ahead for a CodeDeploy deployment that holds, waiting for one
//! (ContinueDeployment with READY_WAIT), or the end of its original task set's termination wait
//! (TERMINATION_WAIT).

use anyhow::Result;

use crate::aws::{self, CodeDeploy, Ecs};
use crate::config::deploy::WaitSettings;
use crate::deployment::follow::{Controller, code_deploy_in_progress, controller};
use crate::diagnostics::note;
use crate::error::Hinted;

/// Continues the service's CodeDeploy deployment in progress (or `--deployment`).
///
/// # Errors
/// A service with the ECS controller, no deployment in progress, or CodeDeploy refusing (a
/// deployment that is not waiting, say).
pub fn run(settings: &WaitSettings, termination: bool) -> Result<()> {
    aws::with_ecs_unbounded(&settings.watch.aws, async |ecs, codedeploy| {
        let target = (settings.cluster.as_str(), settings.service.as_str());
        let service = ecs.describe_service(target.0, target.1).await?;
        if controller(&service, target.1)? == Controller::Ecs {
            return Err(Hinted::new(
                format!(
                    "service `{}` has the ECS deployment controller: there is no CodeDeploy go-ahead to give",
                    target.1
                ),
                "an ECS deployment holds only while a lifecycle hook answers IN_PROGRESS; the hook decides when it goes on",
            )
            .into());
        }
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
                    "nothing to continue: no CodeDeploy deployment of `{}`/`{}` is in progress",
                    group.application_name, group.deployment_group_name
                ),
                "`bgtool wait` follows a deployment; `bgtool deploy` starts one",
            )
            .into());
        };
        let (wait_type, what) = if termination {
            (
                "TERMINATION_WAIT",
                "the original task set is terminated now",
            )
        } else {
            ("READY_WAIT", "traffic moves to the replacement task set")
        };
        codedeploy.continue_deployment(&id, wait_type).await?;
        note(&format!(
            "continued deployment `{id}` ({wait_type}): {what}; `bgtool wait --cluster {} --service {}` follows it",
            target.0, target.1
        ));
        Ok(())
    })
}
