//! How an ECS deployment is going, read from successive DescribeServices descriptions, and how
//! long it may take. Pure: descriptions come in as data; lines for people and a verdict go out.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::deployment::service::{Deployment, ServiceDescription};

/// Where a watched deployment stands after one look at the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    InProgress,
    Completed,
    Failed {
        reason: String,
    },
    /// bgtool's own verdict (`deploy --gate`): the deployment is still in progress, and bgtool
    /// rolls it back.
    Rejected {
        reason: String,
    },
}

/// The service events already said: each new one is printed once. ECS puts in them what no
/// deployment status says, such as a task failing its load balancer health checks.
#[derive(Debug, Clone, Default)]
pub struct EventLog {
    seen: HashSet<String>,
}

impl EventLog {
    /// Events `service` already lists are history, not news.
    #[must_use]
    pub fn new(service: &ServiceDescription) -> Self {
        Self {
            seen: service
                .events
                .iter()
                .map(|event| event.id.clone())
                .collect(),
        }
    }

    /// `event: MESSAGE` for each event not said before, oldest first (ECS lists newest first).
    pub fn news(&mut self, service: &ServiceDescription) -> Vec<String> {
        service
            .events
            .iter()
            .rev()
            .filter(|event| self.seen.insert(event.id.clone()))
            .map(|event| format!("event: {}", event.message))
            .collect()
    }
}

/// Follows one deployment across polls: remembers what was already said, so each change of
/// state and each new service event is printed once.
#[derive(Debug, Clone)]
pub struct Watch {
    /// `None`: whichever deployment is PRIMARY (a rollback's, whose id bgtool never learns).
    deployment_id: Option<String>,
    last_state: Option<String>,
    events: EventLog,
}

impl Watch {
    /// Starts watching `deployment_id`; events `service` already lists are history, not news.
    #[must_use]
    pub fn new(deployment_id: &str, service: &ServiceDescription) -> Self {
        Self {
            deployment_id: Some(deployment_id.to_owned()),
            last_state: None,
            events: EventLog::new(service),
        }
    }

    /// Watches whichever deployment is PRIMARY at each look.
    #[must_use]
    pub fn primary(service: &ServiceDescription) -> Self {
        Self {
            deployment_id: None,
            ..Self::new("", service)
        }
    }

    /// One look at the service: the lines to print (oldest first) and the verdict.
    pub fn observe(&mut self, service: &ServiceDescription) -> (Vec<String>, Outcome) {
        let mut lines = self.events.news(service);
        let Some(deployment) = service.deployments.iter().find(|deployment| {
            self.deployment_id
                .as_ref()
                .map_or(deployment.status == "PRIMARY", |id| deployment.id == *id)
        }) else {
            let now = service
                .deployments
                .iter()
                .find(|deployment| deployment.status == "PRIMARY")
                .and_then(|deployment| deployment.task_definition.as_deref())
                .unwrap_or("an unknown task definition");
            return (
                lines,
                Outcome::Failed {
                    reason: format!(
                        "deployment `{}` is no longer listed: the service now runs `{now}`",
                        self.deployment_id.as_deref().unwrap_or("PRIMARY")
                    ),
                },
            );
        };
        let state = describe(deployment);
        if self.last_state.as_deref() != Some(state.as_str()) {
            lines.push(state.clone());
            self.last_state = Some(state);
        }
        (lines, verdict(deployment, service.deployments.len()))
    }
}

/// `deployment ID IN_PROGRESS: 1/2 running, 1 pending, 0 failed`.
fn describe(deployment: &Deployment) -> String {
    let count = |value: Option<u32>| value.unwrap_or(0);
    format!(
        "deployment `{}` {}: {}/{} running, {} pending, {} failed",
        deployment.id,
        deployment
            .rollout_state
            .as_deref()
            .unwrap_or(&deployment.status),
        count(deployment.running_count),
        count(deployment.desired_count),
        count(deployment.pending_count),
        count(deployment.failed_tasks),
    )
}

fn verdict(deployment: &Deployment, deployments: usize) -> Outcome {
    match deployment.rollout_state.as_deref() {
        Some("COMPLETED") => Outcome::Completed,
        Some("FAILED") => Outcome::Failed {
            reason: deployment
                .rollout_state_reason
                .clone()
                .unwrap_or_else(|| format!("deployment `{}` failed", deployment.id)),
        },
        Some(_) => Outcome::InProgress,
        // Without a rollout state (older services), done means alone and at its desired count.
        None => {
            let settled = deployments == 1
                && deployment.pending_count.unwrap_or(0) == 0
                && deployment.running_count == deployment.desired_count;
            if settled {
                Outcome::Completed
            } else {
                Outcome::InProgress
            }
        }
    }
}

/// A service deployment as DescribeServiceDeployments tells it: where in its lifecycle it is.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceDeploymentState {
    pub service_deployment_arn: String,
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub lifecycle_stage: Option<String>,
    pub deployment_configuration: Option<Value>,
    /// The lifecycle hooks active now: what the stage waits for, and until when.
    pub lifecycle_hook_details: Vec<HookDetail>,
    /// The CloudWatch alarms that judge this deployment, and which of them fired.
    pub alarms: Option<DeploymentAlarms>,
}

/// A service deployment's alarms (`ServiceDeploymentAlarms`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeploymentAlarms {
    /// `MONITORING`, `MONITORING_COMPLETE`, `TRIGGERED` or `DISABLED`.
    pub status: Option<String>,
    pub alarm_names: Vec<String>,
    pub triggered_alarm_names: Vec<String>,
}

/// One active lifecycle hook, as DescribeServiceDeployments tells it (`lifecycleHookDetails`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HookDetail {
    pub hook_id: String,
    /// `AWS_LAMBDA` or `PAUSE`.
    pub target_type: Option<String>,
    pub target_arn: Option<String>,
    /// `AWAITING_ACTION`, `IN_PROGRESS`, `SUCCEEDED`, `FAILED` or `TIMED_OUT`.
    pub status: Option<String>,
    /// When ECS takes the timeout action, in seconds since the Unix epoch.
    pub expires_at: Option<f64>,
    /// `ROLLBACK` or `CONTINUE`.
    pub timeout_action: Option<String>,
}

impl HookDetail {
    /// Whether the stage still waits for this hook.
    #[must_use]
    pub fn holds(&self) -> bool {
        matches!(
            self.status.as_deref(),
            Some("AWAITING_ACTION" | "IN_PROGRESS")
        )
    }

    /// When the hook stops holding at the latest, in whole seconds since the Unix epoch.
    #[must_use]
    pub fn expires(&self) -> Option<u64> {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a timestamp of this era, checked to be positive"
        )]
        self.expires_at
            .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
            .map(|seconds| seconds as u64)
    }
}

/// How a rollback stands, by the service deployment's own status after StopServiceDeployment
/// with ROLLBACK (ROLLBACK_REQUESTED, ROLLBACK_IN_PROGRESS, then ROLLBACK_SUCCESSFUL or
/// ROLLBACK_FAILED: ECS's "stop service deployment" guide). A status ECS adds later counts as
/// still in progress, so the rollback's own bound decides.
#[must_use]
pub fn rollback_outcome(state: &ServiceDeploymentState) -> Outcome {
    match state.status.as_deref() {
        Some("ROLLBACK_SUCCESSFUL") => Outcome::Completed,
        Some("ROLLBACK_FAILED") => Outcome::Failed {
            reason: state
                .status_reason
                .clone()
                .unwrap_or_else(|| "ECS gives no reason".to_owned()),
        },
        _ => Outcome::InProgress,
    }
}

/// The lifecycle hooks (their targets) the deployment's configuration runs at `stage`.
fn hooks_of_stage(deployment: &ServiceDeploymentState, stage: &str) -> Vec<String> {
    deployment
        .deployment_configuration
        .as_ref()
        .and_then(|configuration| configuration.get("lifecycleHooks"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|hook| {
            hook.get("lifecycleStages")
                .and_then(Value::as_array)
                .is_some_and(|stages| stages.iter().any(|named| named == stage))
        })
        .filter_map(|hook| hook.get("hookTargetArn").and_then(Value::as_str))
        .map(ToOwned::to_owned)
        .collect()
}

/// Says each change of a service deployment's lifecycle stage once, and when the bake time
/// starts, how long it lasts and when it ends.
#[derive(Debug, Clone, Default)]
pub struct StageLog {
    last: Option<String>,
    bake_said: bool,
    /// Each active hook's last status said.
    hooks: std::collections::HashMap<String, String>,
    holding_until: Option<u64>,
    /// The alarms' last status said.
    alarms: Option<String>,
}

impl StageLog {
    /// The lines for one look; `now` is the wall clock in seconds since the Unix epoch.
    pub fn observe(&mut self, deployment: &ServiceDeploymentState, now: u64) -> Vec<String> {
        let mut lines = Vec::new();
        let Some(stage) = deployment.lifecycle_stage.as_deref() else {
            return lines;
        };
        if self.last.as_deref() != Some(stage) {
            lines.push(format!(
                "stage `{stage}` ({})",
                deployment.status.as_deref().unwrap_or("status unknown")
            ));
            self.last = Some(stage.to_owned());
            // A stage with a lifecycle hook lasts as long as the hook says: waiting there is the
            // hook's doing, not a stuck deployment.
            if deployment.lifecycle_hook_details.is_empty() {
                for hook in hooks_of_stage(deployment, stage) {
                    lines.push(format!(
                        "stage `{stage}` waits for lifecycle hook `{hook}`: ECS goes on when it answers SUCCEEDED, rolls back on FAILED, and asks again while it answers IN_PROGRESS"
                    ));
                }
            }
        }
        self.holding_until = None;
        for hook in &deployment.lifecycle_hook_details {
            if hook.holds() {
                self.holding_until = self.holding_until.max(hook.expires());
            }
            let status = hook.status.clone().unwrap_or_default();
            if self.hooks.get(&hook.hook_id) != Some(&status) {
                lines.push(describe_hook(
                    stage,
                    hook,
                    &deployment.service_deployment_arn,
                ));
                self.hooks.insert(hook.hook_id.clone(), status);
            }
        }
        if let Some(line) = self.alarms_news(deployment.alarms.as_ref()) {
            lines.push(line);
        }
        if stage == "BAKE_TIME" && !self.bake_said {
            self.bake_said = true;
            let minutes = deployment
                .deployment_configuration
                .as_ref()
                .and_then(|configuration| configuration.get("bakeTimeInMinutes"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            if minutes > 0 {
                lines.push(format!(
                    "bake time: {minutes} min, until about {} UTC; the old tasks stay until then for a rollback",
                    clock(now + minutes * 60)
                ));
            }
        }
        lines
    }
}

impl StageLog {
    /// A line when the deployment's alarms start being watched or fire: an alarm's name is the
    /// first thing to look at when ECS rolls back on one.
    fn alarms_news(&mut self, alarms: Option<&DeploymentAlarms>) -> Option<String> {
        let alarms = alarms?;
        let status = alarms.status.clone()?;
        if self.alarms.as_ref() == Some(&status) {
            return None;
        }
        self.alarms = Some(status.clone());
        match status.as_str() {
            "MONITORING" => Some(format!(
                "alarms: ECS rolls the deployment back if one of {} fires",
                backticked(&alarms.alarm_names)
            )),
            "TRIGGERED" => Some(format!(
                "alarm fired: {}: ECS fails the deployment and rolls it back",
                backticked(&alarms.triggered_alarm_names)
            )),
            _ => None,
        }
    }
}

fn backticked(names: &[String]) -> String {
    if names.is_empty() {
        return "the deployment's alarms".to_owned();
    }
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl StageLog {
    /// While an active lifecycle hook holds the deployment: when the last of them expires (ECS
    /// then takes its timeout action), in seconds since the Unix epoch. A watch waits that long
    /// rather than roll back a deployment that is only waiting.
    #[must_use]
    pub fn holding_until(&self) -> Option<u64> {
        self.holding_until
    }
}

/// One line for a lifecycle hook's status: what it waits for, until when, what ECS does then, and
/// for a PAUSE hook, the command that continues it.
fn describe_hook(stage: &str, hook: &HookDetail, service_deployment: &str) -> String {
    let status = hook.status.as_deref().unwrap_or("status unknown");
    let kind = hook.target_type.as_deref().unwrap_or("hook");
    let what = hook.target_arn.as_deref().map_or_else(
        || format!("{kind} hook `{}`", hook.hook_id),
        |arn| format!("{kind} hook `{arn}`"),
    );
    if !hook.holds() {
        return format!("stage `{stage}`: {what} {status}");
    }
    let until = hook.expires().map_or_else(String::new, |expires| {
        format!(
            " until about {} UTC, then ECS will {}",
            clock(expires),
            hook.timeout_action.as_deref().unwrap_or("ROLLBACK")
        )
    });
    if kind == "PAUSE" {
        format!(
            "stage `{stage}` paused by {what} ({status}){until}: continue it with `aws ecs continue-service-deployment --service-deployment-arn {service_deployment} --hook-id {}` (add `--action ROLLBACK` to roll back), or in the ECS console",
            hook.hook_id
        )
    } else {
        format!(
            "stage `{stage}` waits for {what} ({status}){until}: ECS goes on when it answers SUCCEEDED and rolls back on FAILED"
        )
    }
}

/// `HH:MM:SS` of a Unix time, in UTC.
#[must_use]
pub fn clock(seconds: u64) -> String {
    let day = seconds % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

/// The deployment of `service` still under way, if any: the one a new deploy would collide with.
#[must_use]
pub fn running_deployment(service: &ServiceDescription) -> Option<&Deployment> {
    let in_progress = service
        .deployments
        .iter()
        .find(|deployment| deployment.rollout_state.as_deref() == Some("IN_PROGRESS"));
    in_progress.or_else(|| {
        // Several deployments at once means the PRIMARY one is still replacing the others.
        if service.deployments.len() > 1 {
            service
                .deployments
                .iter()
                .find(|deployment| deployment.status == "PRIMARY")
        } else {
            None
        }
    })
}

/// Whether `service` is settled: nothing in progress, and (if given) on `task_definition`.
#[must_use]
pub fn settled(service: &ServiceDescription, task_definition: Option<&str>) -> bool {
    running_deployment(service).is_none()
        && service
            .deployments
            .iter()
            .filter(|deployment| deployment.status == "PRIMARY")
            .all(|deployment| deployment.rollout_state.as_deref() != Some("FAILED"))
        && task_definition.is_none_or(|wanted| primary_task_definition(service) == Some(wanted))
}

/// The task definition the service runs when settled: its PRIMARY deployment's.
#[must_use]
pub fn primary_task_definition(service: &ServiceDescription) -> Option<&str> {
    service
        .deployments
        .iter()
        .find(|deployment| deployment.status == "PRIMARY")
        .and_then(|deployment| deployment.task_definition.as_deref())
        .or(service.task_definition.as_deref())
}

/// Time to start tasks, pass health checks and drain the old ones (the ALB's default
/// deregistration delay alone is 5 minutes), before any bake time the service adds.
const BASE_WAIT: Duration = Duration::from_mins(30);

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct DeploymentConfiguration {
    strategy: Option<String>,
    bake_time_in_minutes: Option<u64>,
    linear_configuration: Option<LinearConfiguration>,
    canary_configuration: Option<CanaryConfiguration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct LinearConfiguration {
    step_percent: Option<f64>,
    step_bake_time_in_minutes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct CanaryConfiguration {
    canary_bake_time_in_minutes: Option<u64>,
}

/// How long a deployment of `service` may take before bgtool gives up and rolls it back: a base
/// for starting and draining tasks, plus the bake times the service's own strategy adds.
#[must_use]
pub fn wait_bound(service: &ServiceDescription) -> Duration {
    let configuration: DeploymentConfiguration = service
        .deployment_configuration
        .clone()
        .and_then(|value: Value| serde_json::from_value(value).ok())
        .unwrap_or_default();
    let bake = configuration.bake_time_in_minutes.unwrap_or(0);
    let steps = match configuration.strategy.as_deref() {
        Some("LINEAR") => configuration.linear_configuration.map_or(0, |linear| {
            let percent = linear.step_percent.unwrap_or(10.0).clamp(1.0, 100.0);
            // One bake per step, counted as ceil(100 / step percent) like the emitted stack's
            // `deployment_wait_minutes`, so the deploy build's timeout always covers this bound.
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "clamped to 1..=100 steps"
            )]
            let count = (100.0 / percent).ceil() as u64;
            count * linear.step_bake_time_in_minutes.unwrap_or(0)
        }),
        Some("CANARY") => configuration
            .canary_configuration
            .map_or(0, |canary| canary.canary_bake_time_in_minutes.unwrap_or(0)),
        _ => 0,
    };
    BASE_WAIT + Duration::from_secs((bake + steps) * 60)
}

/// A task that stopped, as DescribeTasks tells it: enough to say why a deployment failed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StoppedTask {
    pub task_arn: String,
    pub stopped_reason: Option<String>,
    pub stop_code: Option<String>,
    pub containers: Vec<StoppedContainer>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StoppedContainer {
    pub name: String,
    pub exit_code: Option<i64>,
    pub reason: Option<String>,
}

/// `task 0123abcd stopped: REASON; container `app` exited 1 (REASON)`.
#[must_use]
pub fn explain_stopped(task: &StoppedTask) -> String {
    let id = task.task_arn.rsplit('/').next().unwrap_or(&task.task_arn);
    let mut line = format!(
        "task `{id}` stopped: {}",
        task.stopped_reason
            .as_deref()
            .or(task.stop_code.as_deref())
            .unwrap_or("no reason given")
    );
    for container in &task.containers {
        let exit = container
            .exit_code
            .map_or_else(|| "never ran".to_owned(), |code| format!("exited {code}"));
        let _ = write!(line, "; container `{}` {exit}", container.name);
        if let Some(reason) = &container.reason {
            let _ = write!(line, " ({reason})");
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn service(value: Value) -> ServiceDescription {
        serde_json::from_value(value).unwrap()
    }

    fn deployment(id: &str, state: &str, running: u32) -> Value {
        json!({"id": id, "status": "PRIMARY", "taskDefinition": "arn:td/web:2",
               "rolloutState": state, "rolloutStateReason": format!("{id} {state}"),
               "desiredCount": 2, "runningCount": running, "pendingCount": 2 - running,
               "failedTasks": 0})
    }

    #[test]
    fn a_deployment_is_followed_to_completion_printing_each_change_once() {
        let before = service(json!({"events": [{"id": "e1", "message": "old news"}]}));
        let mut watch = Watch::new("ecs-svc/1", &before);
        let first = service(json!({
            "deployments": [deployment("ecs-svc/1", "IN_PROGRESS", 1)],
            "events": [{"id": "e2", "message": "has started 1 tasks"}, {"id": "e1", "message": "old news"}]
        }));
        let (lines, outcome) = watch.observe(&first);
        assert_eq!(
            lines,
            [
                "event: has started 1 tasks",
                "deployment `ecs-svc/1` IN_PROGRESS: 1/2 running, 1 pending, 0 failed"
            ]
        );
        assert_eq!(outcome, Outcome::InProgress);
        assert_eq!(watch.observe(&first), (vec![], Outcome::InProgress));
        let done = service(json!({"deployments": [deployment("ecs-svc/1", "COMPLETED", 2)]}));
        let (lines, outcome) = watch.observe(&done);
        assert_eq!(
            lines,
            ["deployment `ecs-svc/1` COMPLETED: 2/2 running, 0 pending, 0 failed"]
        );
        assert_eq!(outcome, Outcome::Completed);
    }

    #[test]
    fn failed_and_vanished_deployments_say_why() {
        let mut watch = Watch::new("ecs-svc/1", &ServiceDescription::default());
        let failed = service(json!({"deployments": [deployment("ecs-svc/1", "FAILED", 0)]}));
        assert_eq!(
            watch.observe(&failed).1,
            Outcome::Failed {
                reason: "ecs-svc/1 FAILED".to_owned()
            }
        );
        let replaced = service(json!({"deployments": [deployment("ecs-svc/9", "IN_PROGRESS", 0)]}));
        let Outcome::Failed { reason } = watch.observe(&replaced).1 else {
            panic!("a vanished deployment is a failure")
        };
        assert!(reason.contains("no longer listed"), "{reason}");
        assert!(reason.contains("arn:td/web:2"), "{reason}");
    }

    #[test]
    fn without_a_rollout_state_done_means_alone_and_settled() {
        let mut watch = Watch::new("d", &ServiceDescription::default());
        let two = service(json!({"deployments": [
            {"id": "d", "status": "PRIMARY", "desiredCount": 1, "runningCount": 1, "pendingCount": 0},
            {"id": "old", "status": "ACTIVE", "desiredCount": 1, "runningCount": 1}
        ]}));
        assert_eq!(watch.observe(&two).1, Outcome::InProgress);
        assert_eq!(running_deployment(&two).unwrap().id, "d");
        let one = service(json!({"deployments": [
            {"id": "d", "status": "PRIMARY", "desiredCount": 1, "runningCount": 1, "pendingCount": 0}
        ]}));
        assert_eq!(watch.observe(&one).1, Outcome::Completed);
        assert!(running_deployment(&one).is_none());
    }

    #[test]
    fn a_service_is_settled_on_its_previous_revision_only_when_nothing_runs() {
        let rolling_back = service(json!({"deployments": [
            {"id": "r", "status": "PRIMARY", "taskDefinition": "arn:td/web:1", "rolloutState": "IN_PROGRESS"},
            {"id": "d", "status": "ACTIVE", "taskDefinition": "arn:td/web:2", "rolloutState": "FAILED"}
        ]}));
        assert!(!settled(&rolling_back, Some("arn:td/web:1")));
        let mut watch = Watch::primary(&ServiceDescription::default());
        assert_eq!(
            watch.observe(&rolling_back).0,
            ["deployment `r` IN_PROGRESS: 0/0 running, 0 pending, 0 failed"]
        );
        let back = service(json!({"deployments": [
            {"id": "r", "status": "PRIMARY", "taskDefinition": "arn:td/web:1", "rolloutState": "COMPLETED"}
        ]}));
        assert!(settled(&back, Some("arn:td/web:1")));
        assert!(!settled(&back, Some("arn:td/web:2")));
        assert!(settled(&back, None));
    }

    #[test]
    fn each_lifecycle_stage_is_said_once_and_the_bake_time_with_its_end() {
        let state = |stage: &str| ServiceDeploymentState {
            status: Some("IN_PROGRESS".to_owned()),
            lifecycle_stage: Some(stage.to_owned()),
            deployment_configuration: Some(json!({"bakeTimeInMinutes": 10})),
            ..ServiceDeploymentState::default()
        };
        let mut log = StageLog::default();
        assert_eq!(
            log.observe(&state("SCALE_UP"), 0),
            ["stage `SCALE_UP` (IN_PROGRESS)"]
        );
        assert!(log.observe(&state("SCALE_UP"), 10).is_empty());
        // 2026-11-27 13:50:00 UTC, plus ten minutes.
        assert_eq!(
            log.observe(&state("BAKE_TIME"), 1_795_787_400),
            [
                "stage `BAKE_TIME` (IN_PROGRESS)",
                "bake time: 10 min, until about 14:00:00 UTC; the old tasks stay until then for a rollback"
            ]
        );
        assert!(log.observe(&state("BAKE_TIME"), 1_795_787_410).is_empty());
    }

    #[test]
    fn the_alarms_are_said_when_watched_and_when_one_fires() {
        let state = |status: &str, triggered: &[&str]| ServiceDeploymentState {
            status: Some("IN_PROGRESS".to_owned()),
            lifecycle_stage: Some("BAKE_TIME".to_owned()),
            alarms: Some(DeploymentAlarms {
                status: Some(status.to_owned()),
                alarm_names: vec![
                    "web-blue-5xx-rate".to_owned(),
                    "web-green-5xx-rate".to_owned(),
                ],
                triggered_alarm_names: triggered.iter().map(|name| (*name).to_owned()).collect(),
            }),
            ..ServiceDeploymentState::default()
        };
        let mut log = StageLog::default();
        assert_eq!(
            log.observe(&state("MONITORING", &[]), 0),
            [
                "stage `BAKE_TIME` (IN_PROGRESS)",
                "alarms: ECS rolls the deployment back if one of `web-blue-5xx-rate`, `web-green-5xx-rate` fires"
            ]
        );
        assert!(log.observe(&state("MONITORING", &[]), 0).is_empty());
        assert_eq!(
            log.observe(&state("TRIGGERED", &["web-green-5xx-rate"]), 0),
            ["alarm fired: `web-green-5xx-rate`: ECS fails the deployment and rolls it back"]
        );
        assert!(log.observe(&state("DISABLED", &[]), 0).is_empty());
    }

    #[test]
    fn the_wait_bound_adds_the_strategy_bake_times() {
        let minutes = |configuration: Value| {
            wait_bound(&service(json!({"deploymentConfiguration": configuration}))).as_secs() / 60
        };
        assert_eq!(minutes(json!({"strategy": "ROLLING"})), 30);
        assert_eq!(
            minutes(json!({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 15})),
            45
        );
        assert_eq!(
            minutes(json!({"strategy": "LINEAR", "bakeTimeInMinutes": 5,
                           "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 4}})),
            30 + 5 + 4 * 4
        );
        assert_eq!(
            minutes(json!({"strategy": "CANARY", "bakeTimeInMinutes": 2,
                           "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 7}})),
            39
        );
    }

    #[test]
    fn stopped_tasks_name_their_reason_and_exit_codes() {
        let task: StoppedTask = serde_json::from_value(json!({
            "taskArn": "arn:aws:ecs:us-east-1:1:task/c/0123abcd",
            "stoppedReason": "Essential container in task exited",
            "containers": [{"name": "app", "exitCode": 1, "reason": "CannotPullContainerError"},
                           {"name": "log"}]
        }))
        .unwrap();
        assert_eq!(
            explain_stopped(&task),
            "task `0123abcd` stopped: Essential container in task exited; container `app` exited 1 (CannotPullContainerError); container `log` never ran"
        );
    }

    #[test]
    fn a_rollback_is_judged_by_the_service_deployment_status() {
        let state = |status: &str, reason: Option<&str>| ServiceDeploymentState {
            status: Some(status.to_owned()),
            status_reason: reason.map(ToOwned::to_owned),
            ..ServiceDeploymentState::default()
        };
        for status in [
            "ROLLBACK_REQUESTED",
            "ROLLBACK_IN_PROGRESS",
            "IN_PROGRESS",
            "NEW_STATUS",
        ] {
            assert_eq!(
                rollback_outcome(&state(status, None)),
                Outcome::InProgress,
                "{status}"
            );
        }
        assert_eq!(
            rollback_outcome(&state("ROLLBACK_SUCCESSFUL", None)),
            Outcome::Completed
        );
        assert_eq!(
            rollback_outcome(&state("ROLLBACK_FAILED", Some("tasks failed to start"))),
            Outcome::Failed {
                reason: "tasks failed to start".to_owned()
            }
        );
    }

    #[test]
    fn a_stage_with_a_lifecycle_hook_says_the_hook_decides() {
        let hook = "arn:aws:lambda:us-east-1:123456789012:function:web-smoke";
        let state = |stage: &str| ServiceDeploymentState {
            status: Some("IN_PROGRESS".to_owned()),
            lifecycle_stage: Some(stage.to_owned()),
            deployment_configuration: Some(json!({"lifecycleHooks": [
                {"hookTargetArn": hook, "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}
            ]})),
            ..ServiceDeploymentState::default()
        };
        let mut log = StageLog::default();
        assert_eq!(
            log.observe(&state("TEST_TRAFFIC_SHIFT"), 0),
            ["stage `TEST_TRAFFIC_SHIFT` (IN_PROGRESS)"]
        );
        assert_eq!(
            log.observe(&state("POST_TEST_TRAFFIC_SHIFT"), 0),
            [
                "stage `POST_TEST_TRAFFIC_SHIFT` (IN_PROGRESS)".to_owned(),
                format!(
                    "stage `POST_TEST_TRAFFIC_SHIFT` waits for lifecycle hook `{hook}`: ECS goes on when it answers SUCCEEDED, rolls back on FAILED, and asks again while it answers IN_PROGRESS"
                ),
            ]
        );
        assert!(log.observe(&state("POST_TEST_TRAFFIC_SHIFT"), 0).is_empty());
    }

    #[test]
    fn an_active_lifecycle_hook_says_what_it_waits_for_and_until_when() {
        let arn = "arn:aws:ecs:us-east-1:123456789012:service-deployment/main/web/aBcD";
        let state = |status: &str| ServiceDeploymentState {
            service_deployment_arn: arn.to_owned(),
            status: Some("IN_PROGRESS".to_owned()),
            lifecycle_stage: Some("POST_TEST_TRAFFIC_SHIFT".to_owned()),
            lifecycle_hook_details: vec![HookDetail {
                hook_id: "h-1".to_owned(),
                target_type: Some("PAUSE".to_owned()),
                status: Some(status.to_owned()),
                expires_at: Some(7200.5),
                timeout_action: Some("ROLLBACK".to_owned()),
                ..HookDetail::default()
            }],
            ..ServiceDeploymentState::default()
        };
        let mut log = StageLog::default();
        assert_eq!(
            log.observe(&state("AWAITING_ACTION"), 0),
            [
                "stage `POST_TEST_TRAFFIC_SHIFT` (IN_PROGRESS)".to_owned(),
                format!(
                    "stage `POST_TEST_TRAFFIC_SHIFT` paused by PAUSE hook `h-1` (AWAITING_ACTION) until about 02:00:00 UTC, then ECS will ROLLBACK: continue it with `aws ecs continue-service-deployment --service-deployment-arn {arn} --hook-id h-1` (add `--action ROLLBACK` to roll back), or in the ECS console"
                ),
            ]
        );
        assert_eq!(log.holding_until(), Some(7200));
        assert!(log.observe(&state("AWAITING_ACTION"), 0).is_empty());
        assert_eq!(
            log.observe(&state("SUCCEEDED"), 0),
            ["stage `POST_TEST_TRAFFIC_SHIFT`: PAUSE hook `h-1` SUCCEEDED"]
        );
        assert_eq!(log.holding_until(), None);
    }
}
