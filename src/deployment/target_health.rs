//! The health of the targets behind a service's target groups while it deploys: which groups to
//! ask, and one line per change of a target's state, with the load balancer's reason. Pure: the
//! answers of DescribeTargetHealth come in as data, the lines go out.

use std::collections::BTreeMap;

use crate::deployment::service::ServiceDescription;

/// One target of a target group, as DescribeTargetHealth reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetHealth {
    /// The target's ID (an IP address for awsvpc tasks, an instance ID otherwise).
    pub id: String,
    pub port: Option<i32>,
    /// `initial`, `healthy`, `unhealthy`, `unused`, `draining`, `unavailable`, …
    pub state: String,
    /// The load balancer's reason code, e.g. `Target.ResponseCodeMismatch`.
    pub reason: Option<String>,
    pub description: Option<String>,
}

impl TargetHealth {
    fn name(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.id),
            None => self.id.clone(),
        }
    }

    fn is_failing(&self) -> bool {
        matches!(self.state.as_str(), "unhealthy" | "unavailable")
    }

    /// `unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [404])`.
    fn condition(&self) -> String {
        match (&self.reason, &self.description) {
            (Some(reason), Some(description)) => {
                format!("{} ({reason}: {description})", self.state)
            }
            (Some(reason), None) => format!("{} ({reason})", self.state),
            (None, Some(description)) => format!("{} ({description})", self.state),
            (None, None) => self.state.clone(),
        }
    }
}

/// The target groups a service's tasks register with: each load balancer's group, the alternate
/// group of an ECS-native blue/green pair, and the groups of the service's task sets (CodeDeploy
/// puts its replacement task set behind the other group). In order, each once.
#[must_use]
pub fn target_groups(service: &ServiceDescription) -> Vec<String> {
    let load_balancers = service.placement.load_balancers.iter().chain(
        service
            .task_sets
            .iter()
            .flat_map(|task_set| &task_set.placement.load_balancers),
    );
    let mut groups: Vec<String> = Vec::new();
    for load_balancer in load_balancers {
        let alternate = load_balancer
            .advanced_configuration
            .as_ref()
            .and_then(|advanced| advanced.alternate_target_group_arn.as_ref());
        for arn in load_balancer.target_group_arn.iter().chain(alternate) {
            if !groups.contains(arn) {
                groups.push(arn.clone());
            }
        }
    }
    groups
}

/// `web-green` from `arn:aws:elasticloadbalancing:…:targetgroup/web-green/0123456789abcdef`.
#[must_use]
pub fn group_name(arn: &str) -> &str {
    arn.split_once(":targetgroup/")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or(arn)
}

/// The order states are counted in: the ones that matter for a deployment first.
const STATE_ORDER: [&str; 6] = [
    "healthy",
    "initial",
    "unhealthy",
    "unavailable",
    "draining",
    "unused",
];

/// `2 healthy, 1 initial`, or `none`: a group's targets counted by state.
fn summary(targets: &[TargetHealth]) -> String {
    let mut counts: BTreeMap<(usize, &str), usize> = BTreeMap::new();
    for target in targets {
        let rank = STATE_ORDER
            .iter()
            .position(|state| *state == target.state)
            .unwrap_or(STATE_ORDER.len());
        *counts.entry((rank, target.state.as_str())).or_default() += 1;
    }
    if counts.is_empty() {
        return "none".to_owned();
    }
    counts
        .iter()
        .map(|((_, state), count)| format!("{count} {state}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What has been seen of the targets so far, to say only what changed: a group's count of
/// targets by state when it changes (one line however many tasks the service runs), and each
/// target that starts failing its health checks, with the load balancer's reason.
#[derive(Debug, Default)]
pub struct HealthLog {
    /// The last summary of each group, by name.
    summaries: BTreeMap<String, String>,
    /// The last failing condition said of each (group, target), so it is said once.
    said: BTreeMap<(String, String), String>,
    /// The last failing condition of each (group, target), kept after the target is gone: a
    /// circuit breaker deregisters the failed tasks before the deployment is reported failed.
    failing: BTreeMap<(String, String), String>,
}

impl HealthLog {
    /// The lines for one look at the group `arn`: its targets counted by state, if that changed
    /// (always on the first look), then each target newly failing, or failing for a new reason.
    pub fn observe(&mut self, arn: &str, targets: &[TargetHealth]) -> Vec<String> {
        let name = group_name(arn);
        let mut lines = Vec::new();
        let counted = summary(targets);
        if self.summaries.get(name) != Some(&counted) {
            lines.push(format!("targets in `{name}`: {counted}"));
            self.summaries.insert(name.to_owned(), counted);
        }
        for target in targets {
            let key = (name.to_owned(), target.name());
            if target.is_failing() {
                let condition = target.condition();
                if self.said.get(&key) != Some(&condition) {
                    lines.push(format!("target `{}` in `{name}`: {condition}", key.1));
                    self.said.insert(key.clone(), condition.clone());
                }
                self.failing.insert(key, condition);
            } else {
                self.said.remove(&key);
                if target.state == "healthy" {
                    self.failing.remove(&key);
                }
            }
        }
        lines
    }

    /// One line per target whose last state seen was failing, for the summary of a failed
    /// deployment.
    #[must_use]
    pub fn failures(&self) -> Vec<String> {
        self.failing
            .iter()
            .map(|((group, target), condition)| {
                format!("target `{target}` in `{group}` was {condition}")
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const BLUE: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/0123456789abcdef";
    const GREEN: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/fedcba9876543210";

    fn target(
        id: &str,
        state: &str,
        reason: Option<&str>,
        description: Option<&str>,
    ) -> TargetHealth {
        TargetHealth {
            id: id.to_owned(),
            port: Some(8080),
            state: state.to_owned(),
            reason: reason.map(ToOwned::to_owned),
            description: description.map(ToOwned::to_owned),
        }
    }

    #[test]
    fn target_groups_come_from_the_service_the_alternate_and_task_sets_once_each() {
        let service: ServiceDescription = serde_json::from_value(json!({
            "loadBalancers": [{
                "targetGroupArn": BLUE, "containerName": "web", "containerPort": 8080,
                "advancedConfiguration": {"alternateTargetGroupArn": GREEN}
            }],
            "taskSets": [
                {"id": "ecs-svc/1", "status": "PRIMARY", "loadBalancers": [{"targetGroupArn": BLUE}]},
                {"id": "ecs-svc/2", "status": "ACTIVE", "loadBalancers": [{"targetGroupArn": GREEN}]}
            ]
        }))
        .unwrap();
        assert_eq!(target_groups(&service), [BLUE, GREEN]);
        assert!(target_groups(&ServiceDescription::default()).is_empty());
    }

    #[test]
    fn group_name_is_read_from_the_arn_and_anything_else_is_kept() {
        assert_eq!(group_name(GREEN), "web-green");
        assert_eq!(group_name("web-green"), "web-green");
    }

    #[test]
    fn each_look_says_the_counts_when_they_change_and_each_target_that_starts_failing() {
        let mut log = HealthLog::default();
        assert_eq!(log.observe(GREEN, &[]), ["targets in `web-green`: none"]);
        let first = log.observe(
            BLUE,
            &[
                target("10.0.1.5", "healthy", None, None),
                target(
                    "10.0.1.6",
                    "unhealthy",
                    Some("Target.Timeout"),
                    Some("Request timed out"),
                ),
            ],
        );
        assert_eq!(
            first,
            [
                "targets in `web-blue`: 1 healthy, 1 unhealthy",
                "target `10.0.1.6:8080` in `web-blue`: unhealthy (Target.Timeout: Request timed out)",
            ]
        );
        // The same again: nothing new.
        let same = log.observe(
            BLUE,
            &[
                target(
                    "10.0.1.6",
                    "unhealthy",
                    Some("Target.Timeout"),
                    Some("Request timed out"),
                ),
                target("10.0.1.5", "healthy", None, None),
            ],
        );
        assert!(same.is_empty(), "{same:?}");
        let second = log.observe(
            BLUE,
            &[
                target("10.0.1.5", "healthy", None, None),
                target(
                    "10.0.1.6",
                    "unhealthy",
                    Some("Target.ResponseCodeMismatch"),
                    Some("Health checks failed with these codes: [404]"),
                ),
                target(
                    "10.0.1.7",
                    "initial",
                    Some("Elb.RegistrationInProgress"),
                    None,
                ),
                target("10.0.1.8", "weird", None, None),
            ],
        );
        assert_eq!(
            second,
            [
                "targets in `web-blue`: 1 healthy, 1 initial, 1 unhealthy, 1 weird",
                "target `10.0.1.6:8080` in `web-blue`: unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [404])",
            ]
        );
        // A target that recovers and fails again is said again.
        log.observe(BLUE, &[target("10.0.1.6", "healthy", None, None)]);
        let again = log.observe(
            BLUE,
            &[target(
                "10.0.1.6",
                "unhealthy",
                Some("Target.ResponseCodeMismatch"),
                Some("Health checks failed with these codes: [404]"),
            )],
        );
        assert_eq!(
            again,
            [
                "targets in `web-blue`: 1 unhealthy",
                "target `10.0.1.6:8080` in `web-blue`: unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [404])",
            ]
        );
    }

    #[test]
    fn failures_outlive_the_targets_and_clear_when_a_target_recovers() {
        let mut log = HealthLog::default();
        log.observe(GREEN, &[target("10.0.2.1", "initial", None, None)]);
        log.observe(
            GREEN,
            &[
                target(
                    "10.0.2.1",
                    "unhealthy",
                    Some("Target.FailedHealthChecks"),
                    None,
                ),
                target("10.0.2.2", "unhealthy", Some("Target.Timeout"), None),
            ],
        );
        log.observe(GREEN, &[target("10.0.2.2", "healthy", None, None)]);
        assert_eq!(
            log.failures(),
            ["target `10.0.2.1:8080` in `web-green` was unhealthy (Target.FailedHealthChecks)"]
        );
    }
}
