//! `bgtool deploy`: register a task definition, roll an ECS service to it, and watch the
//! deployment to its end, rolling back when time runs out or a signal arrives. Services with the
//! ECS controller are updated here; CODE_DEPLOY ones go through [`code_deploy`].

mod code_deploy;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

use crate::artifacts::report::compare;
use crate::artifacts::taskdef::{apply_images, registerable};
use crate::aws::{self, CodeDeploy, Ecs, Inspect, Logs};
use crate::commands::run::{OneOff, run_to_the_end};
use crate::commands::verify;
use crate::config::deploy::DeploySettings;
use crate::deployment::ecs::{Watch, primary_task_definition, running_deployment, wait_bound};
use crate::deployment::follow::{
    Controller, Ended, Signals, controller, failure, hook_failures, minutes, roll_back,
    time_left_to_deploy, watch_bound, watch_until, watching_for,
};
use crate::deployment::hook_log::{ecs_functions, ecs_match};
use crate::deployment::service::ServiceDescription;
use crate::deployment::unix_now;
use crate::diagnostics::{self, note, warn};
use crate::error::{Hinted, Interrupted};
use crate::files::{json_text, parse_json, read_input};
use crate::verify::Severity;

/// Registers the task definition, updates the service to it and follows the deployment.
///
/// # Errors
/// Bad input (before any AWS call), an ECS error, another deployment in progress, a deployment
/// that fails, or one stopped by the clock or a signal (then rolled back).
pub fn run(settings: &DeploySettings) -> Result<()> {
    // Everything local first: a bad file or flag fails before anything is registered.
    let origin = settings.taskdef.describe();
    let described = parse_json(&read_input(&settings.taskdef)?, &settings.taskdef)?;
    let mut document = registerable(described).with_context(|| origin.clone())?;
    for image in
        apply_images(&mut document, &settings.image_edits).with_context(|| origin.clone())?
    {
        note(&format!(
            "container `{}` image set to `{}`",
            image.container, image.image
        ));
    }
    refuse_placeholders(&document).with_context(|| origin.clone())?;
    aws::with_deploy_clients(
        &settings.watch.aws,
        async |ecs, codedeploy, logs, inspect| {
            deploy(ecs, codedeploy, logs, inspect, settings, document).await
        },
    )
}

async fn deploy(
    ecs: &impl Ecs,
    codedeploy: &impl CodeDeploy,
    logs: &impl Logs,
    inspect: &impl Inspect,
    settings: &DeploySettings,
    document: Map<String, Value>,
) -> Result<()> {
    let target = (settings.cluster.as_str(), settings.service.as_str());
    let signals = Signals::install()?;
    let service = ecs.describe_service(target.0, target.1).await?;
    if settings.verify {
        verify_first(inspect, &Value::Object(document.clone()), &service).await?;
    }
    deploy_verified(ecs, codedeploy, logs, settings, document, service, signals).await
}

/// `verify`'s checks on the task definition about to be registered: errors and warnings on
/// standard error, and no registration when any is an error.
async fn verify_first(
    inspect: &impl Inspect,
    document: &Value,
    service: &ServiceDescription,
) -> Result<()> {
    let findings = verify::findings(inspect, document, Some(service), false).await;
    for finding in &findings {
        if finding.severity != Severity::Note {
            diagnostics::finding(&finding.line());
        }
    }
    let errors = verify::count(&findings, Severity::Error);
    if errors > 0 {
        return Err(Hinted::new(
            format!(
                "the task definition failed {errors} of verify's checks (above); nothing was registered"
            ),
            "fix them, or pass `--no-verify` to deploy anyway",
        )
        .into());
    }
    note(&format!("verify: {}", verify::summary(&findings)));
    Ok(())
}

async fn deploy_verified(
    ecs: &impl Ecs,
    codedeploy: &impl CodeDeploy,
    logs: &impl Logs,
    settings: &DeploySettings,
    document: Map<String, Value>,
    service: ServiceDescription,
    mut signals: Signals,
) -> Result<()> {
    let target = (settings.cluster.as_str(), settings.service.as_str());
    if controller(&service, target.1)? == Controller::CodeDeploy {
        return code_deploy::deploy(
            ecs,
            codedeploy,
            logs,
            settings,
            document,
            &service,
            &mut signals,
        )
        .await;
    }
    refuse_code_deploy_flags(settings)?;
    if settings.watch.gate.is_some() && !has_pause_hook(&service) {
        return Err(Hinted::new(
            format!(
                "`--gate` needs the deployment to hold, and service `{}` has no PAUSE lifecycle hook",
                target.1
            ),
            "add a lifecycle hook with target type PAUSE at POST_TEST_TRAFFIC_SHIFT to the service's deployment configuration; nothing was registered",
        )
        .into());
    }
    let service = wait_for_earlier(ecs, settings, service, &mut signals).await?;
    let previous = primary_task_definition(&service).map(ToOwned::to_owned);
    if settings.dry_run {
        report(ecs, previous.as_deref(), &document).await?;
        note_run_first(settings);
        note("dry run: nothing registered, nothing deployed");
        print!("{}", json_text(&Value::Object(document)));
        return Ok(());
    }
    if settings.wait {
        time_left_to_deploy(&settings.watch)?;
    }
    let (arn, registered) = register(ecs, document).await?;
    run_first(
        ecs,
        logs,
        settings,
        &service,
        &arn,
        &registered,
        &mut signals,
    )
    .await?;
    let updated = ecs.update_service(target.0, target.1, &arn).await?;
    // Data for scripts: the revision now deploying.
    println!("{arn}");
    let deployment = updated
        .deployments
        .iter()
        .find(|deployment| {
            deployment.status == "PRIMARY" && deployment.task_definition.as_deref() == Some(&arn)
        })
        .map(|deployment| deployment.id.clone());
    if !settings.wait {
        note(&format!(
            "deployment {} of `{}` started; not waiting (`--no-wait`)",
            deployment.map_or_else(String::new, |id| format!("`{id}`")),
            target.1
        ));
        return Ok(());
    }
    let Some(id) = deployment else {
        return Err(Hinted::new(
            format!(
                "ECS reports no PRIMARY deployment of `{arn}` after updating `{}`",
                target.1
            ),
            format!(
                "see `aws ecs describe-services --cluster {} --services {}`",
                target.0, target.1
            ),
        )
        .into());
    };
    follow_new_deployment(
        ecs,
        settings,
        &service,
        (&id, &arn),
        previous.as_deref(),
        &mut signals,
    )
    .await
}

/// Watches the deployment `bgtool deploy` started until it ends; on a signal or when time runs
/// out, rolls it back to `previous`.
async fn follow_new_deployment(
    ecs: &impl Ecs,
    settings: &DeploySettings,
    service: &ServiceDescription,
    (id, arn): (&str, &str),
    previous: Option<&str>,
    signals: &mut Signals,
) -> Result<()> {
    let target = (settings.cluster.as_str(), settings.service.as_str());
    let full = settings
        .watch
        .timeout
        .unwrap_or_else(|| wait_bound(service));
    let bound = watch_bound(&settings.watch, full);
    note(&format!(
        "watching deployment `{id}` for up to {}, every {} s",
        watching_for(full, bound),
        settings.watch.poll_interval.as_secs_f64()
    ));
    // A hook's lines are looked for from a little before now: clocks differ.
    let since = unix_now().saturating_sub(120);
    let mut watch = Watch::new(id, service);
    match watch_until(ecs, target, &mut watch, bound, &settings.watch, signals).await? {
        Ended::Completed => {
            note(&format!(
                "deployment `{id}` completed: `{}` runs `{arn}`",
                target.1
            ));
            Ok(())
        }
        Ended::Failed { reason } => {
            let functions = ecs_functions(service.deployment_configuration.as_ref());
            let subject = ecs_match(target.0, target.1);
            hook_failures(ecs, &functions, since, &subject).await;
            Err(failure(ecs, target.0, id, &reason).await)
        }
        Ended::Rejected { reason } => {
            warn(&format!("{reason}: rolling back deployment `{id}`"));
            roll_back(ecs, target, previous, &settings.watch, signals).await?;
            Err(Hinted::new(
                format!("deployment `{id}` was rolled back: {reason}"),
                "the lines above say why (the gate's output, or `--compare`'s numbers); production is on the previous revision",
            )
            .into())
        }
        Ended::Interrupted { signal } => {
            warn(&format!("{signal}: rolling back deployment `{id}`"));
            roll_back(ecs, target, previous, &settings.watch, signals).await?;
            Err(Interrupted {
                message: format!("{signal}: deployment `{id}` was rolled back"),
            }
            .into())
        }
        Ended::TimedOut => {
            warn(&format!(
                "deployment `{id}` did not complete within {}: rolling it back",
                minutes(bound)
            ));
            roll_back(ecs, target, previous, &settings.watch, signals).await?;
            Err(Hinted::new(
                format!(
                    "deployment `{id}` did not complete within {} and was rolled back",
                    minutes(bound)
                ),
                "the events above say where it stood; give more time with `--timeout SECONDS` (and `--deadline`)",
            )
            .into())
        }
    }
}

/// With a deployment already in progress: an error naming it, or with `--wait-for-running`, the
/// service as it is once that deployment has ended.
async fn wait_for_earlier(
    ecs: &impl Ecs,
    settings: &DeploySettings,
    service: ServiceDescription,
    signals: &mut Signals,
) -> Result<ServiceDescription> {
    let target = (settings.cluster.as_str(), settings.service.as_str());
    let Some(running) = running_deployment(&service) else {
        return Ok(service);
    };
    let description = format!(
        "deployment `{}` of `{}` ({}) is {}",
        running.id,
        running
            .task_definition
            .as_deref()
            .unwrap_or("an unknown task definition"),
        target.1,
        running.rollout_state.as_deref().unwrap_or("in progress"),
    );
    if !settings.wait_for_running {
        return Err(Hinted::new(
            format!("{description}: a second deployment would replace it halfway"),
            "wait for it to end (`bgtool wait`), or pass `--wait-for-running`",
        )
        .into());
    }
    note(&format!("{description}: waiting for it to end first"));
    let mut watch = Watch::new(&running.id.clone(), &service);
    let full = settings
        .watch
        .timeout
        .unwrap_or_else(|| wait_bound(&service));
    let bound = watch_bound(&settings.watch, full);
    let earlier = settings.watch.for_an_earlier_deployment();
    match watch_until(ecs, target, &mut watch, bound, &earlier, signals).await? {
        Ended::Completed => note("the earlier deployment completed"),
        Ended::Failed { reason } | Ended::Rejected { reason } => {
            note(&format!("the earlier deployment failed: {reason}"));
        }
        Ended::Interrupted { signal } => {
            return Err(Interrupted {
                message: format!("{signal}: stopped before deploying anything"),
            }
            .into());
        }
        Ended::TimedOut => bail!(
            "the earlier deployment did not end within {}; nothing deployed",
            minutes(bound)
        ),
    }
    ecs.describe_service(target.0, target.1).await
}

/// Registers the task definition; returns its ARN.
/// Flags for CodeDeploy's AppSpec would be silently dropped for an ECS-controller service:
/// refused before anything is registered instead.
fn refuse_code_deploy_flags(settings: &DeploySettings) -> Result<()> {
    let code_deploy_flags = [
        ("--appspec", settings.appspec.is_some()),
        ("--hook", !settings.hooks.is_empty()),
        ("--deployment-config", settings.deployment_config.is_some()),
    ];
    if let Some((flag, _)) = code_deploy_flags.iter().find(|(_, given)| *given) {
        return Err(Hinted::new(
            format!(
                "`{flag}` applies to CODE_DEPLOY services; service `{}` has the ECS deployment controller",
                settings.service
            ),
            "an ECS service's hooks are its lifecycle hooks (the stack's `lifecycle_hooks`), its strategy is in the service's deployment configuration",
        )
        .into());
    }
    Ok(())
}

/// Registers the revision: its ARN, and the task definition as ECS holds it.
async fn register(ecs: &impl Ecs, document: Map<String, Value>) -> Result<(String, Value)> {
    let registered = ecs
        .register_task_definition(&Value::Object(document))
        .await?;
    let arn = registered
        .get("taskDefinitionArn")
        .and_then(Value::as_str)
        .context("RegisterTaskDefinition returned no `taskDefinitionArn`")?
        .to_owned();
    note(&format!("registered `{arn}`"));
    Ok((arn, registered))
}

/// `--run-first`: the command in a task of the revision just registered, beside the service.
/// Nothing is deployed unless it exits 0.
async fn run_first(
    ecs: &impl Ecs,
    logs: &impl Logs,
    settings: &DeploySettings,
    service: &ServiceDescription,
    arn: &str,
    registered: &Value,
    signals: &mut Signals,
) -> Result<()> {
    let Some(first) = &settings.run_first else {
        return Ok(());
    };
    let task = OneOff {
        cluster: &settings.cluster,
        service,
        arn,
        task_definition: registered,
        container: Some(&first.container),
        command: &first.command,
        timeout: first.timeout,
        timeout_flag: "--run-first-timeout",
        poll_interval: settings.watch.poll_interval,
    };
    match run_to_the_end(ecs, logs, signals, &task).await {
        Ok(()) => Ok(()),
        // A signal keeps its own exit status (130): the task was stopped, nothing deployed.
        Err(error) if error.downcast_ref::<Interrupted>().is_some() => Err(error),
        // `deploy` exits 1, not with the command's status: its exit statuses are its own.
        Err(error) => Err(Hinted::new(
            format!("`--run-first` did not succeed, so nothing was deployed: {error:#}"),
            format!("`{arn}` is registered, not deployed; fix the cause and deploy again"),
        )
        .into()),
    }
}

/// In a dry run: what `--run-first` would do.
fn note_run_first(settings: &DeploySettings) {
    if let Some(first) = &settings.run_first {
        note(&format!(
            "dry run: `--run-first` would run `{}` in container `{}` of the new revision first",
            crate::one_off::shown(&first.command),
            first.container
        ));
    }
}

/// Prints the change report: what production (`running`) would gain and lose.
async fn report(
    ecs: &impl Ecs,
    running: Option<&str>,
    document: &Map<String, Value>,
) -> Result<()> {
    match running {
        Some(arn) => {
            let live = registerable(ecs.describe_task_definition(arn).await?)
                .with_context(|| format!("task definition `{arn}` from ECS"))?;
            for line in compare(arn, &live, document).lines() {
                diagnostics::report_line(&line);
            }
        }
        None => note("the service runs no task definition to compare with"),
    }
    Ok(())
}

/// An `<IMAGEn_NAME>` placeholder that reached `deploy` was meant for CodeDeployToECS to fill;
/// ECS would try to pull it.
fn refuse_placeholders(document: &Map<String, Value>) -> Result<()> {
    let containers = document
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for container in containers {
        let image = container
            .get("image")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if image.starts_with("<IMAGE") && image.ends_with("_NAME>") {
            let name = container.get("name").and_then(Value::as_str).unwrap_or("?");
            return Err(Hinted::new(
                format!("container `{name}` has the placeholder `{image}` as its image"),
                format!("give its image: `--image {name}=URI`"),
            )
            .into());
        }
    }
    Ok(())
}

/// Whether the service's deployments hold at a PAUSE lifecycle hook, where `--gate` runs.
fn has_pause_hook(service: &ServiceDescription) -> bool {
    service
        .deployment_configuration
        .as_ref()
        .and_then(|configuration| configuration.get("lifecycleHooks"))
        .and_then(Value::as_array)
        .is_some_and(|hooks| {
            hooks
                .iter()
                .any(|hook| hook.get("targetType").and_then(Value::as_str) == Some("PAUSE"))
        })
}
