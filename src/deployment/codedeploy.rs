//! How a CodeDeploy deployment of an ECS service is going, read from GetDeployment and
//! GetDeploymentTarget answers, and how long it may take. Pure: answers in, lines and a verdict out.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

use crate::deployment::ecs::Outcome;

/// A deployment group, as GetDeploymentGroup or BatchGetDeploymentGroups tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeploymentGroup {
    pub application_name: String,
    pub deployment_group_name: String,
    pub deployment_config_name: Option<String>,
    pub ecs_services: Vec<EcsService>,
    pub blue_green_deployment_configuration: Option<BlueGreenConfiguration>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EcsService {
    pub service_name: String,
    pub cluster_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BlueGreenConfiguration {
    pub terminate_blue_instances_on_deployment_success: Option<Termination>,
    pub deployment_ready_option: Option<ReadyOption>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Termination {
    pub action: Option<String>,
    pub termination_wait_time_in_minutes: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReadyOption {
    pub action_on_timeout: Option<String>,
    pub wait_time_in_minutes: Option<u64>,
}

/// The traffic routing of a deployment configuration (GetDeploymentConfig).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrafficRouting {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub time_based_canary: Option<TimeBasedCanary>,
    pub time_based_linear: Option<TimeBasedLinear>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TimeBasedCanary {
    pub canary_interval: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TimeBasedLinear {
    pub linear_percentage: Option<f64>,
    pub linear_interval: Option<u64>,
}

/// GetDeployment's `deploymentInfo`, the parts bgtool reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeploymentInfo {
    pub deployment_id: String,
    pub status: String,
    pub error_information: Option<ErrorInformation>,
    pub rollback_info: Option<RollbackInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ErrorInformation {
    pub code: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RollbackInfo {
    pub rollback_deployment_id: Option<String>,
    pub rollback_message: Option<String>,
}

/// GetDeploymentTarget's `ecsTarget`: lifecycle events and the two task sets.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EcsTarget {
    pub lifecycle_events: Vec<LifecycleEvent>,
    pub task_sets_info: Vec<TaskSetInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LifecycleEvent {
    pub lifecycle_event_name: String,
    pub status: String,
    pub diagnostics: Option<Diagnostics>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Diagnostics {
    pub error_code: Option<String>,
    pub message: Option<String>,
    pub log_tail: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TaskSetInfo {
    /// Spelled so in the CodeDeploy API.
    pub identifer: Option<String>,
    pub desired_count: Option<u64>,
    pub running_count: Option<u64>,
    pub task_set_label: Option<String>,
    pub traffic_weight: Option<f64>,
    pub target_group: Option<TargetGroup>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TargetGroup {
    pub name: Option<String>,
}

/// The deployment group of `cluster`/`service`, among `groups`.
#[must_use]
pub fn group_of<'a>(
    groups: &'a [DeploymentGroup],
    cluster: &str,
    service: &str,
) -> Option<&'a DeploymentGroup> {
    // The group names its cluster by name or ARN; compare the last part.
    let short = |name: &str| name.rsplit('/').next().unwrap_or(name).to_owned();
    groups.iter().find(|group| {
        group
            .ecs_services
            .iter()
            .any(|ecs| ecs.service_name == service && short(&ecs.cluster_name) == short(cluster))
    })
}

/// Follows one CodeDeploy deployment: each change of status, of a lifecycle event, and of the
/// traffic split is printed once.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    status: Option<String>,
    events: HashMap<String, String>,
    traffic: Option<String>,
    bake_said: bool,
    ready_said: bool,
}

impl Watch {
    /// One look: the lines to print and the verdict.
    pub fn observe(
        &mut self,
        deployment: &DeploymentInfo,
        target: Option<&EcsTarget>,
    ) -> (Vec<String>, Outcome) {
        let mut lines = Vec::new();
        if self.status.as_deref() != Some(deployment.status.as_str()) {
            lines.push(format!(
                "deployment `{}` {}",
                deployment.deployment_id, deployment.status
            ));
            self.status = Some(deployment.status.clone());
        }
        if let Some(target) = target {
            for event in &target.lifecycle_events {
                if self.events.get(&event.lifecycle_event_name) != Some(&event.status) {
                    self.events
                        .insert(event.lifecycle_event_name.clone(), event.status.clone());
                    if event.status != "Pending" {
                        lines.push(describe_event(event));
                    }
                }
            }
            let traffic = describe_traffic(&target.task_sets_info);
            if !traffic.is_empty() && self.traffic.as_ref() != Some(&traffic) {
                lines.push(traffic.clone());
                self.traffic = Some(traffic);
            }
        }
        let outcome = match deployment.status.as_str() {
            "Succeeded" => Outcome::Completed,
            "Failed" | "Stopped" => Outcome::Failed {
                reason: failure_reason(deployment, target),
            },
            _ => Outcome::InProgress,
        };
        (lines, outcome)
    }
}

impl Watch {
    /// When the deployment holds in `Ready` (the group waits for a go-ahead before it moves
    /// traffic, and stops the deployment without one): what it waits for, until when, and the
    /// command that gives it. Said once; `now` is the wall clock in seconds since the Unix epoch.
    pub fn waiting(
        &mut self,
        deployment: &DeploymentInfo,
        ready_wait_minutes: Option<u64>,
        now: u64,
        continue_command: &str,
    ) -> Option<String> {
        if deployment.status != "Ready" || self.ready_said {
            return None;
        }
        self.ready_said = true;
        let deadline = ready_wait_minutes.map_or_else(
            || "CodeDeploy stops it if none comes in time".to_owned(),
            |minutes| {
                format!(
                    "CodeDeploy stops it if none comes within {minutes} min (by about {} UTC)",
                    crate::deployment::ecs::clock(now + minutes * 60)
                )
            },
        );
        Some(format!(
            "waiting for a go-ahead: the replacement task set is ready and takes test traffic; {deadline}; `{continue_command}` (or \"Reroute traffic\" in the CodeDeploy console) moves production traffic to it"
        ))
    }

    /// Once all traffic is on the replacement (GREEN) task set: how long the original one stays
    /// (the group's termination wait, the window for a rollback) and when it goes; `now` is the
    /// wall clock in seconds since the Unix epoch.
    pub fn bake(
        &mut self,
        target: Option<&EcsTarget>,
        termination_wait_minutes: Option<u64>,
        now: u64,
        continue_command: &str,
    ) -> Option<String> {
        let all_on_green = target
            .into_iter()
            .flat_map(|target| &target.task_sets_info)
            .any(|task_set| {
                task_set.task_set_label.as_deref() == Some("GREEN")
                    && task_set.traffic_weight.unwrap_or(0.0) >= 100.0
            });
        let minutes = termination_wait_minutes.filter(|minutes| *minutes > 0)?;
        if !all_on_green || self.bake_said {
            return None;
        }
        self.bake_said = true;
        Some(format!(
            "bake time: the original task set stays {minutes} min, until about {} UTC, for a rollback; the deployment succeeds after it (`{continue_command} --termination` ends it now)",
            crate::deployment::ecs::clock(now + minutes * 60)
        ))
    }
}

/// The group's wait for a go-ahead before traffic moves, in minutes: only when it stops the
/// deployment without one (`STOP_DEPLOYMENT`); with `CONTINUE_DEPLOYMENT` traffic moves at once.
#[must_use]
pub fn ready_wait(group: &DeploymentGroup) -> Option<u64> {
    group
        .blue_green_deployment_configuration
        .as_ref()?
        .deployment_ready_option
        .as_ref()
        .filter(|option| option.action_on_timeout.as_deref() == Some("STOP_DEPLOYMENT"))?
        .wait_time_in_minutes
}

/// The group's wait before the original task set is terminated, in minutes.
#[must_use]
pub fn termination_wait(group: &DeploymentGroup) -> Option<u64> {
    group
        .blue_green_deployment_configuration
        .as_ref()?
        .terminate_blue_instances_on_deployment_success
        .as_ref()?
        .termination_wait_time_in_minutes
}

fn describe_event(event: &LifecycleEvent) -> String {
    let mut line = format!(
        "lifecycle event `{}` {}",
        event.lifecycle_event_name, event.status
    );
    if let Some(diagnostics) = &event.diagnostics {
        if let Some(message) = diagnostics
            .message
            .as_deref()
            .filter(|text| !text.is_empty())
        {
            line.push_str(": ");
            line.push_str(message);
        }
        if let Some(tail) = diagnostics
            .log_tail
            .as_deref()
            .filter(|text| !text.is_empty())
        {
            line.push_str(" (log: ");
            line.push_str(tail.trim());
            line.push(')');
        }
    }
    line
}

/// `traffic: 90% to BLUE `web-blue` (2/2 running), 10% to GREEN `web-green` (2/2 running)`.
fn describe_traffic(task_sets: &[TaskSetInfo]) -> String {
    let parts: Vec<String> = task_sets
        .iter()
        .map(|task_set| {
            format!(
                "{}% to {} `{}` ({}/{} running)",
                task_set.traffic_weight.unwrap_or(0.0),
                task_set.task_set_label.as_deref().unwrap_or("?"),
                task_set
                    .target_group
                    .as_ref()
                    .and_then(|group| group.name.as_deref())
                    .unwrap_or("?"),
                task_set.running_count.unwrap_or(0),
                task_set.desired_count.unwrap_or(0),
            )
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("traffic: {}", parts.join(", "))
    }
}

fn failure_reason(deployment: &DeploymentInfo, target: Option<&EcsTarget>) -> String {
    let mut reason = deployment
        .error_information
        .as_ref()
        .and_then(|error| error.message.clone())
        .unwrap_or_else(|| format!("the deployment is {}", deployment.status));
    let failed = target
        .into_iter()
        .flat_map(|target| &target.lifecycle_events)
        .find(|event| event.status == "Failed");
    if let Some(event) = failed {
        reason.push_str("; ");
        reason.push_str(&describe_event(event));
    }
    reason
}

/// Time to start the replacement task set and pass health checks, before anything the
/// deployment group and configuration add.
const BASE_WAIT: Duration = Duration::from_mins(30);

/// How long a CodeDeploy deployment may take: a base, the wait for a manual go-ahead (when the
/// group stops on timeout), the canary or linear intervals, and the wait before the old task set
/// is terminated (the deployment succeeds only after it).
#[must_use]
pub fn wait_bound(group: &DeploymentGroup, routing: Option<&TrafficRouting>) -> Duration {
    let blue_green = group.blue_green_deployment_configuration.as_ref();
    let ready = blue_green
        .and_then(|configuration| configuration.deployment_ready_option.as_ref())
        .filter(|option| option.action_on_timeout.as_deref() == Some("STOP_DEPLOYMENT"))
        .and_then(|option| option.wait_time_in_minutes)
        .unwrap_or(0);
    let termination = blue_green
        .and_then(|configuration| {
            configuration
                .terminate_blue_instances_on_deployment_success
                .as_ref()
        })
        .and_then(|termination| termination.termination_wait_time_in_minutes)
        .unwrap_or(0);
    let shifting = routing.map_or(0, |routing| match routing.kind.as_deref() {
        Some("TimeBasedCanary") => routing
            .time_based_canary
            .as_ref()
            .and_then(|canary| canary.canary_interval)
            .unwrap_or(0),
        Some("TimeBasedLinear") => routing.time_based_linear.as_ref().map_or(0, |linear| {
            let percent = linear.linear_percentage.unwrap_or(10.0).clamp(1.0, 100.0);
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "clamped to 1..=100 steps"
            )]
            let steps = (100.0 / percent).ceil() as u64;
            steps * linear.linear_interval.unwrap_or(0)
        }),
        _ => 0,
    });
    BASE_WAIT + Duration::from_mins(ready + termination + shifting)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn target(events: serde_json::Value, task_sets: serde_json::Value) -> EcsTarget {
        let mut value = json!({});
        value["lifecycleEvents"] = events;
        value["taskSetsInfo"] = task_sets;
        serde_json::from_value(value).unwrap()
    }

    fn deployment(status: &str) -> DeploymentInfo {
        DeploymentInfo {
            deployment_id: "d-ABC".to_owned(),
            status: status.to_owned(),
            ..DeploymentInfo::default()
        }
    }

    #[test]
    fn each_change_of_status_event_and_traffic_is_said_once() {
        let mut watch = Watch::default();
        let first = target(
            json!([{"lifecycleEventName": "BeforeInstall", "status": "Succeeded"},
                   {"lifecycleEventName": "AfterAllowTestTraffic", "status": "Pending"}]),
            json!([{"identifer": "ecs-svc/1", "taskSetLabel": "BLUE", "trafficWeight": 100.0,
                    "desiredCount": 2, "runningCount": 2, "targetGroup": {"name": "web-blue"}}]),
        );
        let (lines, outcome) = watch.observe(&deployment("InProgress"), Some(&first));
        assert_eq!(
            lines,
            [
                "deployment `d-ABC` InProgress",
                "lifecycle event `BeforeInstall` Succeeded",
                "traffic: 100% to BLUE `web-blue` (2/2 running)"
            ]
        );
        assert_eq!(outcome, Outcome::InProgress);
        assert!(
            watch
                .observe(&deployment("InProgress"), Some(&first))
                .0
                .is_empty()
        );
        let (lines, outcome) = watch.observe(&deployment("Succeeded"), None);
        assert_eq!(lines, ["deployment `d-ABC` Succeeded"]);
        assert_eq!(outcome, Outcome::Completed);
    }

    #[test]
    fn the_bake_is_said_once_when_all_traffic_is_on_green() {
        let mut watch = Watch::default();
        let blue = target(
            json!([]),
            json!([{"taskSetLabel": "GREEN", "trafficWeight": 0.0}]),
        );
        assert_eq!(
            watch.bake(
                Some(&blue),
                Some(5),
                0,
                "bgtool continue --cluster main --service web"
            ),
            None
        );
        let green = target(
            json!([]),
            json!([{"taskSetLabel": "GREEN", "trafficWeight": 100.0}]),
        );
        assert_eq!(
            watch.bake(
                Some(&green),
                None,
                0,
                "bgtool continue --cluster main --service web"
            ),
            None
        );
        assert_eq!(
            watch
                .bake(
                    Some(&green),
                    Some(5),
                    3600,
                    "bgtool continue --cluster main --service web"
                )
                .as_deref(),
            Some(
                "bake time: the original task set stays 5 min, until about 01:05:00 UTC, for a rollback; the deployment succeeds after it (`bgtool continue --cluster main --service web --termination` ends it now)"
            )
        );
        assert_eq!(
            watch.bake(
                Some(&green),
                Some(5),
                3700,
                "bgtool continue --cluster main --service web"
            ),
            None
        );
    }

    #[test]
    fn a_deployment_held_for_a_go_ahead_says_so_once_with_the_command() {
        let mut watch = Watch::default();
        let command = "bgtool continue --cluster main --service web";
        assert_eq!(
            watch.waiting(&deployment("InProgress"), Some(60), 0, command),
            None
        );
        assert_eq!(
            watch
                .waiting(&deployment("Ready"), Some(60), 3600, command)
                .as_deref(),
            Some(
                "waiting for a go-ahead: the replacement task set is ready and takes test traffic; CodeDeploy stops it if none comes within 60 min (by about 02:00:00 UTC); `bgtool continue --cluster main --service web` (or \"Reroute traffic\" in the CodeDeploy console) moves production traffic to it"
            )
        );
        assert_eq!(
            watch.waiting(&deployment("Ready"), Some(60), 3700, command),
            None
        );
        let group: DeploymentGroup = serde_json::from_value(json!({
            "blueGreenDeploymentConfiguration": {"deploymentReadyOption": {
                "actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60}}
        }))
        .unwrap();
        assert_eq!(ready_wait(&group), Some(60));
        assert_eq!(ready_wait(&DeploymentGroup::default()), None);
    }

    #[test]
    fn a_failed_hook_is_the_reason_with_its_diagnostics() {
        let mut watch = Watch::default();
        let mut failed = deployment("Failed");
        failed.error_information = Some(ErrorInformation {
            code: Some("HOOK_FAILED".to_owned()),
            message: Some(
                "The deployment failed because a specified lifecycle event hook failed.".to_owned(),
            ),
        });
        let events = target(
            json!([{"lifecycleEventName": "AfterAllowTestTraffic", "status": "Failed",
                    "diagnostics": {"errorCode": "ScriptFailed", "message": "smoke test: 503 from /health", "logTail": "GET /health 503\n"}}]),
            json!([]),
        );
        let (lines, outcome) = watch.observe(&failed, Some(&events));
        assert_eq!(
            lines[1],
            "lifecycle event `AfterAllowTestTraffic` Failed: smoke test: 503 from /health (log: GET /health 503)"
        );
        assert_eq!(
            outcome,
            Outcome::Failed {
                reason: "The deployment failed because a specified lifecycle event hook failed.; lifecycle event `AfterAllowTestTraffic` Failed: smoke test: 503 from /health (log: GET /health 503)".to_owned()
            }
        );
    }

    #[test]
    fn the_bound_adds_ready_wait_shifting_and_termination() {
        let group: DeploymentGroup = serde_json::from_value(json!({
            "blueGreenDeploymentConfiguration": {
                "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5},
                "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 20}
            }
        }))
        .unwrap();
        let linear: TrafficRouting = serde_json::from_value(json!({
            "type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 1}
        }))
        .unwrap();
        assert_eq!(
            wait_bound(&group, Some(&linear)),
            Duration::from_mins(30 + 20 + 5 + 10)
        );
        let canary: TrafficRouting = serde_json::from_value(json!({
            "type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 15}
        }))
        .unwrap();
        assert_eq!(
            wait_bound(&DeploymentGroup::default(), Some(&canary)),
            Duration::from_mins(45)
        );
        assert_eq!(
            wait_bound(&DeploymentGroup::default(), None),
            Duration::from_mins(30)
        );
    }

    #[test]
    fn the_group_is_found_by_cluster_name_or_arn() {
        let groups: Vec<DeploymentGroup> = serde_json::from_value(json!([
            {"deploymentGroupName": "other", "ecsServices": [{"serviceName": "web", "clusterName": "staging"}]},
            {"deploymentGroupName": "main", "ecsServices": [{"serviceName": "web", "clusterName": "main"}]}
        ]))
        .unwrap();
        assert_eq!(
            group_of(
                &groups,
                "arn:aws:ecs:us-east-1:123456789012:cluster/main",
                "web"
            )
            .unwrap()
            .deployment_group_name,
            "main"
        );
        assert!(group_of(&groups, "main", "api").is_none());
    }
}
