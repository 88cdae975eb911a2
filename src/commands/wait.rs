//! `bgtool wait`: follow a deployment of a service, started elsewhere, to its end: an ECS
//! deployment, or a CodeDeploy one for CODE_DEPLOY services.

use anyhow::Result;

use crate::aws::{self, CodeDeploy, Ecs};
use crate::config::deploy::WaitSettings;
use crate::deployment::codedeploy;
use crate::deployment::ecs::{Watch, primary_task_definition, running_deployment, wait_bound};
use crate::deployment::follow::{
    Controller, Ended, Signals, code_deploy_in_progress, controller, failure, minutes,
    watch_code_deploy_until, watch_until,
};
use crate::diagnostics::note;
use crate::error::{Hinted, Interrupted};

/// Waits for the service's deployment in progress (or `--deployment`) to end.
///
/// # Errors
/// An AWS error, a deployment that fails, or a wait that runs out or is interrupted.
pub fn run(settings: &WaitSettings) -> Result<()> {
    aws::with_ecs_unbounded(&settings.watch.aws, async |ecs, codedeploy| {
        let target = (settings.cluster.as_str(), settings.service.as_str());
        let service = ecs.describe_service(target.0, target.1).await?;
        let mut signals = Signals::install()?;
        let (id, ended, bound) = match controller(&service, target.1)? {
            Controller::Ecs => {
                let id = match (&settings.deployment, running_deployment(&service)) {
                    (Some(id), _) => id.clone(),
                    (None, Some(running)) => running.id.clone(),
                    (None, None) => {
                        note(&format!(
                            "no deployment of `{}` is in progress; it runs `{}`",
                            target.1,
                            primary_task_definition(&service).unwrap_or("no task definition")
                        ));
                        return Ok(());
                    }
                };
                let bound = settings
                    .watch
                    .timeout
                    .unwrap_or_else(|| wait_bound(&service));
                let mut watch = Watch::new(&id, &service);
                let ended = watch_until(
                    ecs,
                    target,
                    &mut watch,
                    bound,
                    &settings.watch,
                    &mut signals,
                )
                .await?;
                (id, ended, bound)
            }
            Controller::CodeDeploy => {
                let (group, id) = code_deploy_in_progress(
                    codedeploy,
                    &settings.watch,
                    target,
                    settings.deployment.as_deref(),
                )
                .await?;
                let Some(id) = id else {
                    note(&format!(
                        "no CodeDeploy deployment of `{}`/`{}` is in progress",
                        group.application_name, group.deployment_group_name
                    ));
                    return Ok(());
                };
                let bound = match settings.watch.timeout {
                    Some(bound) => bound,
                    None => code_deploy_bound(codedeploy, &group).await?,
                };
                let ended = watch_code_deploy_until(
                    ecs,
                    target,
                    (codedeploy, &group),
                    &id,
                    bound,
                    &settings.watch,
                    &mut signals,
                )
                .await?;
                (id, ended, bound)
            }
        };
        match ended {
            Ended::Completed => {
                note(&format!("deployment `{id}` completed"));
                Ok(())
            }
            Ended::Failed { reason } | Ended::Rejected { reason } if id.starts_with("ecs-svc/") => {
                Err(failure(ecs, target.0, &id, &reason).await)
            }
            Ended::Failed { reason } | Ended::Rejected { reason } => Err(Hinted::new(
                format!("deployment `{id}` failed: {reason}"),
                "the lifecycle events above say where; `aws deploy get-deployment-target` has the details",
            )
            .into()),
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

/// The wait bound of a CodeDeploy deployment in `group`, with the group's configuration.
///
/// # Errors
/// A CodeDeploy error.
pub async fn code_deploy_bound(
    codedeploy: &impl CodeDeploy,
    group: &codedeploy::DeploymentGroup,
) -> Result<std::time::Duration> {
    let routing = match &group.deployment_config_name {
        Some(name) => codedeploy.traffic_routing(name).await?,
        None => None,
    };
    Ok(codedeploy::wait_bound(group, routing.as_ref()))
}
