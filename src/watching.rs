//! Following an ECS deployment to its end, for `deploy`, `wait` and `rollback`: one look at the
//! service per poll interval, signals caught, a bound kept, and a rollback that waits until the
//! service is back. The verdict on each look is the pure [`crate::deploy`]; this adds the calls.

use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::aws::Ecs;
use crate::config::deploy::WatchSettings;
use crate::deploy::{Outcome, Watch, explain_stopped, primary_task_definition, settled};
use crate::diagnostics::{note, progress, warn};
use crate::error::{Hinted, Interrupted};
use crate::service::ServiceDescription;

/// Looks at the service that fail in a row (after the SDK's own retries) before bgtool gives up
/// watching: a throttled or flaky minute must not abandon a deployment that is going well.
const FAILED_LOOKS_ALLOWED: u32 = 5;

/// How long a rollback may take to bring the service back.
const ROLLBACK_WAIT: Duration = Duration::from_mins(30);

/// How a watch ended.
pub enum Ended {
    Completed,
    Failed { reason: String },
    Interrupted { signal: &'static str },
    TimedOut,
}

/// One look at the service per poll interval until the deployment ends, the bound passes, or a
/// signal arrives.
///
/// # Errors
/// When the service cannot be read several looks in a row.
pub async fn watch_until(
    ecs: &impl Ecs,
    (cluster, service): (&str, &str),
    watch: &mut Watch,
    bound: Duration,
    settings: &WatchSettings,
    signals: &mut Signals,
) -> Result<Ended> {
    let follow = async {
        let mut failed_looks = 0;
        loop {
            match ecs.describe_service(cluster, service).await {
                Ok(description) => {
                    failed_looks = 0;
                    let (lines, outcome) = watch.observe(&description);
                    for line in lines {
                        progress(&line);
                    }
                    match outcome {
                        Outcome::Completed => return Ok(Ended::Completed),
                        Outcome::Failed { reason } => return Ok(Ended::Failed { reason }),
                        Outcome::InProgress => {}
                    }
                }
                Err(error) if failed_looks < FAILED_LOOKS_ALLOWED => {
                    failed_looks += 1;
                    warn(&format!(
                        "cannot read the service (look {failed_looks} of {FAILED_LOOKS_ALLOWED} to fail in a row): {error:#}"
                    ));
                }
                Err(error) => return Err(error),
            }
            tokio::time::sleep(settings.poll_interval).await;
        }
    };
    tokio::select! {
        ended = follow => ended,
        signal = signals.next() => Ok(Ended::Interrupted { signal }),
        () = tokio::time::sleep(bound) => Ok(Ended::TimedOut),
    }
}

/// Stops the deployment in progress with ROLLBACK (or, if ECS lists none, updates the service
/// back to `previous`), then waits until the service has settled on its previous revision.
///
/// # Errors
/// An ECS error, nothing to roll back to, a second signal, or a rollback that does not settle.
pub async fn roll_back(
    ecs: &impl Ecs,
    (cluster, service): (&str, &str),
    previous: Option<&str>,
    settings: &WatchSettings,
    signals: &mut Signals,
) -> Result<()> {
    let before = ecs.describe_service(cluster, service).await?;
    match ecs.roll_back_running_deployment(cluster, service).await? {
        Some(arn) => note(&format!(
            "rollback requested: `{arn}` stopped with ROLLBACK"
        )),
        None => match previous {
            Some(previous) => {
                note(&format!(
                    "no service deployment in progress to stop: updating `{service}` back to `{previous}`"
                ));
                ecs.update_service(cluster, service, previous).await?;
            }
            None => bail!("cannot roll back `{service}`: no earlier task definition is known"),
        },
    }
    let mut watch = Watch::primary(&before);
    let follow = async {
        loop {
            let description = ecs.describe_service(cluster, service).await?;
            for line in watch.observe(&description).0 {
                progress(&line);
            }
            if settled(&description, previous) {
                note(&format!(
                    "rolled back: `{service}` runs `{}`",
                    primary_task_definition(&description).unwrap_or("its previous revision")
                ));
                return Ok(());
            }
            tokio::time::sleep(settings.poll_interval).await;
        }
    };
    tokio::select! {
        result = follow => result,
        signal = signals.next() => Err(Interrupted {
            message: format!("{signal} again: stopped watching; the rollback goes on in ECS"),
        }
        .into()),
        () = tokio::time::sleep(ROLLBACK_WAIT) => Err(Hinted::new(
            format!("the rollback of `{service}` did not settle within {}", minutes(ROLLBACK_WAIT)),
            format!("see `aws ecs describe-services --cluster {cluster} --services {service}`"),
        )
        .into()),
    }
}

/// The error for a failed deployment, with the reasons of the tasks it stopped printed first.
pub async fn failure(ecs: &impl Ecs, cluster: &str, id: &str, reason: &str) -> anyhow::Error {
    match ecs.stopped_tasks(cluster, id).await {
        Ok(tasks) => {
            for task in &tasks {
                progress(&explain_stopped(task));
            }
        }
        Err(error) => warn(&format!("cannot list the stopped tasks: {error:#}")),
    }
    Hinted::new(
        format!("deployment `{id}` failed: {reason}"),
        "the stopped tasks above say why; their logs are in the task definition's log configuration",
    )
    .into()
}

/// `deploy`, `wait` and `rollback` drive services with the ECS deployment controller only.
///
/// # Errors
/// When the service has another deployment controller than ECS.
pub fn refuse_other_controllers(service: &ServiceDescription, name: &str) -> Result<()> {
    match service.controller() {
        "ECS" => Ok(()),
        "CODE_DEPLOY" => Err(Hinted::new(
            format!("service `{name}` is deployed by CodeDeploy (CODE_DEPLOY deployment controller)"),
            "bgtool deploy drives services with the ECS deployment controller; for CodeDeploy, use the pipeline `bgtool emit-hcl` writes",
        )
        .into()),
        other => Err(Hinted::new(
            format!("service `{name}` has the `{other}` deployment controller"),
            "bgtool deploy drives services with the ECS deployment controller",
        )
        .into()),
    }
}

/// `30 min`, or `0.5 s` for what is not whole minutes.
#[must_use]
pub fn minutes(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 60 && seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{} s", duration.as_secs_f64())
    }
}

/// SIGINT and SIGTERM, caught from the moment a deployment can start, so neither kills bgtool
/// halfway; each ends the watch instead.
pub struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Catches both signals from now on.
    ///
    /// # Errors
    /// When the signal handlers cannot be installed.
    pub fn install() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt()).context("cannot catch SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("cannot catch SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// The next signal caught: its name.
    pub async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
