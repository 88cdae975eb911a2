//! `bgtool run`: a command in a one-off task beside a service, its log lines printed while it
//! runs, bgtool's exit status the container's exit code.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::artifacts::taskdef::{apply_images, registerable};
use crate::aws::{self, Ecs, Logs};
use crate::config::run::{Revision, RunSettings};
use crate::deployment::follow::Signals;
use crate::deployment::service::ServiceDescription;
use crate::diagnostics::{note, warn};
use crate::error::{CommandFailed, Hinted, Interrupted};
use crate::files::{parse_json, read_input};
use crate::one_off::{self, Ending, LogLocation, TaskState};

/// How long a stopped task's last log lines are waited for: CloudWatch Logs may show them a few
/// seconds after the task stopped.
const LATE_LINES: Duration = Duration::from_secs(15);
/// How long a task stopped by bgtool is waited for, to print its last lines and its exit.
const STOPPING: Duration = Duration::from_mins(2);

/// Registers (or takes) the revision, runs the command and follows it to its end.
///
/// # Errors
/// Bad input (before any call), an AWS error, a task that never ran the command, a non-zero exit
/// (as [`CommandFailed`]), the timeout, or a signal (as [`Interrupted`]).
pub fn run(settings: &RunSettings) -> Result<()> {
    // A bad file or flag fails before anything is registered or started.
    let source = match &settings.revision {
        Revision::File { input, image_edits } => {
            let origin = input.describe();
            let described = parse_json(&read_input(input)?, input)?;
            let mut document = registerable(described).with_context(|| origin.clone())?;
            apply_images(&mut document, image_edits).with_context(|| origin.clone())?;
            Source::Register(Value::Object(document))
        }
        Revision::Registered(reference) => Source::Describe(reference.clone()),
    };
    aws::with_ecs_and_logs(&settings.aws, async |ecs, logs| {
        one_off(ecs, logs, settings, source).await
    })
}

/// The revision to run, read and checked before any call.
enum Source {
    Register(Value),
    Describe(String),
}

async fn one_off(
    ecs: &impl Ecs,
    logs: &impl Logs,
    settings: &RunSettings,
    source: Source,
) -> Result<()> {
    let mut signals = Signals::install()?;
    let cluster = settings.cluster.as_str();
    let service = ecs.describe_service(cluster, &settings.service).await?;
    let (arn, task_definition) = match source {
        Source::Register(document) => {
            let registered = ecs.register_task_definition(&document).await?;
            let arn = registered["taskDefinitionArn"]
                .as_str()
                .context("RegisterTaskDefinition returned no `taskDefinitionArn`")?
                .to_owned();
            note(&format!("registered `{arn}`"));
            (arn, registered)
        }
        Source::Describe(reference) => {
            let mut described = ecs.describe_task_definition(&reference).await?;
            let task_definition = described["taskDefinition"].take();
            let arn = task_definition["taskDefinitionArn"]
                .as_str()
                .with_context(|| format!("task definition `{reference}` has no ARN"))?
                .to_owned();
            (arn, task_definition)
        }
    };
    let task = OneOff {
        cluster,
        service: &service,
        arn: &arn,
        task_definition: &task_definition,
        container: settings.container.as_deref(),
        command: &settings.command,
        timeout: settings.timeout,
        timeout_flag: "--timeout",
        poll_interval: settings.poll_interval,
    };
    run_to_the_end(ecs, logs, &mut signals, &task).await
}

/// One command to run in a task of a revision, beside a service.
pub(crate) struct OneOff<'a> {
    pub cluster: &'a str,
    pub service: &'a ServiceDescription,
    pub arn: &'a str,
    /// The revision as ECS describes it: its containers and their log configuration.
    pub task_definition: &'a Value,
    pub container: Option<&'a str>,
    pub command: &'a [String],
    pub timeout: Duration,
    /// The flag that set `timeout`, for messages.
    pub timeout_flag: &'a str,
    pub poll_interval: Duration,
}

/// Starts the task, prints its lines, waits until it stops. Ok when the command exited 0.
///
/// # Errors
/// An AWS error, a task that never ran the command, a non-zero exit ([`CommandFailed`]), the
/// timeout, or a signal ([`Interrupted`]); the task is stopped for the last two.
pub(crate) async fn run_to_the_end(
    ecs: &impl Ecs,
    logs: &impl Logs,
    signals: &mut Signals,
    task: &OneOff<'_>,
) -> Result<()> {
    let (cluster, arn) = (task.cluster, task.arn);
    let container = one_off::choose_container(arn, task.task_definition, task.container)?;
    let request = one_off::run_request(task.service, cluster, arn, &container, task.command);
    let task_arn = ecs.run_task(&request).await?;
    let task_id = task_arn.rsplit('/').next().unwrap_or(&task_arn).to_owned();
    note(&format!(
        "task `{task_id}` of `{arn}` started: container `{container}` runs `{}`",
        one_off::shown(task.command)
    ));
    let mut follower = match one_off::log_location(task.task_definition, &container, &task_arn) {
        Ok(location) => Some(Follower::new(location)),
        Err(why) => {
            warn(&format!("its log lines are not printed: {why}"));
            None
        }
    };
    let deadline = Instant::now() + task.timeout;
    let stop_reason = loop {
        if let Some(follower) = follower.as_mut() {
            follower.print_new(logs).await;
        }
        let state = ecs.describe_task(cluster, &task_arn).await?;
        if state.last_status == "STOPPED" {
            finish_logs(logs, follower.as_mut(), task.poll_interval).await;
            return outcome(&state, &container, &task_id);
        }
        if Instant::now() >= deadline {
            break None;
        }
        tokio::select! {
            signal = signals.next() => break Some(format!("{signal} to bgtool")),
            () = tokio::time::sleep(task.poll_interval) => {}
        }
    };
    let interrupted = stop_reason.is_some();
    let reason = stop_reason.unwrap_or_else(|| {
        format!(
            "bgtool {} ({} s)",
            task.timeout_flag,
            task.timeout.as_secs_f64()
        )
    });
    ecs.stop_task(cluster, &task_arn, &reason).await?;
    note(&format!("stopping task `{task_id}` ({reason})"));
    let stopped = wait_stopped(ecs, cluster, &task_arn, task.poll_interval).await?;
    finish_logs(logs, follower.as_mut(), task.poll_interval).await;
    let exit = stopped.map_or_else(
        || "it had not stopped yet".to_owned(),
        |state| match one_off::ending(&state, &container) {
            Ending::Exited(code) => format!("its container exited {code}"),
            Ending::NoExitCode(why) => why,
        },
    );
    if interrupted {
        return Err(Interrupted {
            message: format!("task `{task_id}` stopped on {reason}: {exit}"),
        }
        .into());
    }
    Err(Hinted::new(
        format!(
            "task `{task_id}` did not finish within `{}` ({} s) and was stopped: {exit}",
            task.timeout_flag,
            task.timeout.as_secs_f64()
        ),
        format!("raise `{}` for a longer command", task.timeout_flag),
    )
    .into())
}

/// How the command ended, as bgtool's result.
fn outcome(state: &TaskState, container: &str, task_id: &str) -> Result<()> {
    match one_off::ending(state, container) {
        Ending::Exited(0) => {
            note(&format!("task `{task_id}`: container `{container}` exited 0"));
            Ok(())
        }
        Ending::Exited(code) => Err(CommandFailed {
            message: format!("task `{task_id}`: container `{container}` exited {code}"),
            status: CommandFailed::status_of(code),
        }
        .into()),
        Ending::NoExitCode(why) => Err(Hinted::new(
            format!("task `{task_id}` stopped without running the command: {why}"),
            "ECS's reason names the cause: an image that cannot be pulled, a secret that cannot be read, no network path to ECR or Secrets Manager, no capacity",
        )
        .into()),
    }
}

/// The task once STOPPED, within [`STOPPING`]; `None` if it took longer.
async fn wait_stopped(
    ecs: &impl Ecs,
    cluster: &str,
    task_arn: &str,
    interval: Duration,
) -> Result<Option<TaskState>> {
    let until = Instant::now() + STOPPING;
    loop {
        let state = ecs.describe_task(cluster, task_arn).await?;
        if state.last_status == "STOPPED" {
            return Ok(Some(state));
        }
        if Instant::now() >= until {
            return Ok(None);
        }
        tokio::time::sleep(interval).await;
    }
}

/// Reads the last lines after the task stopped: until a read brings nothing new, at most
/// [`LATE_LINES`].
async fn finish_logs(logs: &impl Logs, follower: Option<&mut Follower>, interval: Duration) {
    let Some(follower) = follower else { return };
    let until = Instant::now() + LATE_LINES;
    loop {
        let printed = follower.print_new(logs).await;
        if (printed == 0 && follower.started) || Instant::now() >= until {
            return;
        }
        tokio::time::sleep(interval.min(Duration::from_secs(2))).await;
    }
}

/// Follows one log stream, printing each new line on standard output.
struct Follower {
    location: LogLocation,
    token: Option<String>,
    /// Whether the stream has been seen: it appears only once the container starts.
    started: bool,
    /// A read that failed is said once, then retried quietly on the next look.
    warned: bool,
}

impl Follower {
    fn new(location: LogLocation) -> Self {
        Self {
            location,
            token: None,
            started: false,
            warned: false,
        }
    }

    /// Prints every line that arrived since the last read; returns how many.
    async fn print_new(&mut self, logs: &impl Logs) -> usize {
        let mut printed = 0;
        // GetLogEvents answers in pages: read until the forward token stops moving.
        loop {
            let page = logs
                .log_events(
                    self.location.region.as_deref(),
                    &self.location.group,
                    &self.location.stream,
                    self.token.as_deref(),
                )
                .await;
            let page = match page {
                Ok(Some(page)) => page,
                Ok(None) => return printed,
                Err(error) => {
                    if !self.warned {
                        warn(&format!("{error:#}"));
                        self.warned = true;
                    }
                    return printed;
                }
            };
            self.started = true;
            for message in &page.messages {
                println!("{}", message.trim_end_matches('\n'));
            }
            printed += page.messages.len();
            let moved = page.next_token.is_some() && page.next_token != self.token;
            if page.next_token.is_some() {
                self.token = page.next_token;
            }
            if !moved || page.messages.is_empty() {
                return printed;
            }
        }
    }
}
