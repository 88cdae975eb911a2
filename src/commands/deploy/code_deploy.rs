//! `bgtool deploy` for services with the CODE_DEPLOY controller: the AppSpec naming the new
//! revision, a CodeDeploy deployment of it, and the watch, with StopDeployment and automatic
//! rollback when time runs out or a signal arrives.

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use super::{register, report, run_first};
use crate::artifacts::appspec::TASK_DEFINITION_PLACEHOLDER;
use crate::artifacts::checks;
use crate::artifacts::taskdef::container_ports;
use crate::aws::{CodeDeploy, Ecs, Logs};
use crate::cli::Format;
use crate::commands::render_appspec::{generate, serialize};
use crate::commands::wait::code_deploy_bound;
use crate::config::GeneratedAppspec;
use crate::config::deploy::DeploySettings;
use crate::deployment::follow::{
    Ended, Signals, deployment_group, hook_failures, minutes, roll_back_code_deploy,
    time_left_to_deploy, watch_bound, watch_code_deploy_until, watching_for,
};
use crate::deployment::hook_log::{appspec_functions, code_deploy_match};
use crate::deployment::service::{ServiceDescription, current_task_definition};
use crate::deployment::unix_now;
use crate::diagnostics::{note, warn};
use crate::error::{Hinted, Interrupted};
use crate::files::read_input;

/// Registers the task definition and deploys it through the service's CodeDeploy group.
///
/// # Errors
/// As [`super::run`], with CodeDeploy's errors and an AppSpec that is not valid.
pub async fn deploy(
    ecs: &impl Ecs,
    codedeploy: &impl CodeDeploy,
    logs: &impl Logs,
    settings: &DeploySettings,
    document: Map<String, Value>,
    service: &ServiceDescription,
    signals: &mut Signals,
) -> Result<()> {
    let target = (settings.cluster.as_str(), settings.service.as_str());
    // The AppSpec first, with the placeholder: a bad one fails before anything is registered.
    let containers = container_ports(&document)?;
    let checked = appspec(settings, service, TASK_DEFINITION_PLACEHOLDER, &containers)?;
    let group = deployment_group(codedeploy, &settings.watch, target).await?;
    let (application, group_name) = (
        group.application_name.as_str(),
        group.deployment_group_name.as_str(),
    );
    refuse_a_gate_that_nothing_holds_for(settings, &group)?;
    wait_for_earlier(ecs, codedeploy, settings, &group, signals).await?;
    if settings.dry_run {
        let running = current_task_definition(service)?;
        report(ecs, Some(&running.arn), &document).await?;
        super::note_run_first(settings);
        note("dry run: nothing registered, nothing deployed; the AppSpec it would send:");
        print!("{checked}");
        return Ok(());
    }
    if settings.wait {
        time_left_to_deploy(&settings.watch)?;
    }
    let (arn, registered) = register(ecs, document).await?;
    run_first(ecs, logs, settings, service, &arn, &registered, signals).await?;
    let text = appspec(settings, service, &arn, &containers)?;
    // A hook's lines are looked for from a little before now: clocks differ.
    let since = unix_now().saturating_sub(120);
    let id = codedeploy
        .create_deployment(
            application,
            group_name,
            &text,
            settings.deployment_config.as_deref(),
        )
        .await?;
    println!("{arn}");
    note(&format!(
        "CodeDeploy deployment `{id}` of `{application}`/`{group_name}` started"
    ));
    if !settings.wait {
        note("not waiting (`--no-wait`)");
        return Ok(());
    }
    follow(
        ecs,
        codedeploy,
        settings,
        &group,
        (&id, &arn),
        (&text, since),
        signals,
    )
    .await
}

/// Watches CodeDeploy deployment `id` of `arn` (sent with the AppSpec `appspec` at `since`)
/// until it ends; on a failure, says what its hooks logged; on a signal, a gate or comparison
/// against it, or when time runs out, stops it with rollback.
async fn follow(
    ecs: &impl Ecs,
    codedeploy: &impl CodeDeploy,
    settings: &DeploySettings,
    group: &crate::deployment::codedeploy::DeploymentGroup,
    (id, arn): (&str, &str),
    (appspec, since): (&str, u64),
    signals: &mut Signals,
) -> Result<()> {
    let target = (settings.cluster.as_str(), settings.service.as_str());
    let full = full_bound(codedeploy, settings, group).await?;
    let bound = watch_bound(&settings.watch, full);
    note(&format!(
        "watching deployment `{id}` for up to {}, every {} s",
        watching_for(full, bound),
        settings.watch.poll_interval.as_secs_f64()
    ));
    let ended = watch_code_deploy_until(
        ecs,
        target,
        (codedeploy, group),
        id,
        bound,
        &settings.watch,
        signals,
    )
    .await?;
    // Each way bgtool ends it is said, then rolled back, then the error returned.
    let (warning, error): (String, anyhow::Error) = match ended {
        Ended::Completed => {
            note(&format!("deployment `{id}` succeeded: `{}` runs `{arn}`", target.1));
            return Ok(());
        }
        Ended::Failed { reason } => {
            let subject = code_deploy_match(id);
            hook_failures(ecs, &appspec_functions(appspec), since, &subject).await;
            return Err(Hinted::new(
                format!("deployment `{id}` failed: {reason}"),
                "the lifecycle events above say where; CodeDeploy rolls back by itself when the group's automatic rollback is on",
            )
            .into());
        }
        Ended::Rejected { reason } => (
            format!("{reason}: rolling back deployment `{id}`"),
            Hinted::new(
                format!("deployment `{id}` was rolled back: {reason}"),
                "the lines above say why (the gate's output, or `--compare`'s numbers); production is on the original task set",
            )
            .into(),
        ),
        Ended::Interrupted { signal } => (
            format!("{signal}: rolling back deployment `{id}`"),
            Interrupted {
                message: format!("{signal}: deployment `{id}` was rolled back"),
            }
            .into(),
        ),
        Ended::TimedOut => (
            format!("deployment `{id}` did not end within {}: rolling it back", minutes(bound)),
            Hinted::new(
                format!(
                    "deployment `{id}` did not end within {} and was rolled back",
                    minutes(bound)
                ),
                "the lifecycle events above say where it stood; give more time with `--timeout SECONDS`",
            )
            .into(),
        ),
    };
    warn(&warning);
    roll_back_code_deploy(codedeploy, id, &settings.watch, signals).await?;
    Err(error)
}

/// With a CodeDeploy deployment of the group in progress: an error naming it, or with
/// `--wait-for-running`, a wait until it has ended.
async fn wait_for_earlier(
    ecs: &impl Ecs,
    codedeploy: &impl CodeDeploy,
    settings: &DeploySettings,
    group: &crate::deployment::codedeploy::DeploymentGroup,
    signals: &mut Signals,
) -> Result<()> {
    let running = codedeploy
        .running_deployments(&group.application_name, &group.deployment_group_name)
        .await?;
    let Some(id) = running.first() else {
        return Ok(());
    };
    let description = format!(
        "CodeDeploy deployment `{id}` of `{}`/`{}` is in progress",
        group.application_name, group.deployment_group_name
    );
    if !settings.wait_for_running {
        return Err(Hinted::new(
            format!("{description}: CodeDeploy allows one at a time"),
            "wait for it to end (`bgtool wait`), or pass `--wait-for-running`",
        )
        .into());
    }
    note(&format!("{description}: waiting for it to end first"));
    let bound = watch_bound(
        &settings.watch,
        match settings.watch.timeout {
            Some(bound) => bound,
            None => code_deploy_bound(codedeploy, group).await?,
        },
    );
    let target = (settings.cluster.as_str(), settings.service.as_str());
    match watch_code_deploy_until(
        ecs,
        target,
        (codedeploy, group),
        id,
        bound,
        &settings.watch.for_an_earlier_deployment(),
        signals,
    )
    .await?
    {
        Ended::Completed => note("the earlier deployment succeeded"),
        Ended::Failed { reason } | Ended::Rejected { reason } => {
            note(&format!("the earlier deployment ended: {reason}"));
        }
        Ended::Interrupted { signal } => {
            return Err(Interrupted {
                message: format!("{signal}: stopped before deploying anything"),
            }
            .into());
        }
        Ended::TimedOut => {
            anyhow::bail!(
                "the earlier deployment did not end within {}; nothing deployed",
                minutes(bound)
            )
        }
    }
    Ok(())
}

/// How long this deployment may take: `--timeout`, or what its group and configuration add up to.
async fn full_bound(
    codedeploy: &impl CodeDeploy,
    settings: &DeploySettings,
    group: &crate::deployment::codedeploy::DeploymentGroup,
) -> Result<std::time::Duration> {
    if let Some(bound) = settings.watch.timeout {
        return Ok(bound);
    }
    let mut group = group.clone();
    if let Some(config) = &settings.deployment_config {
        group.deployment_config_name = Some(config.clone());
    }
    code_deploy_bound(codedeploy, &group).await
}

/// `--gate` runs while CodeDeploy holds the deployment in Ready: a group that moves traffic
/// without waiting would never give it the chance. Refused before anything is registered.
fn refuse_a_gate_that_nothing_holds_for(
    settings: &DeploySettings,
    group: &crate::deployment::codedeploy::DeploymentGroup,
) -> Result<()> {
    if settings.watch.gate.is_some() && crate::deployment::codedeploy::ready_wait(group).is_none() {
        return Err(Hinted::new(
            format!(
                "`--gate` needs the deployment to hold, and deployment group `{}`/`{}` moves traffic without waiting",
                group.application_name, group.deployment_group_name
            ),
            "set its deployment_ready_option to STOP_DEPLOYMENT with a wait time (the stack's `ready_wait_minutes`); nothing was registered",
        )
        .into());
    }
    Ok(())
}

/// The AppSpec to send, naming `task_definition`: `--appspec` with its TaskDefinition set, or
/// one generated from the service. Checked against the task definition's containers.
fn appspec(
    settings: &DeploySettings,
    service: &ServiceDescription,
    task_definition: &str,
    containers: &[(String, Vec<u64>)],
) -> Result<String> {
    let (text, origin) = if let Some(input) = &settings.appspec {
        let origin = input.describe();
        let text = String::from_utf8(read_input(input)?)
            .map_err(|_| anyhow::anyhow!("{origin} is not UTF-8 text"))?;
        let mut document = checks::parse_yaml(&text, &origin)?;
        let properties = document
            .get_mut("Resources")
            .and_then(|resources| resources.get_mut(0))
            .and_then(|resource| resource.get_mut("TargetService"))
            .and_then(|target| target.get_mut("Properties"))
            .and_then(serde_norway::Value::as_mapping_mut)
            .ok_or_else(|| {
                Hinted::new(
                    format!("{origin} has no `Resources[0].TargetService.Properties`"),
                    "an ECS AppSpec names its service under Resources; see `bgtool render-appspec --help`",
                )
            })?;
        properties.insert(
            "TaskDefinition".into(),
            serde_norway::Value::String(task_definition.to_owned()),
        );
        let text = serde_norway::to_string(&document)
            .with_context(|| format!("cannot render {origin} as YAML"))?;
        (text, origin)
    } else {
        let flags = GeneratedAppspec {
            container_name: None,
            container_port: None,
            task_definition: task_definition.to_owned(),
            platform_version: None,
            subnets: None,
            security_groups: None,
            assign_public_ip: None,
            capacity_providers: Vec::new(),
            hooks: settings.hooks.clone(),
        };
        let spec = generate(&flags, Some(&service.effective_placement()))
            .context("generating the AppSpec from the service")?;
        (
            serialize(&spec, Format::Yaml)?,
            "the AppSpec generated from the service".to_owned(),
        )
    };
    checks::appspec(&text, &origin, Some(containers))?;
    Ok(text)
}
