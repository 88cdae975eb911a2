//! `bgtool deploy`, `wait` and `rollback` against a scripted ECS on loopback: a small server that
//! speaks the ECS JSON protocol and moves a service through the states a scenario scripts (a
//! deployment that completes, fails with stopped tasks, runs out of time, is interrupted, or
//! meets one already running). moto keeps no deployment state, so it cannot play these; the
//! ECS-native pipeline test in `reference_files.rs` runs `deploy` against moto.
//! Every scenario checks the exit status, the lines printed and the calls made.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::faults::read_request;
use crate::harness::{Run, assert_failed, aws_on_moto, bgtool_on, fixture, run};

const REGISTERED: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2";
const PREVIOUS: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1";
const SERVICE_DEPLOYMENT: &str =
    "arn:aws:ecs:us-east-1:123456789012:service-deployment/main/web/aBcD1234";

fn deployment(id: &str, status: &str, task_definition: &str, rollout: &str, running: u32) -> Value {
    json!({
        "id": id, "status": status, "taskDefinition": task_definition,
        "desiredCount": 2, "runningCount": running, "pendingCount": 2 - running, "failedTasks": 0,
        "rolloutState": rollout, "rolloutStateReason": format!("ECS deployment {id} {rollout}.")
    })
}

fn service(controller: &str, deployments: Value, events: Value) -> Value {
    let mut service = json!({
        "serviceName": "web", "status": "ACTIVE",
        "deploymentController": {"type": controller},
        "deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0}
    });
    service["deployments"] = deployments;
    service["events"] = events;
    service
}

fn event(id: &str, message: &str) -> Value {
    json!({"id": id, "message": message})
}

/// The service settled on web:1, as it is before every scenario.
fn settled_on_previous() -> Value {
    service(
        "ECS",
        json!([deployment(
            "ecs-svc/old",
            "PRIMARY",
            PREVIOUS,
            "COMPLETED",
            2
        )]),
        json!([event("e0", "(service web) has reached a steady state.")]),
    )
}

/// The service after a rollback: settled on web:1 again.
fn back_on_previous() -> Value {
    service(
        "ECS",
        json!([deployment(
            "ecs-svc/rollback",
            "PRIMARY",
            PREVIOUS,
            "COMPLETED",
            2
        )]),
        json!([]),
    )
}

/// The service while web:2 deploys, `running` of 2 tasks up.
fn deploying(rollout: &str, running: u32, events: Value) -> Value {
    service(
        "ECS",
        json!([
            deployment("ecs-svc/new", "PRIMARY", REGISTERED, rollout, running),
            deployment("ecs-svc/old", "ACTIVE", PREVIOUS, "COMPLETED", 2)
        ]),
        events,
    )
}

/// What a scenario's ECS does. DescribeServices answers `before` (one per call, the last
/// repeating) until UpdateService, then `after` (likewise) until a rollback, then `rolled_back`
/// (likewise).
#[derive(Default)]
struct Script {
    before: Vec<Value>,
    after: Vec<Value>,
    rolled_back: Vec<Value>,
    /// DescribeServices calls after UpdateService answered with ThrottlingException first.
    throttled_looks: usize,
    stopped_tasks: Vec<Value>,
    /// ECS: the lifecycle stage DescribeServiceDeployments gives at each call, the last
    /// repeating; none means ECS lists no service deployment.
    stages: Vec<&'static str>,
    /// ECS: the `lifecycleHookDetails` DescribeServiceDeployments gives with each stage, the last
    /// repeating; none gives none.
    hook_details: Vec<Value>,
    /// ECS: after StopServiceDeployment, the status (and reason) DescribeServiceDeployments gives
    /// at each call, the last repeating; none means it describes no service deployment then.
    rollback_statuses: Vec<(&'static str, Option<&'static str>)>,
    /// CodeDeploy: ListDeployments' answer, before CreateDeployment.
    running: Vec<&'static str>,
    /// CodeDeploy: successive (deploymentInfo, ecsTarget) answers per deployment ID, the last
    /// repeating. `d-NEW` is what CreateDeployment makes.
    deployments: Vec<(&'static str, Vec<(Value, Value)>)>,
    /// Elastic Load Balancing: per target group name, the targets DescribeTargetHealth gives at
    /// each call, the last repeating; a group not named has no targets.
    target_health: Vec<(&'static str, Vec<Value>)>,
    /// DescribeTargetHealth answers AccessDenied.
    target_health_denied: bool,
    /// An identity policy every call is authorized against (AccessDenied otherwise), as IAM
    /// would: actions and resource ARNs per the Service Authorization Reference.
    policy: Option<Value>,
    /// CodeDeploy: the applications and their groups in the account; default `other` and `web`,
    /// one group each, named after the application.
    applications: Vec<(&'static str, Vec<&'static str>)>,
    /// CodeDeploy: group `web` waits this many minutes for a go-ahead before traffic moves, and
    /// stops the deployment without one (STOP_DEPLOYMENT); none moves traffic at once.
    ready_wait: Option<u64>,
    /// verify: the actions IAM's policy simulator says the execution role may not do.
    simulator_denies: Vec<&'static str>,
    /// verify: the architecture in the image's config blob; default `amd64`.
    image_architecture: Option<&'static str>,
    /// Elastic Load Balancing: the production listener rule's (target group name, weight) pairs
    /// DescribeRules gives at each call, the last repeating.
    rule_weights: Vec<Vec<(&'static str, u64)>>,
    /// CloudWatch Logs: what the hook functions logged; FilterLogEvents gives the messages that
    /// hold its term.
    hook_log: Vec<&'static str>,
    /// CloudWatch: GetMetricData's answer at each call, the last repeating: per side (`green`,
    /// `blue`), `[requests, 5xx, p99 seconds]`; a side without values answers no data points.
    metrics: Vec<Value>,
}

#[derive(Default)]
struct State {
    script: Script,
    /// `http://ADDRESS`: where GetDownloadUrlForLayer points an image's config blob.
    base_url: String,
    /// UpdateService (ECS) or CreateDeployment (CodeDeploy) has been called.
    updated: bool,
    /// StopServiceDeployment (ECS) or StopDeployment (CodeDeploy) has been called.
    rolled_back: bool,
    looks_before: usize,
    looks_after: usize,
    looks_rolled_back: usize,
    throttled: usize,
    calls: Vec<(String, Value)>,
    code_deploy_looks: std::collections::HashMap<String, usize>,
    stage_looks: usize,
    rollback_looks: usize,
    rule_looks: usize,
    metric_looks: usize,
    health_looks: std::collections::HashMap<String, usize>,
    /// The messages of the AccessDenied answers given under `Script::policy`.
    denied: Vec<String>,
}

fn nth(list: &[Value], index: usize) -> Value {
    list.get(index.min(list.len().saturating_sub(1)))
        .cloned()
        .unwrap_or(Value::Null)
}

impl State {
    /// AccessDenied, when the script's policy does not allow every authorization of the call.
    fn refusal(&self, action: &str, body: &Value) -> Option<Value> {
        let policy = self.script.policy.as_ref()?;
        // Every scripted deployment is one of group `web`/`web`.
        crate::iam::authorizations(action, body, |_| "web/web".to_owned())
            .iter()
            .find(|needed| !crate::iam::allows(policy, needed))
            .map(|needed| {
                let mut refused = crate::iam::denied(needed);
                // The Query-protocol services name it so.
                if matches!(
                    action,
                    "DescribeTargetHealth"
                        | "DescribeTargetGroups"
                        | "DescribeRules"
                        | "GetMetricData"
                        | "GetRole"
                        | "SimulatePrincipalPolicy"
                ) {
                    refused["__type"] = "AccessDenied".into();
                }
                refused
            })
    }

    fn applications(&self) -> Vec<(&'static str, Vec<&'static str>)> {
        if self.script.applications.is_empty() {
            vec![("other", vec!["other"]), ("web", vec!["web"])]
        } else {
            self.script.applications.clone()
        }
    }

    fn answer(&mut self, action: &str, body: &Value) -> (u16, Value) {
        match action {
            "DescribeServices" => {
                let current = if self.rolled_back {
                    self.looks_rolled_back += 1;
                    nth(&self.script.rolled_back, self.looks_rolled_back - 1)
                } else if self.updated && !self.script.after.is_empty() {
                    if self.throttled < self.script.throttled_looks {
                        self.throttled += 1;
                        return (
                            400,
                            json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
                        );
                    }
                    self.looks_after += 1;
                    nth(&self.script.after, self.looks_after - 1)
                } else {
                    self.looks_before += 1;
                    nth(&self.script.before, self.looks_before - 1)
                };
                (200, json!({"services": [current], "failures": []}))
            }
            "RegisterTaskDefinition" => {
                let mut registered = body.clone();
                registered["taskDefinitionArn"] = REGISTERED.into();
                registered["revision"] = 2.into();
                registered["status"] = "ACTIVE".into();
                registered.as_object_mut().unwrap().remove("tags");
                (
                    200,
                    json!({"taskDefinition": registered, "tags": body["tags"]}),
                )
            }
            "DescribeTaskDefinition" => {
                let mut live: Value = serde_json::from_str(
                    &std::fs::read_to_string(fixture("deploy/taskdef.json")).unwrap(),
                )
                .unwrap();
                live["taskDefinitionArn"] = PREVIOUS.into();
                live["containerDefinitions"][0]["image"] = "repo/web:1".into();
                live["cpu"] = "256".into();
                (200, json!({"taskDefinition": live, "tags": []}))
            }
            "UpdateService" => {
                self.updated = true;
                (200, json!({"service": nth(&self.script.after, 0)}))
            }
            "ListTasks" => {
                let arns: Vec<Value> = self
                    .script
                    .stopped_tasks
                    .iter()
                    .map(|task| task["taskArn"].clone())
                    .collect();
                (200, json!({"taskArns": arns}))
            }
            "DescribeTasks" => (
                200,
                json!({"tasks": self.script.stopped_tasks, "failures": []}),
            ),
            "ListServiceDeployments" => (
                200,
                json!({"serviceDeployments": [
                    {"serviceDeploymentArn": SERVICE_DEPLOYMENT, "status": "IN_PROGRESS"}
                ]}),
            ),
            "DescribeServiceDeployments" => self.answer_service_deployments(),
            "StopServiceDeployment" => {
                self.rolled_back = true;
                (200, json!({"serviceDeploymentArn": SERVICE_DEPLOYMENT}))
            }
            "ContinueServiceDeployment" => {
                (200, json!({"serviceDeploymentArn": SERVICE_DEPLOYMENT}))
            }
            "DescribeTargetHealth" => self.answer_target_health(body),
            "DescribeRules" | "GetMetricData" => self.answer_traffic(action, body),
            "FilterLogEvents" => {
                let term = body["filterPattern"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_matches('"');
                let events: Vec<Value> = self
                    .script
                    .hook_log
                    .iter()
                    .filter(|message| message.contains(term))
                    .map(|message| json!({"logStreamName": "2026/12/06/[$LATEST]0", "message": message}))
                    .collect();
                (200, json!({"events": events}))
            }
            action if VERIFY_ACTIONS.contains(&action) => self.answer_verify(action, body),
            _ => self.answer_code_deploy(action, body),
        }
    }

    /// verify's checks, in a world where everything the fixture names exists and is allowed,
    /// except what `Script::simulator_denies` names.
    fn answer_verify(&self, action: &str, body: &Value) -> (u16, Value) {
        match action {
            "DescribeImages" => (
                200,
                json!({"imageDetails": [{"imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json"}]}),
            ),
            "BatchGetImage" => (
                200,
                json!({"images": [{"imageManifest": json!({
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2, "digest": CONFIG_DIGEST},
                    "layers": [],
                }).to_string()}], "failures": []}),
            ),
            "GetDownloadUrlForLayer" => (
                200,
                json!({
                    "downloadUrl": format!("{}/blobs/{}?X-Amz-Signature=0123abcd", self.base_url, body["layerDigest"].as_str().unwrap_or_default()),
                    "layerDigest": body["layerDigest"],
                }),
            ),
            "GetRole" => {
                let trust = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ecs-tasks.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
                (
                    200,
                    json!({"xml": format!(
                        "<Role><RoleName>{name}</RoleName><Arn>arn:aws:iam::123456789012:role/{name}</Arn><AssumeRolePolicyDocument>{trust}</AssumeRolePolicyDocument></Role>",
                        name = body["RoleName"].as_str().unwrap_or_default()
                    )}),
                )
            }
            "SimulatePrincipalPolicy" => {
                let form = body.as_object().unwrap();
                let listed = |prefix: &str| -> Vec<String> {
                    let mut values: Vec<(usize, String)> = form
                        .iter()
                        .filter_map(|(key, value)| {
                            let index = key.strip_prefix(prefix)?.parse().ok()?;
                            Some((index, value.as_str()?.to_owned()))
                        })
                        .collect();
                    values.sort();
                    values.into_iter().map(|(_, value)| value).collect()
                };
                let mut members = String::new();
                for action in listed("ActionNames.member.") {
                    for resource in listed("ResourceArns.member.") {
                        let decision = if self.script.simulator_denies.contains(&action.as_str()) {
                            "implicitDeny"
                        } else {
                            "allowed"
                        };
                        write!(
                            members,
                            "<member><EvalActionName>{action}</EvalActionName><EvalResourceName>{resource}</EvalResourceName><EvalDecision>{decision}</EvalDecision></member>"
                        )
                        .unwrap();
                    }
                }
                (
                    200,
                    json!({"xml": format!("<EvaluationResults>{members}</EvaluationResults><IsTruncated>false</IsTruncated>")}),
                )
            }
            // By ARN (verify, `--compare` on ECS) or by name (`--compare` on CodeDeploy).
            "DescribeTargetGroups" => {
                let fields = body.as_object().cloned().unwrap_or_default();
                let mut members = String::new();
                let named = fields.iter().filter(|(key, _)| {
                    key.starts_with("TargetGroupArns.member.") || key.starts_with("Names.member.")
                });
                for (_, value) in named {
                    let value = value.as_str().unwrap_or_default();
                    let name = value.split('/').nth(1).unwrap_or(value);
                    write!(
                        members,
                        "<member><TargetGroupArn>{}</TargetGroupArn><TargetGroupName>{name}</TargetGroupName><HealthCheckPort>traffic-port</HealthCheckPort><LoadBalancerArns><member>arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/fedcba9876543210</member></LoadBalancerArns></member>",
                        target_group_arn(name)
                    )
                    .unwrap();
                }
                (
                    200,
                    json!({"xml": format!("<TargetGroups>{members}</TargetGroups>")}),
                )
            }
            "DescribeLogGroups" => (
                200,
                json!({"logGroups": [{"logGroupName": body["logGroupNamePrefix"]}]}),
            ),
            "DescribeParameters" => (200, json!({"Parameters": [{"Name": "present"}]})),
            "DescribeSecret" => (
                200,
                json!({"ARN": body["SecretId"], "VersionIdsToStages": {"v1": ["AWSCURRENT"]}}),
            ),
            other => (
                400,
                json!({"__type": "InvalidAction", "message": format!("not scripted: {other}")}),
            ),
        }
    }

    /// ECS's DescribeServiceDeployments: the lifecycle stages while deploying, the rollback's
    /// statuses once stopped.
    fn answer_service_deployments(&mut self) -> (u16, Value) {
        if self.rolled_back {
            let Some(last) = self.script.rollback_statuses.len().checked_sub(1) else {
                return (200, json!({"serviceDeployments": [], "failures": []}));
            };
            self.rollback_looks += 1;
            let (status, reason) =
                self.script.rollback_statuses[(self.rollback_looks - 1).min(last)];
            return (
                200,
                json!({"serviceDeployments": [{
                        "serviceDeploymentArn": SERVICE_DEPLOYMENT, "status": status,
                        "statusReason": reason
                    }], "failures": []}),
            );
        }
        if self.script.stages.is_empty() {
            return (200, json!({"serviceDeployments": [], "failures": []}));
        }
        self.stage_looks += 1;
        let stage = self.script.stages[(self.stage_looks - 1).min(self.script.stages.len() - 1)];
        let hooks = if self.script.hook_details.is_empty() {
            json!([])
        } else {
            nth(&self.script.hook_details, self.stage_looks - 1)
        };
        (
            200,
            json!({"serviceDeployments": [{
                        "serviceDeploymentArn": SERVICE_DEPLOYMENT, "status": "IN_PROGRESS",
                        "lifecycleStage": stage, "deploymentConfiguration": {"bakeTimeInMinutes": 5},
                        "lifecycleHookDetails": hooks
                    }], "failures": []}),
        )
    }

    /// `--compare`'s reads: the production listener rule's weights (Elastic Load Balancing's
    /// DescribeRules) and the groups' metrics (CloudWatch's GetMetricData), per the script.
    fn answer_traffic(&mut self, action: &str, body: &Value) -> (u16, Value) {
        let mut members = String::new();
        if action == "DescribeRules" {
            self.rule_looks += 1;
            let rules = &self.script.rule_weights;
            let weights = rules
                .get((self.rule_looks - 1).min(rules.len().saturating_sub(1)))
                .cloned()
                .unwrap_or_default();
            for (name, weight) in weights {
                write!(
                    members,
                    "<member><TargetGroupArn>{}</TargetGroupArn><Weight>{weight}</Weight></member>",
                    target_group_arn(name)
                )
                .unwrap();
            }
            let rule = body["RuleArns.member.1"].as_str().unwrap_or_default();
            return (
                200,
                json!({"xml": format!("<Rules><member><RuleArn>{rule}</RuleArn><Actions><member><Type>forward</Type><ForwardConfig><TargetGroups>{members}</TargetGroups></ForwardConfig></member></Actions></member></Rules>")}),
            );
        }
        self.metric_looks += 1;
        let answer = nth(&self.script.metrics, self.metric_looks - 1);
        for side in ["green", "blue"] {
            for (index, metric) in ["requests", "errors", "latency"].iter().enumerate() {
                let values = answer[side][index]
                    .as_f64()
                    .map(|value| format!("<member>{value}</member>"))
                    .unwrap_or_default();
                write!(members, "<member><Id>{side}_{metric}</Id><StatusCode>Complete</StatusCode><Values>{values}</Values></member>").unwrap();
            }
        }
        (
            200,
            json!({"xml": format!("<MetricDataResults>{members}</MetricDataResults>")}),
        )
    }

    /// Elastic Load Balancing's DescribeTargetHealth, per target group name.
    fn answer_target_health(&mut self, body: &Value) -> (u16, Value) {
        if self.script.target_health_denied {
            return (
                403,
                json!({"__type": "AccessDenied", "message": "User is not authorized to perform: elasticloadbalancing:DescribeTargetHealth"}),
            );
        }
        let arn = body["TargetGroupArn"].as_str().unwrap_or_default();
        let name = arn.split('/').nth(1).unwrap_or_default().to_owned();
        let Some((_, looks)) = self
            .script
            .target_health
            .iter()
            .find(|(group, _)| *group == name)
        else {
            return (200, json!([]));
        };
        let counter = self.health_looks.entry(name).or_insert(0);
        *counter += 1;
        (200, nth(looks, *counter - 1))
    }

    fn code_deploy_look(&mut self, id: &str, advance: bool) -> Option<(Value, Value)> {
        if self.rolled_back && id == "d-NEW" {
            return Some((
                json!({"deploymentId": "d-NEW", "status": "Stopped",
                       "rollbackInfo": {"rollbackDeploymentId": "d-ROLLBACK"}}),
                json!({}),
            ));
        }
        let looks = self
            .script
            .deployments
            .iter()
            .find(|(name, _)| *name == id)
            .map(|(_, looks)| looks.clone())?;
        let counter = self.code_deploy_looks.entry(id.to_owned()).or_insert(0);
        if advance {
            *counter += 1;
        }
        let index = counter.saturating_sub(1).min(looks.len() - 1);
        looks.get(index).cloned()
    }

    fn answer_code_deploy(&mut self, action: &str, body: &Value) -> (u16, Value) {
        let id = body["deploymentId"].as_str().unwrap_or_default().to_owned();
        match action {
            "ListApplications" => {
                let names: Vec<&str> = self.applications().iter().map(|(name, _)| *name).collect();
                (200, json!({"applications": names}))
            }
            "ListDeploymentGroups" => {
                let groups = self
                    .applications()
                    .into_iter()
                    .find(|(name, _)| body["applicationName"] == *name)
                    .map(|(_, groups)| groups)
                    .unwrap_or_default();
                (
                    200,
                    json!({"applicationName": body["applicationName"], "deploymentGroups": groups}),
                )
            }
            "GetDeploymentGroup" => (
                200,
                json!({"deploymentGroupInfo": group_info(
                    body["applicationName"].as_str().unwrap(),
                    body["deploymentGroupName"].as_str().unwrap(),
                    self.script.ready_wait,
                )}),
            ),
            "BatchGetDeploymentGroups" => {
                let application = body["applicationName"].as_str().unwrap();
                let groups: Vec<Value> = body["deploymentGroupNames"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|name| {
                        group_info(application, name.as_str().unwrap(), self.script.ready_wait)
                    })
                    .collect();
                (200, json!({"deploymentGroupsInfo": groups}))
            }
            "GetDeploymentConfig" => (
                200,
                json!({"deploymentConfigInfo": {
                    "deploymentConfigName": body["deploymentConfigName"], "computePlatform": "ECS",
                    "trafficRoutingConfig": {"type": "AllAtOnce"}
                }}),
            ),
            "ListDeployments" => {
                let running = if self.updated {
                    Vec::new()
                } else {
                    self.script.running.clone()
                };
                (200, json!({"deployments": running}))
            }
            "CreateDeployment" => {
                self.updated = true;
                (200, json!({"deploymentId": "d-NEW"}))
            }
            "GetDeployment" => match self.code_deploy_look(&id, true) {
                Some((info, _)) => (200, json!({"deploymentInfo": info})),
                None => (
                    400,
                    json!({"__type": "DeploymentDoesNotExistException", "message": id}),
                ),
            },
            "ListDeploymentTargets" => (200, json!({"targetIds": ["main:web"]})),
            "GetDeploymentTarget" => {
                let target = self
                    .code_deploy_look(&id, false)
                    .map(|(_, target)| target)
                    .unwrap_or_default();
                (
                    200,
                    json!({"deploymentTarget": {"deploymentTargetType": "ECSTarget", "ecsTarget": target}}),
                )
            }
            "ContinueDeployment" => (200, json!({})),
            "StopDeployment" => {
                self.rolled_back = true;
                (
                    200,
                    json!({"status": "Pending", "statusMessage": "stopping"}),
                )
            }
            _ => (
                400,
                json!({"__type": "InvalidParameterException", "message": format!("not scripted: {action}")}),
            ),
        }
    }
}

/// A deployment group as GetDeploymentGroup describes it: group `web` of application `web`
/// deploys service `web` of cluster `main`; every other group deploys a `web` of cluster
/// `staging`, another team's.
fn group_info(application: &str, group: &str, ready_wait: Option<u64>) -> Value {
    let cluster = if application == "web" && group == "web" {
        "main"
    } else {
        "staging"
    };
    let ready = ready_wait.map_or_else(
        || json!({"actionOnTimeout": "CONTINUE_DEPLOYMENT"}),
        |minutes| json!({"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": minutes}),
    );
    json!({
        "applicationName": application,
        "deploymentGroupName": group,
        "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
        "ecsServices": [{"serviceName": "web", "clusterName": cluster}],
        "blueGreenDeploymentConfiguration": {
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5},
            "deploymentReadyOption": ready
        }
    })
}

/// The bodies of the calls of `action`, in order.
fn calls_of(server: &ScriptedEcs, action: &str) -> Vec<Value> {
    server
        .calls()
        .into_iter()
        .filter(|(name, _)| name == action)
        .map(|(_, body)| body)
        .collect()
}

/// The ARN of target group `name`, as the scripted load balancer names its groups.
fn target_group_arn(name: &str) -> String {
    format!(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{name}/0123456789abcdef"
    )
}

/// The fields of a form-encoded (Query protocol) request, as a JSON object.
fn form_fields(body: &[u8]) -> Value {
    let decode = |text: &str| {
        let bytes = text.replace('+', " ").into_bytes();
        let mut decoded = Vec::new();
        let mut index = 0;
        while index < bytes.len() {
            if bytes[index] == b'%' && index + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap();
                decoded.push(u8::from_str_radix(hex, 16).unwrap());
                index += 3;
            } else {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
        String::from_utf8(decoded).unwrap()
    };
    let text = String::from_utf8_lossy(body);
    let fields: serde_json::Map<String, Value> = text
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (decode(key), Value::String(decode(value))))
        .collect();
    Value::Object(fields)
}

/// A Query-protocol (XML) answer: an error, a result given as XML (`{"xml": …}`), or
/// DescribeTargetHealth's targets.
fn query_xml(action: &str, reply: &Value) -> String {
    if let Some(code) = reply["__type"].as_str() {
        return format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>0</RequestId></ErrorResponse>",
            reply["message"].as_str().unwrap_or_default()
        );
    }
    if let Some(result) = reply["xml"].as_str() {
        return format!(
            "<{action}Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></{action}Response>"
        );
    }
    let mut members = String::new();
    for target in reply.as_array().into_iter().flatten() {
        let optional = |name: &str, field: &str| {
            target[field]
                .as_str()
                .map(|value| format!("<{name}>{value}</{name}>"))
                .unwrap_or_default()
        };
        write!(
            members,
            "<member><Target><Id>{}</Id><Port>{}</Port></Target><TargetHealth><State>{}</State>{}{}</TargetHealth></member>",
            target["id"].as_str().unwrap(),
            target["port"],
            target["state"].as_str().unwrap(),
            optional("Reason", "reason"),
            optional("Description", "description"),
        )
        .unwrap();
    }
    format!(
        "<{action}Response xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><{action}Result><TargetHealthDescriptions>{members}</TargetHealthDescriptions></{action}Result><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></{action}Response>"
    )
}

/// A scripted ECS endpoint on loopback.
struct ScriptedEcs {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl ScriptedEcs {
    fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            script,
            base_url: format!("http://{address}"),
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some((headers, body)) = read_request(&mut stream) else {
                    continue;
                };
                // An image's config blob, from the presigned URL GetDownloadUrlForLayer gave:
                // S3's side, where the signature is in the URL.
                if headers.starts_with("get /blobs/") {
                    let config = {
                        let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
                        state.calls.push(("GetConfigBlob".to_owned(), Value::Null));
                        json!({"architecture": state.script.image_architecture.unwrap_or("amd64"), "os": "linux"})
                            .to_string()
                    };
                    let _ = std::io::Write::write_all(
                        &mut stream,
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{config}",
                            config.len()
                        )
                        .as_bytes(),
                    );
                    continue;
                }
                let target = headers
                    .lines()
                    .find_map(|line| line.strip_prefix("x-amz-target:"))
                    .and_then(|target| target.trim().rsplit('.').next());
                // ECS and CodeDeploy name the action in a header (JSON protocol); Elastic Load
                // Balancing in the form it posts (Query protocol).
                let (action, body) = if let Some(action) = target {
                    (
                        action.to_owned(),
                        serde_json::from_slice(&body).unwrap_or(Value::Null),
                    )
                } else {
                    let form = form_fields(&body);
                    (form["Action"].as_str().unwrap_or_default().to_owned(), form)
                };
                // Headers come lowercased; the action names are matched in ECS's own casing.
                let action = ACTIONS
                    .iter()
                    .chain(&VERIFY_ACTIONS)
                    .find(|name| name.eq_ignore_ascii_case(&action))
                    .map_or(action, |name| (*name).to_owned());
                let (status, reply) = {
                    let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
                    state.calls.push((action.clone(), body.clone()));
                    match state.refusal(&action, &body) {
                        Some(refused) => {
                            state
                                .denied
                                .push(refused["message"].as_str().unwrap().to_owned());
                            (400, refused)
                        }
                        None => state.answer(&action, &body),
                    }
                };
                let (content_type, text) = if target.is_some() {
                    ("application/x-amz-json-1.1", reply.to_string())
                } else {
                    ("text/xml", query_xml(&action, &reply))
                };
                let error_type = reply["__type"]
                    .as_str()
                    .map(|kind| format!("x-amzn-ErrorType: {kind}\r\n"))
                    .unwrap_or_default();
                let _ = std::io::Write::write_all(
                    &mut stream,
                    format!(
                        "HTTP/1.1 {status} Status\r\nContent-Type: {content_type}\r\nx-amzn-RequestId: 0\r\n{error_type}Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
                        text.len()
                    )
                    .as_bytes(),
                );
            }
        });
        Self { address, state }
    }

    fn calls(&self) -> Vec<(String, Value)> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .calls
            .clone()
    }

    /// The AccessDenied messages the script's policy answered with.
    fn denied(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .denied
            .clone()
    }

    /// The deployment's calls, in order (without verify's).
    fn actions(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .map(|(action, _)| action)
            .filter(|action| !VERIFY_ACTIONS.contains(&action.as_str()))
            .collect()
    }

    /// verify's calls, sorted: they run concurrently, so their order is not fixed.
    fn verify_actions(&self) -> Vec<String> {
        let mut actions: Vec<String> = self
            .calls()
            .into_iter()
            .map(|(action, _)| action)
            .filter(|action| VERIFY_ACTIONS.contains(&action.as_str()))
            .collect();
        actions.sort();
        actions
    }

    fn command(&self, arguments: &[&str]) -> Command {
        let mut command = bgtool_on(&format!("http://{}", self.address));
        command.args(arguments);
        command
    }

    /// `bgtool SUBCOMMAND --cluster main --service web`, looking every 50 ms.
    fn on_web(&self, subcommand: &str, extra: &[&str]) -> Run {
        let mut arguments = vec![
            subcommand,
            "--cluster",
            "main",
            "--service",
            "web",
            "--poll-interval",
            "0.05",
        ];
        arguments.extend_from_slice(extra);
        run(&mut self.command(&arguments))
    }

    /// `bgtool deploy` of the fixture task definition, looking every 50 ms.
    fn deploy(&self, extra: &[&str]) -> (Run, Duration) {
        let started = Instant::now();
        let result = run(&mut self.deploy_command(extra));
        (result, started.elapsed())
    }

    /// The command [`Self::deploy`] runs, for a test that adds to its environment.
    fn deploy_command(&self, extra: &[&str]) -> Command {
        let taskdef = fixture("deploy/taskdef.json");
        let mut arguments = vec![
            "deploy",
            "--cluster",
            "main",
            "--service",
            "web",
            "--taskdef",
            taskdef.to_str().unwrap(),
            "--image",
            "app=123456789012.dkr.ecr.us-east-1.amazonaws.com/web:3f2a1c9d8e7b",
            "--poll-interval",
            "0.05",
        ];
        arguments.extend_from_slice(extra);
        self.command(&arguments)
    }
}

/// The digest of the config blob of every scripted image.
const CONFIG_DIGEST: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000001";

/// The read-only calls of `bgtool verify`, which `deploy` makes first: [`ScriptedEcs::actions`]
/// leaves them out, so each test's list is the deployment's own; [`ScriptedEcs::verify_actions`]
/// has them.
const VERIFY_ACTIONS: [&str; 11] = [
    "DescribeImages",
    "BatchGetImage",
    "GetDownloadUrlForLayer",
    // Not an AWS action: the GET of the config blob's presigned URL.
    "GetConfigBlob",
    "GetRole",
    "SimulatePrincipalPolicy",
    "DescribeSecret",
    "GetSecretValue",
    "DescribeParameters",
    "DescribeLogGroups",
    "DescribeTargetGroups",
];

const ACTIONS: [&str; 27] = [
    "DescribeTargetHealth",
    "FilterLogEvents",
    "DescribeRules",
    "GetMetricData",
    "ContinueServiceDeployment",
    "ContinueDeployment",
    "BatchGetDeploymentGroups",
    "DescribeServiceDeployments",
    "ListApplications",
    "ListDeploymentGroups",
    "GetDeploymentGroup",
    "GetDeploymentConfig",
    "ListDeployments",
    "CreateDeployment",
    "GetDeployment",
    "ListDeploymentTargets",
    "GetDeploymentTarget",
    "StopDeployment",
    "StopServiceDeployment",
    "DescribeServices",
    "RegisterTaskDefinition",
    "DescribeTaskDefinition",
    "UpdateService",
    "ListTasks",
    "DescribeTasks",
    "ListServiceDeployments",
    "DeregisterTaskDefinition",
];

/// `until about HH:MM:SS UTC` is wall-clock time: checked for its shape, then masked, so the
/// snapshots hold still.
fn mask_clock(text: &str) -> String {
    let mut masked = String::new();
    let mut rest = text;
    while let Some((before, after)) = rest.split_once("until about ") {
        let clock = after.get(..8).unwrap_or_default();
        assert!(
            clock
                .bytes()
                .enumerate()
                .all(|(index, byte)| if index % 3 == 2 {
                    byte == b':'
                } else {
                    byte.is_ascii_digit()
                })
                && after[8..].starts_with(" UTC"),
            "{after}"
        );
        masked.push_str(before);
        masked.push_str("until about HH:MM:SS");
        rest = &after[8..];
    }
    masked.push_str(rest);
    masked
}

fn assert_lines(stderr: &str, expected: &[&str]) {
    for line in expected {
        assert!(stderr.contains(line), "missing {line:?} in:\n{stderr}");
    }
}

/// verify ran first, on the revision about to be registered: its image and its architecture
/// (from the config blob), both roles, and whether the execution role may log in to ECR and
/// pull it.
fn assert_verified_first(server: &ScriptedEcs) {
    let calls = server.calls();
    let first_registration = calls
        .iter()
        .position(|(action, _)| action == "RegisterTaskDefinition")
        .unwrap();
    assert!(
        calls[..first_registration]
            .iter()
            .any(|(action, body)| action == "DescribeImages"
                && body["imageIds"][0]["imageTag"] == "3f2a1c9d8e7b"),
        "{:?}",
        server.verify_actions()
    );
    assert_eq!(
        server.verify_actions(),
        [
            "BatchGetImage",
            "DescribeImages",
            "GetConfigBlob",
            "GetDownloadUrlForLayer",
            "GetRole",
            "GetRole",
            "SimulatePrincipalPolicy",
            "SimulatePrincipalPolicy"
        ]
    );
}

/// No scenario may deregister a task definition, and only rollbacks stop deployments.
fn assert_never_deregisters(server: &ScriptedEcs) {
    assert!(
        !server
            .actions()
            .iter()
            .any(|action| action == "DeregisterTaskDefinition"),
        "{:?}",
        server.actions()
    );
}

/// RegisterTaskDefinition got taskdef.json as written, a field this SDK has no type for included,
/// with the image set.
fn assert_registered_as_written(registered: &Value) {
    assert_eq!(registered["aFieldEcsAddsTomorrow"], json!({"kept": true}));
    assert_eq!(
        registered["tags"],
        json!([{"key": "team", "value": "payments"}])
    );
    assert_eq!(
        registered["containerDefinitions"][0]["environment"][1],
        json!({"name": "EMPTY", "value": ""})
    );
    assert_eq!(
        registered["containerDefinitions"][0]["image"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:3f2a1c9d8e7b"
    );
}

#[test]
fn a_deployment_is_registered_started_and_followed_to_completion() {
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        after: vec![
            deploying("IN_PROGRESS", 0, json!([event("e0", "old")])),
            deploying(
                "IN_PROGRESS",
                1,
                json!([
                    event("e1", "(service web) has started 1 tasks: (task 0123abcd)."),
                    event("e0", "old")
                ]),
            ),
            deploying(
                "COMPLETED",
                2,
                json!([event("e1", "started"), event("e0", "old")]),
            ),
        ],
        stages: vec!["SCALE_UP", "BAKE_TIME"],
        ..Script::default()
    });
    let (result, elapsed) = server.deploy(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(
        result.stdout,
        format!("{REGISTERED}\n"),
        "stdout: the ARN only"
    );
    assert_lines(
        &result.stderr,
        &[
            "bgtool: note: container `app` image set to `123456789012.dkr.ecr.us-east-1.amazonaws.com/web:3f2a1c9d8e7b`",
            &format!("bgtool: note: registered `{REGISTERED}`"),
            "bgtool: note: watching deployment `ecs-svc/new` for up to 30 min, every 0.05 s",
            "bgtool: deploy: deployment `ecs-svc/new` IN_PROGRESS: 0/2 running, 2 pending, 0 failed",
            "bgtool: deploy: event: (service web) has started 1 tasks: (task 0123abcd).",
            "bgtool: deploy: deployment `ecs-svc/new` IN_PROGRESS: 1/2 running, 1 pending, 0 failed",
            "bgtool: deploy: deployment `ecs-svc/new` COMPLETED: 2/2 running, 0 pending, 0 failed",
            &format!("bgtool: note: deployment `ecs-svc/new` completed: `web` runs `{REGISTERED}`"),
        ],
    );
    assert!(result.stderr.contains("bake time: 5 min, until about "));
    insta::assert_snapshot!("deploy_completed_stderr", mask_clock(&result.stderr));
    // Each state once: the second IN_PROGRESS 0/2 look prints nothing new.
    assert_eq!(
        result.stderr.matches("0/2 running").count(),
        1,
        "{}",
        result.stderr
    );
    assert!(
        !result.stderr.contains("event: old"),
        "events from before the deploy are history"
    );
    // One DescribeServices per look, the service deployment's ARN listed once, its stage read
    // while the deployment runs.
    assert_eq!(
        server.actions(),
        [
            "DescribeServices",
            "RegisterTaskDefinition",
            "UpdateService",
            "DescribeServices",
            "ListServiceDeployments",
            "DescribeServiceDeployments",
            "DescribeServices",
            "DescribeServiceDeployments",
            "DescribeServices",
        ]
    );
    let calls = server.calls();
    let registered = calls
        .iter()
        .find(|(action, _)| action == "RegisterTaskDefinition")
        .unwrap();
    assert_registered_as_written(&registered.1);
    assert_verified_first(&server);
    assert_eq!(
        calls
            .iter()
            .find(|(action, _)| action == "UpdateService")
            .unwrap()
            .1,
        json!({"cluster": "main", "service": "web", "taskDefinition": REGISTERED})
    );
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert_never_deregisters(&server);
}

#[test]
fn a_long_quiet_stretch_says_the_deployment_is_still_running() {
    let mut after = vec![deploying("IN_PROGRESS", 1, json!([])); 12];
    after.push(deploying("COMPLETED", 2, json!([])));
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        after,
        ..Script::default()
    });
    let (result, _) = server.deploy(&["--still-running-every", "0.2"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let said = result
        .stderr
        .lines()
        .filter(|line| {
            line.starts_with("bgtool: deploy: still running, no change in the last 0.2 s: watched ")
                && line.ends_with(" of up to 30 min")
        })
        .count();
    // 12 unchanged looks at least 50 ms apart: at least 0.55 s of quiet, and at least 4 looks
    // between two such lines.
    assert!((1..=4).contains(&said), "{said}:\n{}", result.stderr);
    // The default (5 minutes) says nothing in a deployment this short.
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        after: vec![
            deploying("IN_PROGRESS", 1, json!([])),
            deploying("IN_PROGRESS", 1, json!([])),
            deploying("COMPLETED", 2, json!([])),
        ],
        ..Script::default()
    });
    let (result, _) = server.deploy(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        !result.stderr.contains("still running"),
        "{}",
        result.stderr
    );
}

#[test]
fn a_failed_deployment_says_why_and_exits_1() {
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        after: vec![deploying("IN_PROGRESS", 0, json!([])), {
            let mut failed = deploying(
                "FAILED",
                0,
                json!([event(
                    "e2",
                    "(service web) deployment ecs-svc/new deployment failed: tasks failed to start."
                )]),
            );
            failed["deployments"][0]["rolloutStateReason"] =
                "ECS deployment circuit breaker: tasks failed to start.".into();
            failed["deployments"][0]["failedTasks"] = 3.into();
            failed
        }],
        stopped_tasks: vec![json!({
            "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/main/0123abcd",
            "stoppedReason": "Essential container in task exited",
            "stopCode": "EssentialContainerExited",
            "containers": [{"name": "app", "exitCode": 1, "reason": "exec format error"},
                           {"name": "log-router", "exitCode": 0}]
        })],
        ..Script::default()
    });
    let (result, _) = server.deploy(&[]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: deploy: event: (service web) deployment ecs-svc/new deployment failed: tasks failed to start.",
            "bgtool: deploy: deployment `ecs-svc/new` FAILED: 0/2 running, 2 pending, 3 failed",
            "bgtool: deploy: task `0123abcd` stopped: Essential container in task exited; container `app` exited 1 (exec format error); container `log-router` exited 0",
            "bgtool: error: deployment `ecs-svc/new` failed: ECS deployment circuit breaker: tasks failed to start.",
            "  hint: ",
        ],
    );
    let calls = server.calls();
    let listed = calls
        .iter()
        .find(|(action, _)| action == "ListTasks")
        .expect("the stopped tasks are looked up");
    assert_eq!(listed.1["startedBy"], "ecs-svc/new");
    assert_eq!(listed.1["desiredStatus"], "STOPPED");
    // ECS rolls back by itself (circuit breaker); bgtool does not stop anything.
    assert!(
        !server
            .actions()
            .contains(&"StopServiceDeployment".to_owned())
    );
    assert_never_deregisters(&server);
    insta::assert_snapshot!("deploy_failed_stderr", result.stderr);
}

#[test]
fn a_deployment_already_running_is_named_or_waited_for() {
    let running = || {
        service(
            "ECS",
            json!([
                deployment("ecs-svc/earlier", "PRIMARY", PREVIOUS, "IN_PROGRESS", 1),
                deployment(
                    "ecs-svc/older",
                    "ACTIVE",
                    "arn:aws:ecs:us-east-1:123456789012:task-definition/web:0",
                    "COMPLETED",
                    2
                )
            ]),
            json!([]),
        )
    };
    let refusing = ScriptedEcs::start(Script {
        before: vec![running()],
        ..Script::default()
    });
    let (result, _) = refusing.deploy(&[]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            &format!(
                "bgtool: error: deployment `ecs-svc/earlier` of `{PREVIOUS}` (web) is IN_PROGRESS: a second deployment would replace it halfway"
            ),
            "hint: wait for it to end (`bgtool wait`), or pass `--wait-for-running`",
        ],
    );
    assert_eq!(
        refusing.actions(),
        ["DescribeServices"],
        "nothing registered"
    );

    let waiting = ScriptedEcs::start(Script {
        before: vec![
            running(),
            running(),
            service(
                "ECS",
                json!([deployment(
                    "ecs-svc/earlier",
                    "PRIMARY",
                    PREVIOUS,
                    "COMPLETED",
                    2
                )]),
                json!([]),
            ),
        ],
        after: vec![deploying("COMPLETED", 2, json!([]))],
        ..Script::default()
    });
    let (result, _) = waiting.deploy(&["--wait-for-running"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "IN_PROGRESS: waiting for it to end first",
            "bgtool: deploy: deployment `ecs-svc/earlier` COMPLETED: 2/2 running",
            "bgtool: note: the earlier deployment completed",
            "bgtool: note: deployment `ecs-svc/new` completed",
        ],
    );
    let actions = waiting.actions();
    let registered = actions
        .iter()
        .position(|action| action == "RegisterTaskDefinition")
        .unwrap();
    assert!(
        registered >= 3,
        "registered only after the earlier deployment ended: {actions:?}"
    );
}

#[test]
fn one_deadline_bounds_the_earlier_deployment_the_watch_and_the_rollback() {
    // An earlier deployment that never ends eats the deadline: nothing is registered.
    let earlier = service(
        "ECS",
        json!([deployment(
            "ecs-svc/earlier",
            "PRIMARY",
            PREVIOUS,
            "IN_PROGRESS",
            1
        )]),
        json!([]),
    );
    let server = ScriptedEcs::start(Script {
        before: vec![earlier],
        ..Script::default()
    });
    let (result, elapsed) = server.deploy(&["--wait-for-running", "--deadline", "1.5"]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "waiting for it to end first",
            "bgtool: error: the earlier deployment did not end within",
            "nothing deployed",
        ],
    );
    assert!(
        !server
            .actions()
            .contains(&"RegisterTaskDefinition".to_owned())
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");

    // A deployment that never completes: its 30-minute bound is cut so that the rollback still
    // ends before the deadline.
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        after: vec![deploying("IN_PROGRESS", 1, json!([]))],
        rolled_back: vec![back_on_previous()],
        ..Script::default()
    });
    let (result, elapsed) = server.deploy(&["--deadline", "1.5"]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "to fit `--deadline`)",
            "bgtool: warning: deployment `ecs-svc/new` did not complete within",
            &format!("bgtool: note: rolled back: `web` runs `{PREVIOUS}`"),
        ],
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let watched = result
        .stderr
        .lines()
        .find(|line| line.contains("watching deployment `ecs-svc/new` for up to"))
        .unwrap();
    assert!(watched.contains("(cut from 30 min to fit"), "{watched}");

    let refused = server.deploy(&["--deadline", "0"]).0;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert_lines(
        &refused.stderr,
        &[
            "bgtool: error: `--deadline`: `0` is out of range; give more than 0 and at most 86400 seconds",
        ],
    );
}

#[test]
fn throttling_while_waiting_is_ridden_out() {
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        after: vec![deploying("COMPLETED", 2, json!([]))],
        throttled_looks: 3,
        ..Script::default()
    });
    let mut command = server.command(&[]);
    // One attempt per call, so each throttled answer reaches bgtool's own watch loop.
    command.env("AWS_MAX_ATTEMPTS", "1");
    let taskdef = fixture("deploy/taskdef.json");
    let result = run(command.args([
        "deploy",
        "--cluster",
        "main",
        "--service",
        "web",
        "--taskdef",
        taskdef.to_str().unwrap(),
        "--image",
        "app=repo/web:2",
        "--poll-interval",
        "0.05",
    ]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(
        result
            .stderr
            .matches("bgtool: warning: cannot read the service")
            .count(),
        3,
        "{}",
        result.stderr
    );
    assert_lines(
        &result.stderr,
        &["ECS kept throttling the request", "look 3 of 5"],
    );
}

#[test]
fn a_deployment_that_runs_out_of_time_is_rolled_back() {
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        after: vec![deploying("IN_PROGRESS", 1, json!([]))],
        rolled_back: vec![back_on_previous()],
        ..Script::default()
    });
    let (result, elapsed) = server.deploy(&["--timeout", "0.5"]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: warning: deployment `ecs-svc/new` did not complete within 0.5 s: rolling it back",
            &format!(
                "bgtool: note: rollback requested: `{SERVICE_DEPLOYMENT}` stopped with ROLLBACK"
            ),
            &format!("bgtool: note: rolled back: `web` runs `{PREVIOUS}`"),
            "bgtool: error: deployment `ecs-svc/new` did not complete within 0.5 s and was rolled back",
        ],
    );
    let calls = server.calls();
    let stop = calls
        .iter()
        .find(|(action, _)| action == "StopServiceDeployment")
        .expect("StopServiceDeployment sent");
    assert_eq!(
        stop.1,
        json!({"serviceDeploymentArn": SERVICE_DEPLOYMENT, "stopType": "ROLLBACK"})
    );
    let listed = calls
        .iter()
        .find(|(action, _)| action == "ListServiceDeployments")
        .unwrap();
    assert_eq!(listed.1["status"], json!(["PENDING", "IN_PROGRESS"]));
    // The bound holds: half a second of waiting, then the rollback's few looks.
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert_never_deregisters(&server);
}

#[cfg(unix)]
#[test]
fn a_deployment_held_by_a_lifecycle_hook_is_waited_for_not_rolled_back() {
    // A PAUSE hook holds the stage past the bound (`--timeout 1`): the watch waits until the
    // hook expires (half a minute from now) instead of rolling back, and the deployment
    // completes once the hook is continued.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let hook = |status: &str| {
        json!([{"hookId": "h-1", "targetType": "PAUSE", "status": status,
                "expiresAt": now + 30.0, "timeoutAction": "ROLLBACK"}])
    };
    let mut after = vec![deploying("IN_PROGRESS", 2, json!([])); 50];
    after.push(deploying("COMPLETED", 2, json!([])));
    let mut hooks = vec![hook("AWAITING_ACTION"); 45];
    hooks.push(hook("SUCCEEDED"));
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        after,
        stages: vec!["POST_TEST_TRAFFIC_SHIFT"],
        hook_details: hooks,
        ..Script::default()
    });
    let (result, elapsed) = server.deploy(&["--timeout", "1"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: deploy: stage `POST_TEST_TRAFFIC_SHIFT` paused by PAUSE hook `h-1` (AWAITING_ACTION) until about",
            &format!(
                "then ECS will ROLLBACK: continue it with `aws ecs continue-service-deployment --service-deployment-arn {SERVICE_DEPLOYMENT} --hook-id h-1`"
            ),
            "bgtool: note: the bound has passed while a lifecycle hook holds the service: waiting until the hook expires at about",
            "bgtool: deploy: stage `POST_TEST_TRAFFIC_SHIFT`: PAUSE hook `h-1` SUCCEEDED",
            &format!("bgtool: note: deployment `ecs-svc/new` completed: `web` runs `{REGISTERED}`"),
        ],
    );
    assert!(
        !server
            .actions()
            .contains(&"StopServiceDeployment".to_owned())
    );
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
}

#[test]
fn a_rollback_is_judged_by_the_service_deployment_status() {
    // The service looks settled on the previous revision at once, but ECS's own status for the
    // stopped service deployment says the rollback is still going: bgtool waits for it.
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        after: vec![deploying("IN_PROGRESS", 1, json!([]))],
        rolled_back: vec![back_on_previous()],
        rollback_statuses: vec![
            ("ROLLBACK_REQUESTED", None),
            ("ROLLBACK_IN_PROGRESS", None),
            ("ROLLBACK_IN_PROGRESS", None),
            ("ROLLBACK_IN_PROGRESS", None),
            ("ROLLBACK_SUCCESSFUL", None),
        ],
        ..Script::default()
    });
    let (result, _) = server.deploy(&["--timeout", "0.5"]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            &format!("bgtool: deploy: rollback `{SERVICE_DEPLOYMENT}`: ROLLBACK_REQUESTED"),
            &format!("bgtool: deploy: rollback `{SERVICE_DEPLOYMENT}`: ROLLBACK_IN_PROGRESS"),
            &format!("bgtool: deploy: rollback `{SERVICE_DEPLOYMENT}`: ROLLBACK_SUCCESSFUL"),
            &format!(
                "bgtool: note: rolled back: ECS reports ROLLBACK_SUCCESSFUL; `web` runs `{PREVIOUS}`"
            ),
            "bgtool: error: deployment `ecs-svc/new` did not complete within 0.5 s and was rolled back",
        ],
    );
    let calls = server.calls();
    let stopped_at = calls
        .iter()
        .position(|(action, _)| action == "StopServiceDeployment")
        .unwrap();
    let described = calls[stopped_at..]
        .iter()
        .filter(|(action, body)| {
            action == "DescribeServiceDeployments"
                && body["serviceDeploymentArns"] == json!([SERVICE_DEPLOYMENT])
        })
        .count();
    assert_eq!(described, 5, "{calls:?}");

    // ROLLBACK_FAILED is a failure, whatever the service's deployments look like.
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        after: vec![deploying("IN_PROGRESS", 1, json!([]))],
        rolled_back: vec![back_on_previous()],
        rollback_statuses: vec![
            ("ROLLBACK_IN_PROGRESS", None),
            (
                "ROLLBACK_FAILED",
                Some("the previous revision's tasks failed to start"),
            ),
        ],
        ..Script::default()
    });
    let (result, _) = server.deploy(&["--timeout", "0.5"]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: error: the rollback of `web` failed (ROLLBACK_FAILED): the previous revision's tasks failed to start",
        ],
    );
    assert!(!result.stderr.contains("rolled back:"), "{}", result.stderr);
}

#[test]
fn an_interrupt_rolls_the_deployment_back_and_exits_130() {
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        after: vec![deploying("IN_PROGRESS", 1, json!([]))],
        rolled_back: vec![back_on_previous()],
        ..Script::default()
    });
    let taskdef = fixture("deploy/taskdef.json");
    let child = server
        .command(&[
            "deploy",
            "--cluster",
            "main",
            "--service",
            "web",
            "--taskdef",
            taskdef.to_str().unwrap(),
            "--image",
            "app=repo/web:2",
            "--poll-interval",
            "0.05",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the deployment is being watched.
    let deadline = Instant::now() + Duration::from_secs(20);
    while server
        .actions()
        .iter()
        .filter(|action| *action == "DescribeServices")
        .count()
        < 3
    {
        assert!(Instant::now() < deadline, "{:?}", server.actions());
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert_lines(
        &stderr,
        &[
            "bgtool: warning: SIGINT: rolling back deployment `ecs-svc/new`",
            &format!("bgtool: note: rolled back: `web` runs `{PREVIOUS}`"),
            "bgtool: error: SIGINT: deployment `ecs-svc/new` was rolled back",
        ],
    );
    assert!(
        server
            .actions()
            .contains(&"StopServiceDeployment".to_owned())
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_never_deregisters(&server);
}

#[test]
fn refusals_come_before_anything_is_registered() {
    // An EXTERNAL controller: deployed by its own tooling.
    let external = ScriptedEcs::start(Script {
        before: vec![service("EXTERNAL", json!([]), json!([]))],
        ..Script::default()
    });
    let (result, _) = external.deploy(&[]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &["bgtool: error: service `web` has the `EXTERNAL` deployment controller"],
    );
    assert_eq!(external.actions(), ["DescribeServices"]);

    // CodeDeploy's AppSpec flags on an ECS-controller service would be dropped: refused.
    let rolling = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        ..Script::default()
    });
    let (result, _) = rolling.deploy(&["--hook", "AfterAllowTestTraffic=web-smoke-test"]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: error: `--hook` applies to CODE_DEPLOY services; service `web` has the ECS deployment controller",
        ],
    );
    assert_eq!(rolling.actions(), ["DescribeServices"]);

    // A placeholder left for CodeDeployToECS: ECS would try to pull `<IMAGE1_NAME>`.
    let untouched = ScriptedEcs::start(Script::default());
    let taskdef = fixture("deploy/taskdef.json");
    let result = run(&mut untouched.command(&[
        "deploy",
        "--cluster",
        "main",
        "--service",
        "web",
        "--taskdef",
        taskdef.to_str().unwrap(),
    ]));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: error: `",
            "container `app` has the placeholder `<IMAGE1_NAME>` as its image",
            "hint: give its image: `--image app=URI`",
        ],
    );
    assert!(untouched.actions().is_empty(), "no AWS call at all");

    let result = run(&mut untouched.command(&[
        "deploy",
        "--cluster",
        "main",
        "--service",
        "web",
        "--taskdef",
        taskdef.to_str().unwrap(),
        "--no-wait",
        "--dry-run",
    ]));
    assert_eq!(result.code, 2, "{}", result.stderr);
}

#[test]
fn a_dry_run_reports_and_registers_nothing() {
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        ..Script::default()
    });
    let (result, _) = server.deploy(&["--dry-run"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            &format!("bgtool: report: production runs `{PREVIOUS}`"),
            "bgtool: report: task: cpu `256` → `512`",
            "`repo/web:1` → `123456789012.dkr.ecr.us-east-1.amazonaws.com/web:3f2a1c9d8e7b`",
            "bgtool: note: dry run: nothing registered, nothing deployed",
        ],
    );
    let would_register: Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(would_register["family"], "web");
    assert_eq!(
        server.actions(),
        ["DescribeServices", "DescribeTaskDefinition"]
    );
}

#[test]
fn wait_and_rollback_work_on_a_deployment_started_elsewhere() {
    let in_progress = || deploying("IN_PROGRESS", 1, json!([]));
    let done = deploying("COMPLETED", 2, json!([]));
    let waiting = ScriptedEcs::start(Script {
        before: vec![in_progress(), in_progress(), done],
        ..Script::default()
    });
    let result = waiting.on_web("wait", &[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: deploy: deployment `ecs-svc/new` IN_PROGRESS: 1/2 running",
            "bgtool: deploy: deployment `ecs-svc/new` COMPLETED: 2/2 running",
            "bgtool: note: deployment `ecs-svc/new` completed",
        ],
    );
    // Reads only.
    assert!(waiting.actions().iter().all(|action| matches!(
        action.as_str(),
        "DescribeServices" | "ListServiceDeployments" | "DescribeServiceDeployments"
    )));
    insta::assert_snapshot!("wait_completed_stderr", result.stderr);

    // `rollback`: the scripted ECS answers `rolled_back` once StopServiceDeployment arrives.
    let rolling = ScriptedEcs::start(Script {
        before: vec![in_progress()],
        rolled_back: vec![back_on_previous()],
        ..Script::default()
    });
    let result = rolling.on_web("rollback", &[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[&format!(
            "bgtool: note: rolled back: `web` runs `{PREVIOUS}`"
        )],
    );
    assert!(
        rolling
            .actions()
            .contains(&"StopServiceDeployment".to_owned())
    );
    insta::assert_snapshot!("rollback_stderr", result.stderr);

    // A rollback that takes a while says it is still running.
    let mut slowly_back = vec![in_progress(); 8];
    slowly_back.push(back_on_previous());
    let slow = ScriptedEcs::start(Script {
        before: vec![in_progress()],
        rolled_back: slowly_back,
        ..Script::default()
    });
    let result = slow.on_web("rollback", &["--still-running-every", "0.1"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        result.stderr.lines().any(|line| line
            .starts_with("bgtool: deploy: still running, no change in the last 0.1 s: watched ")
            && line.ends_with(" of up to 30 min")),
        "{}",
        result.stderr
    );

    // Nothing in progress: nothing to roll back, said as an error.
    let idle = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        ..Script::default()
    });
    let result = run(&mut idle.command(&["rollback", "--cluster", "main", "--service", "web"]));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &["bgtool: error: nothing to roll back: no deployment of `web` is in progress"],
    );
}

// ---------------------------------------------------------------------------------------------
// Services with the CODE_DEPLOY controller.

/// A CODE_DEPLOY service: production on the PRIMARY task set (web:1) behind `app:8080`.
const WEB_GROUP: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef";

/// `deploying`, with the service behind the target group `web`.
fn deploying_behind_a_load_balancer(rollout: &str, running: u32) -> Value {
    let mut service = deploying(rollout, running, json!([]));
    service["loadBalancers"] = json!([{
        "targetGroupArn": WEB_GROUP, "containerName": "app", "containerPort": 8080
    }]);
    service
}

fn target(id: &str, state: &str, reason: Option<&str>, description: Option<&str>) -> Value {
    json!({"id": id, "port": 8080, "state": state, "reason": reason, "description": description})
}

#[test]
fn a_failed_deployment_names_the_targets_that_failed_their_health_checks() {
    let healthy_old = target("10.0.1.5", "healthy", None, None);
    let mut failed = deploying_behind_a_load_balancer("FAILED", 0);
    failed["deployments"][0]["rolloutStateReason"] =
        "ECS deployment circuit breaker: tasks failed to start.".into();
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        after: vec![
            deploying_behind_a_load_balancer("IN_PROGRESS", 0),
            deploying_behind_a_load_balancer("IN_PROGRESS", 1),
            failed,
        ],
        target_health: vec![(
            "web",
            vec![
                json!([
                    healthy_old,
                    target(
                        "10.0.1.7",
                        "initial",
                        Some("Elb.RegistrationInProgress"),
                        Some("Target registration is in progress")
                    )
                ]),
                json!([
                    healthy_old,
                    target(
                        "10.0.1.7",
                        "unhealthy",
                        Some("Target.ResponseCodeMismatch"),
                        Some("Health checks failed with these codes: [404]")
                    )
                ]),
                json!([
                    healthy_old,
                    target(
                        "10.0.1.7",
                        "draining",
                        Some("Target.DeregistrationInProgress"),
                        Some("Target deregistration is in progress")
                    )
                ]),
            ],
        )],
        ..Script::default()
    });
    let (result, _) = server.deploy(&[]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: deploy: targets in `web`: 1 healthy, 1 initial",
            "bgtool: deploy: targets in `web`: 1 healthy, 1 unhealthy",
            "bgtool: deploy: target `10.0.1.7:8080` in `web`: unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [404])",
            "bgtool: deploy: targets in `web`: 1 healthy, 1 draining",
            "bgtool: deploy: target `10.0.1.7:8080` in `web` was unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [404])",
            "bgtool: error: deployment `ecs-svc/new` failed: ECS deployment circuit breaker: tasks failed to start.",
        ],
    );
    // Targets are counted; only a failing one is named.
    assert!(!result.stderr.contains("10.0.1.5"), "{}", result.stderr);
    assert_eq!(
        result.stderr.matches("`10.0.1.7:8080` in `web`: ").count(),
        1,
        "{}",
        result.stderr
    );
    let asked: Vec<Value> = server
        .calls()
        .into_iter()
        .filter(|(action, _)| action == "DescribeTargetHealth")
        .map(|(_, body)| body)
        .collect();
    assert_eq!(asked.len(), 3, "one call per look: {asked:?}");
    assert_eq!(asked[0]["TargetGroupArn"], WEB_GROUP);
    assert_never_deregisters(&server);
    insta::assert_snapshot!("deploy_failed_target_health_stderr", result.stderr);
}

#[test]
fn target_health_that_cannot_be_read_is_said_once_and_the_watch_goes_on() {
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        after: vec![
            deploying_behind_a_load_balancer("IN_PROGRESS", 0),
            deploying_behind_a_load_balancer("IN_PROGRESS", 1),
            deploying_behind_a_load_balancer("COMPLETED", 2),
        ],
        target_health_denied: true,
        ..Script::default()
    });
    let (result, _) = server.deploy(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: warning: target health not shown: the health of the targets in `web`: access denied: User is not authorized to perform: elasticloadbalancing:DescribeTargetHealth",
            "; the deployment is still watched",
            "bgtool: note: deployment `ecs-svc/new` completed",
        ],
    );
    assert_eq!(result.stderr.matches("target health not shown").count(), 1);
    let asked = server
        .actions()
        .iter()
        .filter(|action| *action == "DescribeTargetHealth")
        .count();
    assert_eq!(asked, 1, "not asked again after a denial");
}

fn code_deploy_service() -> Value {
    let mut service = service("CODE_DEPLOY", json!([]), json!([]));
    service["loadBalancers"] = json!([{
        "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/0123456789abcdef",
        "containerName": "app", "containerPort": 8080
    }]);
    service["networkConfiguration"] = json!({"awsvpcConfiguration": {
        "subnets": ["subnet-0a1b2c3d"], "securityGroups": ["sg-0123456789abcdef0"], "assignPublicIp": "DISABLED"
    }});
    service["taskSets"] =
        json!([{"id": "ecs-svc/blue", "status": "PRIMARY", "taskDefinition": PREVIOUS}]);
    service
}

/// One GetDeployment answer and the deployment's ECS target at that moment.
fn look(id: &str, status: &str, events: &[(&str, &str)], green_weight: f64) -> (Value, Value) {
    let events: Vec<Value> = events
        .iter()
        .map(|(name, status)| json!({"lifecycleEventName": name, "status": status}))
        .collect();
    (
        json!({"deploymentId": id, "status": status}),
        json!({
            "lifecycleEvents": events,
            "taskSetsInfo": [
                {"identifer": "ecs-svc/blue", "taskSetLabel": "BLUE", "trafficWeight": 100.0 - green_weight,
                 "desiredCount": 2, "runningCount": 2, "targetGroup": {"name": "web-blue"}},
                {"identifer": "ecs-svc/green", "taskSetLabel": "GREEN", "trafficWeight": green_weight,
                 "desiredCount": 2, "runningCount": 2, "targetGroup": {"name": "web-green"}}
            ]
        }),
    )
}

#[test]
fn a_code_deploy_service_gets_a_codedeploy_deployment_followed_to_success() {
    let server = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        deployments: vec![(
            "d-NEW",
            vec![
                look(
                    "d-NEW",
                    "InProgress",
                    &[("BeforeInstall", "Succeeded"), ("Install", "InProgress")],
                    0.0,
                ),
                look(
                    "d-NEW",
                    "InProgress",
                    &[
                        ("Install", "Succeeded"),
                        ("AfterAllowTestTraffic", "Succeeded"),
                        ("AllowTraffic", "InProgress"),
                    ],
                    100.0,
                ),
                look(
                    "d-NEW",
                    "Succeeded",
                    &[
                        ("AllowTraffic", "Succeeded"),
                        ("AfterAllowTraffic", "Succeeded"),
                    ],
                    100.0,
                ),
            ],
        )],
        ..Script::default()
    });
    let (result, _) = server.deploy(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(result.stdout, format!("{REGISTERED}\n"));
    insta::assert_snapshot!("code_deploy_succeeded_stderr", mask_clock(&result.stderr));
    assert_lines(
        &result.stderr,
        &[
            "bgtool: note: service `web` deploys through CodeDeploy `web`/`web`",
            "bgtool: note: watching deployment `d-NEW` for up to 35 min, every 0.05 s",
            "bgtool: deploy: lifecycle event `AfterAllowTestTraffic` Succeeded",
            "bgtool: deploy: traffic: 0% to BLUE `web-blue` (2/2 running), 100% to GREEN `web-green` (2/2 running)",
            &format!("bgtool: note: deployment `d-NEW` succeeded: `web` runs `{REGISTERED}`"),
        ],
    );
    let calls = server.calls();
    let created = &calls
        .iter()
        .find(|(action, _)| action == "CreateDeployment")
        .expect("CreateDeployment sent")
        .1;
    assert_eq!(created["applicationName"], "web");
    assert_eq!(created["deploymentGroupName"], "web");
    assert_eq!(created["revision"]["revisionType"], "AppSpecContent");
    let appspec: serde_norway::Value = serde_norway::from_str(
        created["revision"]["appSpecContent"]["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let properties = &appspec["Resources"][0]["TargetService"]["Properties"];
    assert_eq!(properties["TaskDefinition"].as_str(), Some(REGISTERED));
    assert_eq!(
        properties["LoadBalancerInfo"]["ContainerName"].as_str(),
        Some("app")
    );
    assert_eq!(
        properties["LoadBalancerInfo"]["ContainerPort"].as_u64(),
        Some(8080)
    );
    assert_eq!(
        properties["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"][0].as_str(),
        Some("subnet-0a1b2c3d")
    );
    // Registered only once the AppSpec and the group were known; no ECS UpdateService.
    let actions = server.actions();
    assert!(
        !actions.contains(&"UpdateService".to_owned()),
        "{actions:?}"
    );
    let register = actions
        .iter()
        .position(|action| action == "RegisterTaskDefinition")
        .unwrap();
    let listed = actions
        .iter()
        .position(|action| action == "ListDeployments")
        .unwrap();
    assert!(listed < register, "{actions:?}");
    // The deployment's target is listed once, then read at every look.
    let count = |name: &str| actions.iter().filter(|action| *action == name).count();
    assert_eq!(count("ListDeploymentTargets"), 1, "{actions:?}");
    assert!(count("GetDeploymentTarget") >= 3, "{actions:?}");
    assert_never_deregisters(&server);
}

/// What the smoke-test function logged: an earlier deployment's run, Lambda's own lines, then
/// the run that failed `d-NEW`.
fn smoke_test_log() -> Vec<&'static str> {
    vec![
        "bgtool hook: CodeDeploy deployment `d-OLD`: GET /health: 200 after 8 ms\n",
        "bgtool hook: CodeDeploy deployment `d-OLD`: passed\n",
        "START RequestId: 5f0c Version: $LATEST\n",
        "bgtool hook: CodeDeploy deployment `d-NEW`: GET http://internal-web-alb:8080/health: 503 (expected 200) after 41 ms\n",
        "bgtool hook: CodeDeploy deployment `d-NEW`: FAILED\n",
        "END RequestId: 5f0c\n",
    ]
}

/// The generated AppSpec ran the smoke test, and when it failed `d-NEW`, its lines were read
/// from the function's log group, under the example policy; no other deployment's were told.
fn assert_read_the_smoke_test_log(server: &ScriptedEcs, stderr: &str) {
    let created = &calls_of(server, "CreateDeployment")[0];
    let appspec: serde_norway::Value = serde_norway::from_str(
        created["revision"]["appSpecContent"]["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        appspec["Hooks"][0]["AfterAllowTestTraffic"].as_str(),
        Some("web-smoke-test"),
        "the generated AppSpec runs the hook"
    );
    assert!(
        !stderr.contains("d-OLD"),
        "another deployment's run is not told: {stderr}"
    );
    assert_eq!(server.denied(), Vec::<String>::new());
    let filtered = &calls_of(server, "FilterLogEvents")[0];
    assert_eq!(filtered["logGroupName"], "/aws/lambda/web-smoke-test");
    assert_eq!(filtered["filterPattern"], "\"d-NEW\"");
    assert!(
        filtered["startTime"].as_u64().unwrap() > 1_700_000_000_000,
        "{filtered}"
    );
}

#[test]
fn a_failed_hook_fails_the_code_deploy_deployment_with_its_diagnostics() {
    let mut failed = look(
        "d-NEW",
        "Failed",
        &[("AfterAllowTestTraffic", "Failed")],
        0.0,
    );
    failed.0["errorInformation"] = json!({"code": "HOOK_FAILED", "message": "The deployment failed because a specified lifecycle event hook failed."});
    failed.1["lifecycleEvents"][0]["diagnostics"] = json!({"errorCode": "ScriptFailed", "message": "smoke test: 503 from /health", "logTail": ""});
    let mut unhealthy = code_deploy_service();
    unhealthy["events"] = json!([event(
        "e9",
        "(service web, taskSet ecs-svc/green) (task 0123abcd) failed ELB health checks in (target-group web-green)"
    )]);
    // CodeDeploy puts the replacement task set behind the other target group.
    unhealthy["taskSets"] = json!([
        {"id": "ecs-svc/blue", "status": "PRIMARY", "taskDefinition": PREVIOUS},
        {"id": "ecs-svc/green", "status": "ACTIVE", "taskDefinition": REGISTERED, "loadBalancers": [{
            "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/fedcba9876543210",
            "containerName": "app", "containerPort": 8080
        }]}
    ]);
    let server = ScriptedEcs::start(Script {
        target_health: vec![(
            "web-green",
            vec![json!([target(
                "10.0.2.9",
                "unhealthy",
                Some("Target.Timeout"),
                Some("Request timed out")
            )])],
        )],
        // At the start, when the watch begins, then at each look.
        before: vec![code_deploy_service(), code_deploy_service(), unhealthy],
        deployments: vec![(
            "d-NEW",
            vec![
                look(
                    "d-NEW",
                    "InProgress",
                    &[("AfterAllowTestTraffic", "InProgress")],
                    0.0,
                ),
                failed,
            ],
        )],
        stopped_tasks: vec![json!({
            "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/main/0123abcd",
            "stoppedReason": "Task failed ELB health checks in (target-group web-green)",
            "containers": [{"name": "app", "exitCode": 137}]
        })],
        hook_log: smoke_test_log(),
        policy: Some(crate::iam::example_policy()),
        ..Script::default()
    });
    // The stack's smoke test, as its deploy_arguments output names it.
    let (result, _) = server.deploy(&[
        "--application",
        "web",
        "--deployment-group",
        "web",
        "--hook",
        "AfterAllowTestTraffic=web-smoke-test",
    ]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: deploy: event: (service web, taskSet ecs-svc/green) (task 0123abcd) failed ELB health checks in (target-group web-green)",
            "bgtool: deploy: lifecycle event `AfterAllowTestTraffic` Failed: smoke test: 503 from /health",
            "bgtool: deploy: target `10.0.2.9:8080` in `web-green`: unhealthy (Target.Timeout: Request timed out)",
            "bgtool: deploy: target `10.0.2.9:8080` in `web-green` was unhealthy (Target.Timeout: Request timed out)",
            "bgtool: deploy: task `0123abcd` stopped: Task failed ELB health checks in (target-group web-green); container `app` exited 137",
            "bgtool: deploy: hook `web-smoke-test`: CodeDeploy deployment `d-NEW`: GET http://internal-web-alb:8080/health: 503 (expected 200) after 41 ms",
            "bgtool: deploy: hook `web-smoke-test`: CodeDeploy deployment `d-NEW`: FAILED",
            "bgtool: error: deployment `d-NEW` failed: The deployment failed because a specified lifecycle event hook failed.; lifecycle event `AfterAllowTestTraffic` Failed: smoke test: 503 from /health",
        ],
    );
    assert_read_the_smoke_test_log(&server, &result.stderr);
    let listed = &calls_of(&server, "ListTasks")[0];
    assert_eq!(
        listed["startedBy"], "ecs-svc/green",
        "the replacement's stopped tasks"
    );
    let actions = server.actions();
    assert!(
        !actions.contains(&"ListApplications".to_owned()),
        "named groups need no search: {actions:?}"
    );
    assert!(!actions.contains(&"StopDeployment".to_owned()));
}

#[test]
fn a_code_deploy_deployment_out_of_time_is_stopped_with_rollback() {
    let server = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        deployments: vec![
            (
                "d-NEW",
                vec![look(
                    "d-NEW",
                    "InProgress",
                    &[("Install", "InProgress")],
                    0.0,
                )],
            ),
            codedeploy_rollback(),
        ],
        ..Script::default()
    });
    let (result, elapsed) = server.deploy(&["--timeout", "0.5"]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: warning: deployment `d-NEW` did not end within 0.5 s: rolling it back",
            "bgtool: note: rollback requested: StopDeployment of `d-NEW` with automatic rollback",
            "bgtool: note: CodeDeploy rolls back with deployment `d-ROLLBACK`",
            "bgtool: note: rolled back: deployment `d-ROLLBACK` succeeded",
            "bgtool: error: deployment `d-NEW` did not end within 0.5 s and was rolled back",
        ],
    );
    let calls = server.calls();
    let stop = calls
        .iter()
        .find(|(action, _)| action == "StopDeployment")
        .expect("StopDeployment sent");
    assert_eq!(
        stop.1,
        json!({"deploymentId": "d-NEW", "autoRollbackEnabled": true})
    );
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert_never_deregisters(&server);
}

#[test]
fn a_deployment_held_for_a_go_ahead_is_reported_as_waiting_not_failing() {
    let server = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        ready_wait: Some(60),
        deployments: vec![(
            "d-NEW",
            vec![
                look("d-NEW", "InProgress", &[("Install", "InProgress")], 0.0),
                look("d-NEW", "Ready", &[("Install", "Succeeded")], 0.0),
                look("d-NEW", "Ready", &[("Install", "Succeeded")], 0.0),
                look(
                    "d-NEW",
                    "InProgress",
                    &[("AllowTraffic", "InProgress")],
                    100.0,
                ),
                look(
                    "d-NEW",
                    "Succeeded",
                    &[("AllowTraffic", "Succeeded")],
                    100.0,
                ),
            ],
        )],
        ..Script::default()
    });
    let (result, _) = server.deploy(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            // 30 minutes, the group's 60-minute ready wait and its 5-minute termination wait.
            "bgtool: note: watching deployment `d-NEW` for up to 95 min, every 0.05 s",
            "bgtool: deploy: deployment `d-NEW` Ready",
            "bgtool: deploy: waiting for a go-ahead: the replacement task set is ready and takes test traffic; CodeDeploy stops it if none comes within 60 min (by about",
            "`bgtool continue --cluster main --service web` (or \"Reroute traffic\" in the CodeDeploy console) moves production traffic to it",
        ],
    );
    assert_eq!(
        result.stderr.matches("waiting for a go-ahead").count(),
        1,
        "{}",
        result.stderr
    );
    assert!(!server.actions().contains(&"StopDeployment".to_owned()));
}

#[test]
fn continue_gives_a_held_code_deploy_deployment_its_go_ahead() {
    // The go-ahead (or the end of the termination wait), under the example policy, with the
    // group named as CI names it.
    for (extra, wait_type) in [
        (None, "READY_WAIT"),
        (Some("--termination"), "TERMINATION_WAIT"),
    ] {
        let server = ScriptedEcs::start(Script {
            before: vec![code_deploy_service()],
            running: vec!["d-NEW"],
            policy: Some(crate::iam::example_policy()),
            ..Script::default()
        });
        let mut arguments = vec![
            "continue",
            "--cluster",
            "main",
            "--service",
            "web",
            "--application",
            "web",
            "--deployment-group",
            "web",
        ];
        arguments.extend(extra);
        let result = run(&mut server.command(&arguments));
        assert_eq!(result.code, 0, "{}", result.stderr);
        assert_lines(
            &result.stderr,
            &[&format!(
                "bgtool: note: continued deployment `d-NEW` ({wait_type})"
            )],
        );
        let calls = server.calls();
        let continued = calls
            .iter()
            .find(|(action, _)| action == "ContinueDeployment")
            .expect("ContinueDeployment sent");
        assert_eq!(
            continued.1,
            json!({"deploymentId": "d-NEW", "deploymentWaitType": wait_type})
        );
        assert_eq!(server.denied(), Vec::<String>::new());
    }

    // Nothing in progress, or a service ECS deploys itself: nothing to continue.
    let idle = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        ..Script::default()
    });
    let result = idle.on_web("continue", &[]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: error: nothing to continue: no CodeDeploy deployment of `web`/`web` is in progress",
        ],
    );
    let ecs = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        ..Script::default()
    });
    let result = run(&mut ecs.command(&["continue", "--cluster", "main", "--service", "web"]));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: error: service `web` has the ECS deployment controller: there is no CodeDeploy go-ahead to give",
        ],
    );
}

/// An account shared with other teams: their applications, and a second group in this one,
/// that the example policy does not let bgtool read.
fn shared_account() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("payments", vec!["payments"]),
        ("web", vec!["web", "web-canary"]),
        ("zeta", vec!["zeta"]),
    ]
}

fn rolled_back_in_time() -> Vec<(&'static str, Vec<(Value, Value)>)> {
    vec![
        (
            "d-NEW",
            vec![look(
                "d-NEW",
                "InProgress",
                &[("Install", "InProgress")],
                0.0,
            )],
        ),
        codedeploy_rollback(),
    ]
}

#[test]
fn under_the_example_policy_a_shared_account_deploys_and_rolls_back() {
    // Found by discovery: what the policy does not let it read is skipped, not failed on.
    let server = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        deployments: vec![(
            "d-NEW",
            vec![look(
                "d-NEW",
                "Succeeded",
                &[("AfterAllowTraffic", "Succeeded")],
                100.0,
            )],
        )],
        policy: Some(crate::iam::example_policy()),
        applications: shared_account(),
        ..Script::default()
    });
    let (result, _) = server.deploy(&["--verbose"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: note: finding the deployment group: 3 not readable with this identity's policy, skipped: `payments`, `web/web-canary`, `zeta`",
            "bgtool: note: service `web` deploys through CodeDeploy `web`/`web`",
            &format!("bgtool: note: deployment `d-NEW` succeeded: `web` runs `{REGISTERED}`"),
        ],
    );
    // Refused: the two other applications' listings, the batch of both groups of `web`, and
    // `web-canary` alone. Nothing else.
    let denied = server.denied();
    assert_eq!(denied.len(), 4, "{denied:#?}");
    assert!(
        denied.iter().all(
            |message| message.contains("codedeploy:ListDeploymentGroups")
                || message.contains("codedeploy:BatchGetDeploymentGroups")
        ),
        "{denied:#?}"
    );
    assert_never_deregisters(&server);

    // Named, as the README and the emitted outputs do: no discovery at all. Out of time, the
    // deployment is stopped with rollback, which the policy must allow.
    let server = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        deployments: rolled_back_in_time(),
        policy: Some(crate::iam::example_policy()),
        applications: shared_account(),
        ..Script::default()
    });
    let (result, _) = server.deploy(&[
        "--timeout",
        "0.5",
        "--application",
        "web",
        "--deployment-group",
        "web",
    ]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: note: rollback requested: StopDeployment of `d-NEW` with automatic rollback",
            "bgtool: note: rolled back: deployment `d-ROLLBACK` succeeded",
        ],
    );
    assert_eq!(server.denied(), Vec::<String>::new());
    let actions = server.actions();
    assert!(
        !actions.contains(&"ListApplications".to_owned()),
        "{actions:?}"
    );
}

#[test]
fn targets_and_stop_deployment_scoped_to_the_group_are_refused_by_iam() {
    // The statement as it was once written: IAM never matches a deployment group ARN for
    // ListDeploymentTargets, GetDeploymentTarget or StopDeployment, which have no resource type.
    let mut policy = crate::iam::example_policy();
    for statement in policy["Statement"].as_array_mut().unwrap() {
        if statement["Sid"] == "CodeDeployFollowAndStopDeploymentsNoResourceLevelPermissions" {
            statement["Resource"] =
                "arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:web/web".into();
        }
    }
    let named = ["--application", "web", "--deployment-group", "web"];
    // The watch cannot read the deployment's target...
    let server = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        deployments: rolled_back_in_time(),
        policy: Some(policy.clone()),
        ..Script::default()
    });
    let (result, _) = server.deploy(&named);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: error: the targets of deployment `d-NEW`: access denied: User: arn:aws:sts::123456789012:assumed-role/ci/bgtool is not authorized to perform: codedeploy:ListDeploymentTargets on resource: *",
        ],
    );
    // ...and the rollback of a running deployment is refused.
    let server = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        running: vec!["d-NEW"],
        deployments: rolled_back_in_time(),
        policy: Some(policy),
        ..Script::default()
    });
    let result = server.on_web("rollback", &named);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "access denied: User: arn:aws:sts::123456789012:assumed-role/ci/bgtool is not authorized to perform: codedeploy:StopDeployment on resource: *",
        ],
    );
}

#[test]
fn no_readable_group_for_the_service_says_how_many_were_skipped() {
    let server = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        policy: Some(crate::iam::example_policy()),
        applications: vec![("payments", vec!["payments"]), ("web", vec!["web-canary"])],
        ..Script::default()
    });
    let (result, _) = server.deploy(&[]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: error: no CodeDeploy deployment group deploys service `web` of cluster `main` (2 application or group not readable with this identity's policy; `--verbose` names them)",
        ],
    );
    assert!(
        !server
            .actions()
            .contains(&"RegisterTaskDefinition".to_owned())
    );
}

#[test]
fn a_code_deploy_deployment_in_progress_is_named_and_an_appspec_file_is_used() {
    let busy = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        running: vec!["d-EARLIER"],
        ..Script::default()
    });
    let (result, _) = busy.deploy(&[]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: error: CodeDeploy deployment `d-EARLIER` of `web`/`web` is in progress: CodeDeploy allows one at a time",
            "hint: wait for it to end (`bgtool wait`), or pass `--wait-for-running`",
        ],
    );
    assert!(
        !busy
            .actions()
            .contains(&"RegisterTaskDefinition".to_owned())
    );

    // --appspec: the file's hooks and settings kept, its TaskDefinition set to the new revision.
    let server = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        deployments: vec![("d-NEW", vec![look("d-NEW", "Succeeded", &[], 100.0)])],
        ..Script::default()
    });
    let folder = tempfile::tempdir().unwrap();
    let appspec = folder.path().join("appspec.yaml");
    std::fs::write(
        &appspec,
        "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: app\n          ContainerPort: 8080\nHooks:\n  - AfterAllowTestTraffic: smoke-test\n",
    )
    .unwrap();
    let (result, _) = server.deploy(&["--appspec", appspec.to_str().unwrap()]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let calls = server.calls();
    let content = calls
        .iter()
        .find(|(action, _)| action == "CreateDeployment")
        .unwrap()
        .1["revision"]["appSpecContent"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(content.contains(REGISTERED), "{content}");
    assert!(
        content.contains("AfterAllowTestTraffic: smoke-test"),
        "{content}"
    );

    // An AppSpec naming a container the task definition lacks fails before anything is sent.
    std::fs::write(
        &appspec,
        "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: api\n          ContainerPort: 8080\n",
    )
    .unwrap();
    let untouched = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        ..Script::default()
    });
    let (result, _) = untouched.deploy(&["--appspec", appspec.to_str().unwrap()]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &["does not match the task definition", "`api`"],
    );
    assert_eq!(untouched.actions(), ["DescribeServices"]);
}

#[test]
fn a_code_deploy_dry_run_prints_the_appspec_it_would_send() {
    let server = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        ..Script::default()
    });
    let (result, _) = server.deploy(&["--dry-run"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        result.stdout.contains("TaskDefinition: <TASK_DEFINITION>"),
        "{}",
        result.stdout
    );
    assert_lines(
        &result.stderr,
        &[&format!("bgtool: report: production runs `{PREVIOUS}`")],
    );
    let actions = server.actions();
    assert!(
        !actions
            .iter()
            .any(|action| action == "RegisterTaskDefinition" || action == "CreateDeployment"),
        "{actions:?}"
    );
}

/// What moto models: RegisterTaskDefinition, the deployment group named as CI names it,
/// ListDeployments and CreateDeployment, through the real SDK. The AppSpec CodeDeploy stored
/// names the new revision. (moto's deployments never move, hence `--no-wait`; moto 5.2.5 has no
/// BatchGetDeploymentGroups, so discovery is tested against the scripted endpoint.)
#[test]
fn a_code_deploy_deployment_is_created_on_moto() {
    let taskdef = fixture("register/classic.json");
    let appspec = fixture("deploy/appspec.yaml");
    let result = run(crate::harness::bgtool_on_moto().args([
        "deploy",
        "--appspec",
        appspec.to_str().unwrap(),
        "--cluster",
        "bgtool-test",
        "--service",
        "classic",
        "--taskdef",
        taskdef.to_str().unwrap(),
        "--image",
        "app=123456789012.dkr.ecr.us-east-1.amazonaws.com/classic:3f2a1c9d8e7b",
        "--application",
        "classic",
        "--deployment-group",
        "classic",
        "--no-wait",
    ]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    let arn = result.stdout.trim();
    assert!(
        arn.starts_with("arn:aws:ecs:us-east-1:123456789012:task-definition/classic:"),
        "{arn}"
    );
    assert_lines(&result.stderr, &["bgtool: note: not waiting (`--no-wait`)"]);
    let id = result
        .stderr
        .split("CodeDeploy deployment `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .expect("the deployment ID is named")
        .to_owned();
    let described = aws_on_moto(&["deploy", "get-deployment", "--deployment-id", &id]);
    assert_eq!(described.code, 0, "{}", described.stderr);
    let described: Value = serde_json::from_str(&described.stdout).unwrap();
    let content = described["deploymentInfo"]["revision"]["appSpecContent"]["content"]
        .as_str()
        .expect("the AppSpec content");
    assert!(
        content.contains(&format!("TaskDefinition: {arn}")),
        "{content}"
    );
    assert!(content.contains("ContainerName: app"), "{content}");
    assert!(
        content.contains("AfterAllowTestTraffic: smoke-test"),
        "{content}"
    );
}

#[test]
fn wait_reads_target_health_from_moto() {
    use std::io::BufRead;
    // `rolling`'s deployment never ends on moto; its target group holds 10.20.1.10.
    let mut child = crate::harness::bgtool_on_moto()
        .args([
            "wait",
            "--cluster",
            "bgtool-test",
            "--service",
            "rolling",
            "--poll-interval",
            "0.2",
            "--timeout",
            "60",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (sender, lines) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            if sender.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let read_until = |wanted: &dyn Fn(&str) -> bool, seen: &mut Vec<String>| loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no such line in:\n{}", seen.join("\n")));
        seen.push(line.clone());
        if wanted(&line) {
            break;
        }
    };
    read_until(
        &|line| line == "bgtool: deploy: targets in `rolling`: 1 healthy",
        &mut seen,
    );
    // A target registered while the watch runs is counted on the next look.
    let group = aws_on_moto(&[
        "elbv2",
        "describe-target-groups",
        "--names",
        "rolling",
        "--query",
        "TargetGroups[0].TargetGroupArn",
        "--output",
        "text",
    ]);
    assert_eq!(group.code, 0, "{}", group.stderr);
    let registered = aws_on_moto(&[
        "elbv2",
        "register-targets",
        "--target-group-arn",
        group.stdout.trim(),
        "--targets",
        "Id=10.20.1.11,Port=8080",
    ]);
    assert_eq!(registered.code, 0, "{}", registered.stderr);
    read_until(
        &|line| line == "bgtool: deploy: targets in `rolling`: 2 healthy",
        &mut seen,
    );
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{}", seen.join("\n"));
    assert!(
        seen.iter()
            .any(|line| line.contains("IN_PROGRESS: 0/1 running")),
        "{}",
        seen.join("\n")
    );
    assert!(
        !seen.iter().any(|line| line.contains("10.20.1.1")),
        "healthy targets are counted, not named: {}",
        seen.join("\n")
    );
    assert!(
        !seen
            .iter()
            .any(|line| line.contains("target health not shown")),
        "{}",
        seen.join("\n")
    );
}

#[test]
fn wait_and_rollback_follow_code_deploy_deployments() {
    let waiting = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        running: vec!["d-EARLIER"],
        deployments: vec![(
            "d-EARLIER",
            vec![
                look("d-EARLIER", "InProgress", &[("Install", "InProgress")], 0.0),
                look("d-EARLIER", "Succeeded", &[("Install", "Succeeded")], 100.0),
            ],
        )],
        ..Script::default()
    });
    let result = waiting.on_web("wait", &[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: deploy: deployment `d-EARLIER` InProgress",
            "bgtool: deploy: deployment `d-EARLIER` Succeeded",
            "bgtool: note: deployment `d-EARLIER` completed",
        ],
    );
    assert!(!waiting.actions().contains(&"StopDeployment".to_owned()));

    let rolling = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        running: vec!["d-NEW"],
        deployments: vec![
            ("d-NEW", vec![look("d-NEW", "InProgress", &[], 0.0)]),
            (
                "d-ROLLBACK",
                vec![look("d-ROLLBACK", "Succeeded", &[], 0.0)],
            ),
        ],
        ..Script::default()
    });
    let result = rolling.on_web(
        "rollback",
        &["--application", "web", "--deployment-group", "web"],
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: note: rollback requested: StopDeployment of `d-NEW` with automatic rollback",
            "bgtool: note: rolled back: deployment `d-ROLLBACK` succeeded",
        ],
    );
    let calls = rolling.calls();
    assert!(calls
        .iter()
        .any(|(action, body)| action == "StopDeployment" && body["autoRollbackEnabled"] == true));
}

/// examples/deploy-policy.json allows every AWS action the code calls: each `action:` an SDK call
/// names (the same names its access-denied hints give).
#[test]
fn the_example_policy_allows_every_action_bgtool_calls() {
    let policy: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::harness::repository().join("examples/deploy-policy.json"))
            .unwrap(),
    )
    .unwrap();
    let mut allowed = Vec::new();
    for statement in policy["Statement"].as_array().unwrap() {
        assert_eq!(statement["Effect"], "Allow");
        match &statement["Action"] {
            Value::String(action) => allowed.push(action.clone()),
            Value::Array(actions) => allowed.extend(
                actions
                    .iter()
                    .map(|action| action.as_str().unwrap().to_owned()),
            ),
            other => panic!("unexpected Action {other}"),
        }
    }
    let mut called = Vec::new();
    for file in [
        "src/aws/ecs.rs",
        "src/aws/ecs_revisions.rs",
        "src/aws/ecs_tasks.rs",
        "src/aws/logs.rs",
        "src/aws/codedeploy.rs",
        "src/aws/load_balancing.rs",
        "src/aws/metrics.rs",
        "src/aws/inspect.rs",
    ] {
        let text = std::fs::read_to_string(crate::harness::repository().join(file)).unwrap();
        for piece in text.split('"').skip(1).step_by(2) {
            if [
                "ecs:",
                "codedeploy:",
                "elasticloadbalancing:",
                "logs:",
                "ecr:",
                "iam:",
                "secretsmanager:",
                "ssm:",
                "cloudwatch:",
            ]
            .iter()
            .any(|service| piece.starts_with(service))
                && piece
                    .chars()
                    .skip_while(|c| *c != ':')
                    .skip(1)
                    .all(char::is_alphanumeric)
            {
                called.push(piece.to_owned());
            }
        }
    }
    assert!(called.len() >= 19, "{called:?}");
    assert!(called.contains(&"elasticloadbalancing:DescribeTargetHealth".to_owned()));
    assert!(called.contains(&"cloudwatch:GetMetricData".to_owned()));
    // The smoke-test hook's report runs under the hook function's own role, never CI's.
    let hook_only = "codedeploy:PutLifecycleEventHookExecutionStatus".to_owned();
    assert!(called.contains(&hook_only));
    assert!(
        !allowed.contains(&hook_only),
        "CI does not report hook results"
    );
    called.retain(|action| *action != hook_only);
    // `prune` lists the clusters only when no `--cluster` is given; the stack's prune_arguments
    // always give one, and a policy for one cluster could not search the others anyway.
    let every_cluster = "ecs:ListClusters".to_owned();
    assert!(called.contains(&every_cluster));
    assert!(!allowed.contains(&every_cluster));
    called.retain(|action| *action != every_cluster);
    // verify reads a secret's value only with `--read-secrets`, which `deploy` never passes: CI
    // needs no right to read secrets.
    let secret_values = "secretsmanager:GetSecretValue".to_owned();
    assert!(called.contains(&secret_values));
    assert!(!allowed.contains(&secret_values));
    called.retain(|action| *action != secret_values);
    for action in &called {
        assert!(
            allowed.contains(action),
            "{action} is not in the example policy"
        );
    }
    assert!(allowed.contains(&"iam:PassRole".to_owned()));
}

/// A deployment held in Ready with test traffic on the replacement: the gate's exit status
/// decides. `held` is the group's 60-minute ready wait.
fn held_code_deploy(after_ready: Vec<(Value, Value)>) -> Script {
    let mut looks = vec![
        look(
            "d-NEW",
            "InProgress",
            &[("AllowTestTraffic", "Succeeded")],
            0.0,
        ),
        look(
            "d-NEW",
            "Ready",
            &[("AfterAllowTestTraffic", "Succeeded")],
            0.0,
        ),
    ];
    looks.extend(after_ready);
    Script {
        before: vec![code_deploy_service()],
        ready_wait: Some(60),
        deployments: vec![("d-NEW", looks), codedeploy_rollback()],
        ..Script::default()
    }
}

#[test]
fn a_passing_gate_continues_a_held_code_deploy_deployment() {
    let server = ScriptedEcs::start(held_code_deploy(vec![
        look(
            "d-NEW",
            "InProgress",
            &[("AllowTraffic", "InProgress")],
            100.0,
        ),
        look(
            "d-NEW",
            "Succeeded",
            &[("AllowTraffic", "Succeeded")],
            100.0,
        ),
    ]));
    let gate = r#"echo "checking $BGTOOL_DEPLOYMENT_ID of $BGTOOL_CLUSTER/$BGTOOL_SERVICE"; test "$BGTOOL_DEPLOYMENT_ID" = d-NEW"#;
    let (result, _) = server.deploy(&["--gate", gate]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(
        result.stdout,
        format!("{REGISTERED}\n"),
        "the gate's output is not data"
    );
    assert_lines(
        &result.stderr,
        &[
            "bgtool: deploy: deployment `d-NEW` Ready",
            "bgtool: deploy: gate: the deployment holds with test traffic on the new version; running `echo",
            "checking d-NEW of main/web",
            "bgtool: deploy: gate passed: traffic moves to the replacement task set (ContinueDeployment)",
            &format!("bgtool: note: deployment `d-NEW` succeeded: `web` runs `{REGISTERED}`"),
        ],
    );
    let calls = server.calls();
    let continued: Vec<&Value> = calls
        .iter()
        .filter(|(action, _)| action == "ContinueDeployment")
        .map(|(_, body)| body)
        .collect();
    assert_eq!(
        continued,
        [&json!({"deploymentId": "d-NEW", "deploymentWaitType": "READY_WAIT"})],
        "continued once"
    );
    assert!(!server.actions().contains(&"StopDeployment".to_owned()));
}

#[test]
fn a_failing_gate_rolls_the_held_deployment_back() {
    let server = ScriptedEcs::start(held_code_deploy(Vec::new()));
    let (result, _) = server.deploy(&["--gate", "echo 'GET /health: 503' >&2; exit 3"]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "GET /health: 503",
            "bgtool: warning: the gate `echo 'GET /health: 503' >&2; exit 3` exited 3: rolling back deployment `d-NEW`",
            "bgtool: note: rollback requested: StopDeployment of `d-NEW` with automatic rollback",
            "bgtool: note: rolled back: deployment `d-ROLLBACK` succeeded",
            "bgtool: error: deployment `d-NEW` was rolled back: the gate `echo 'GET /health: 503' >&2; exit 3` exited 3",
        ],
    );
    let actions = server.actions();
    assert!(actions.contains(&"StopDeployment".to_owned()));
    assert!(
        !actions.contains(&"ContinueDeployment".to_owned()),
        "{actions:?}"
    );
    assert_never_deregisters(&server);
}

#[test]
fn a_gate_at_a_pause_hook_continues_the_ecs_deployment() {
    let pause = |status: &str| {
        json!([{"hookId": "h-gate", "targetType": "PAUSE", "status": status,
                "expiresAt": 4_102_444_800.0, "timeoutAction": "ROLLBACK"}])
    };
    let mut held = settled_on_previous();
    held["deploymentConfiguration"] = json!({"strategy": "BLUE_GREEN", "lifecycleHooks": [
        {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}
    ]});
    let mut after = vec![deploying("IN_PROGRESS", 2, json!([])); 4];
    after.push(deploying("COMPLETED", 2, json!([])));
    let server = ScriptedEcs::start(Script {
        before: vec![held],
        after,
        stages: vec![
            "POST_TEST_TRAFFIC_SHIFT",
            "POST_TEST_TRAFFIC_SHIFT",
            "BAKE_TIME",
        ],
        hook_details: vec![pause("AWAITING_ACTION"), pause("SUCCEEDED")],
        ..Script::default()
    });
    let (result, _) = server.deploy(&["--gate", "true"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: deploy: gate: the deployment holds with test traffic on the new version; running `true`",
            "bgtool: deploy: gate passed: hook `h-gate` continued (ContinueServiceDeployment); the deployment goes on",
        ],
    );
    let calls = server.calls();
    let continued: Vec<&Value> = calls
        .iter()
        .filter(|(action, _)| action == "ContinueServiceDeployment")
        .map(|(_, body)| body)
        .collect();
    assert_eq!(
        continued,
        [
            &json!({"serviceDeploymentArn": SERVICE_DEPLOYMENT, "hookId": "h-gate", "action": "CONTINUE"})
        ]
    );
}

#[test]
fn a_gate_nothing_holds_for_is_refused_before_anything_is_registered() {
    // A CodeDeploy group that moves traffic at once.
    let server = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        ..Script::default()
    });
    let (result, _) = server.deploy(&["--gate", "true"]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: error: `--gate` needs the deployment to hold, and deployment group `web`/`web` moves traffic without waiting",
        ],
    );
    assert!(
        !server
            .actions()
            .contains(&"RegisterTaskDefinition".to_owned())
    );
    // An ECS service without a PAUSE hook.
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        ..Script::default()
    });
    let (result, _) = server.deploy(&["--gate", "true"]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: error: `--gate` needs the deployment to hold, and service `web` has no PAUSE lifecycle hook",
        ],
    );
    assert_eq!(server.actions(), ["DescribeServices"]);
}

/// verify's checks without their permissions are warnings naming each action, and the
/// deployment goes on: a least-privilege CI role written before verify existed keeps working.
#[test]
fn verify_checks_without_their_permissions_are_warnings_not_failures() {
    let mut policy = crate::iam::example_policy();
    policy["Statement"]
        .as_array_mut()
        .unwrap()
        .retain(|statement| !statement["Sid"].as_str().unwrap().starts_with("Verify"));
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        after: vec![deploying("COMPLETED", 2, json!([]))],
        policy: Some(policy),
        ..Script::default()
    });
    let (result, _) = server.deploy(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: verify: warning: container `app`: image `123456789012.dkr.ecr.us-east-1.amazonaws.com/web:3f2a1c9d8e7b` not checked: allow `ecr:DescribeImages` to the identity bgtool runs as",
            "bgtool: verify: warning: execution role `arn:aws:iam::123456789012:role/web-execution` not checked: allow `iam:GetRole` to the identity bgtool runs as",
            "bgtool: verify: warning: task role `arn:aws:iam::123456789012:role/web-task` not checked: allow `iam:GetRole` to the identity bgtool runs as",
            "bgtool: note: verify: 0 errors, 3 warnings, 1 note",
        ],
    );
    assert!(server.actions().contains(&"UpdateService".to_owned()));
}

/// IAM's policy simulator says the execution role may not log in to ECR: ECS could not pull the
/// image, so nothing is registered and the service is left alone.
#[test]
fn an_execution_role_that_may_not_pull_stops_the_deploy_before_registering() {
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        simulator_denies: vec!["ecr:GetAuthorizationToken"],
        ..Script::default()
    });
    let (result, _) = server.deploy(&[]);
    assert_failed(&result, 1);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: verify: error: execution role `arn:aws:iam::123456789012:role/web-execution` may not `ecr:GetAuthorizationToken` on `*` to log in to ECR: no policy of the role allows it",
            "bgtool: error: the task definition failed 1 of verify's checks (above); nothing was registered",
            "hint: fix them, or pass `--no-verify` to deploy anyway",
        ],
    );
    assert_eq!(server.actions(), ["DescribeServices"]);

    // `--no-verify` skips the checks: the revision is registered and deployed.
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        after: vec![deploying("COMPLETED", 2, json!([]))],
        simulator_denies: vec!["ecr:GetAuthorizationToken"],
        ..Script::default()
    });
    let (result, _) = server.deploy(&["--no-verify"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(server.verify_actions().is_empty());
    assert!(
        server
            .actions()
            .contains(&"RegisterTaskDefinition".to_owned())
    );
}

/// An image built for arm64 (on a laptop, say) for a task that runs on x86_64: its config blob
/// says so, and nothing is registered.
#[test]
fn an_image_for_another_architecture_stops_the_deploy_before_registering() {
    let server = ScriptedEcs::start(Script {
        before: vec![settled_on_previous()],
        image_architecture: Some("arm64"),
        ..Script::default()
    });
    let (result, _) = server.deploy(&[]);
    assert_failed(&result, 1);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: verify: error: container `app`: image `123456789012.dkr.ecr.us-east-1.amazonaws.com/web:3f2a1c9d8e7b` has no `linux/amd64` variant (it has `arm64`), so its tasks cannot start",
            "bgtool: error: the task definition failed 1 of verify's checks (above); nothing was registered",
        ],
    );
    assert_eq!(server.actions(), ["DescribeServices"]);
    assert!(
        server
            .verify_actions()
            .contains(&"GetConfigBlob".to_owned())
    );
}

const PRODUCTION_RULE: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/fedcba9876543210/0a1b2c3d4e5f6a7b/8c9d0e1f2a3b4c5d";

/// `service` behind the pair `web-blue`/`web-green` of an ECS blue/green deployment, its
/// weights in [`PRODUCTION_RULE`].
fn behind_the_pair(mut service: Value) -> Value {
    service["loadBalancers"] = json!([{
        "targetGroupArn": target_group_arn("web-blue"), "containerName": "app", "containerPort": 8080,
        "advancedConfiguration": {
            "alternateTargetGroupArn": target_group_arn("web-green"),
            "productionListenerRule": PRODUCTION_RULE,
            "roleArn": "arn:aws:iam::123456789012:role/web-ecs-infrastructure"
        }
    }]);
    service
}

/// The rollback deployment CodeDeploy starts when bgtool stops `d-NEW`: it succeeds.
fn codedeploy_rollback() -> (&'static str, Vec<(Value, Value)>) {
    (
        "d-ROLLBACK",
        vec![
            look("d-ROLLBACK", "InProgress", &[], 0.0),
            look("d-ROLLBACK", "Succeeded", &[], 0.0),
        ],
    )
}

/// A CodeDeploy canary: 10% on green for three looks, then all of it, then success.
fn code_deploy_canary() -> Script {
    let shifting = look(
        "d-NEW",
        "InProgress",
        &[("AllowTraffic", "InProgress")],
        10.0,
    );
    Script {
        before: vec![code_deploy_service()],
        deployments: vec![
            (
                "d-NEW",
                vec![
                    look("d-NEW", "InProgress", &[("Install", "InProgress")], 0.0),
                    shifting.clone(),
                    shifting.clone(),
                    shifting,
                    look(
                        "d-NEW",
                        "InProgress",
                        &[("AllowTraffic", "InProgress")],
                        100.0,
                    ),
                    look(
                        "d-NEW",
                        "Succeeded",
                        &[("AllowTraffic", "Succeeded")],
                        100.0,
                    ),
                ],
            ),
            codedeploy_rollback(),
        ],
        ..Script::default()
    }
}

#[test]
fn compare_rolls_back_a_canary_whose_green_answers_more_5xx_than_blue() {
    let server = ScriptedEcs::start(Script {
        metrics: vec![json!({"green": [200.0, 30.0, 0.12], "blue": [1800.0, 2.0, 0.1]})],
        // Every call, the comparison's too, is authorized as IAM would under the example policy.
        policy: Some(crate::iam::example_policy()),
        ..code_deploy_canary()
    });
    let (result, _) = server.deploy(&[
        "--compare",
        "--application",
        "web",
        "--deployment-group",
        "web",
    ]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    let numbers = "green 200 requests, 30 5xx (15.00%), p99 120 ms; blue 1800 requests, 2 5xx (0.11%), p99 100 ms";
    let reason = format!(
        "`--compare`: green is worse than blue: its 5xx rate 15.00% is more than 1 percentage points above blue's 0.11% and more than 2x it ({numbers})"
    );
    assert_lines(
        &result.stderr,
        &[
            "bgtool: deploy: compare: green is target group `web-green`, blue is `web-blue`",
            &format!("bgtool: deploy: compare: {numbers}"),
            &format!("bgtool: warning: {reason}: rolling back deployment `d-NEW`"),
            "bgtool: note: rollback requested: StopDeployment of `d-NEW` with automatic rollback",
            "bgtool: note: rolled back: deployment `d-ROLLBACK` succeeded",
            &format!("bgtool: error: deployment `d-NEW` was rolled back: {reason}"),
        ],
    );
    let calls = server.calls();
    let asked: Vec<&Value> = calls
        .iter()
        .filter(|(action, _)| action == "GetMetricData")
        .map(|(_, body)| body)
        .collect();
    assert_eq!(asked.len(), 1, "judged on the first look at the split");
    let query = asked[0];
    assert_eq!(query["Version"], "2010-08-01");
    assert_eq!(
        query["MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value"],
        "targetgroup/web-green/0123456789abcdef"
    );
    assert_eq!(
        query["MetricDataQueries.member.4.MetricStat.Metric.Dimensions.member.1.Value"],
        "targetgroup/web-blue/0123456789abcdef"
    );
    assert_eq!(
        query["MetricDataQueries.member.4.MetricStat.Metric.Dimensions.member.2.Value"],
        "app/web/fedcba9876543210"
    );
    assert_eq!(
        query["MetricDataQueries.member.3.MetricStat.Stat"], "p99",
        "{query}"
    );
    // CodeDeploy names the task sets' target groups; their ARNs and load balancer come from ELB.
    let by_name = calls.iter().any(|(action, body)| {
        action == "DescribeTargetGroups" && body["Names.member.1"] == "web-green"
    });
    assert!(by_name, "{calls:?}");
    assert!(
        !server.actions().contains(&"ContinueDeployment".to_owned()),
        "a worse green is never let on"
    );
    assert_eq!(server.denied(), Vec::<String>::new());
}

#[test]
fn compare_lets_an_ecs_canary_go_on_while_green_is_not_worse() {
    let mut after = vec![behind_the_pair(deploying("IN_PROGRESS", 2, json!([]))); 5];
    after.push(behind_the_pair(deploying("COMPLETED", 2, json!([]))));
    let server = ScriptedEcs::start(Script {
        before: vec![behind_the_pair(settled_on_previous())],
        after,
        rule_weights: vec![
            vec![("web-blue", 100), ("web-green", 0)],
            vec![("web-blue", 90), ("web-green", 10)],
            vec![("web-blue", 90), ("web-green", 10)],
            vec![("web-blue", 0), ("web-green", 100)],
        ],
        metrics: vec![json!({"green": [300.0, 0.0, 0.09], "blue": [2700.0, 3.0, 0.095]})],
        ..Script::default()
    });
    let (result, _) = server.deploy(&["--compare"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let numbers = "green 300 requests, 0 5xx (0.00%), p99 90 ms; blue 2700 requests, 3 5xx (0.11%), p99 95 ms";
    assert_lines(
        &result.stderr,
        &[
            "bgtool: deploy: compare: green is target group `web-green`, blue is `web-blue`",
            &format!("bgtool: deploy: compare: green is not worse than blue so far ({numbers})"),
            &format!(
                "bgtool: deploy: compare: green is not worse than blue over the whole split ({numbers})"
            ),
            &format!("bgtool: note: deployment `ecs-svc/new` completed: `web` runs `{REGISTERED}`"),
        ],
    );
    let calls = server.calls();
    let rules: Vec<&Value> = calls
        .iter()
        .filter(|(action, _)| action == "DescribeRules")
        .map(|(_, body)| body)
        .collect();
    assert!(rules.len() >= 4, "{rules:?}");
    assert_eq!(rules[0]["RuleArns.member.1"], PRODUCTION_RULE);
    // Blue is the group that took all production traffic when the watch began.
    let measured = calls
        .iter()
        .find(|(action, body)| {
            action == "DescribeTargetGroups"
                && body["Action"] == "DescribeTargetGroups"
                && body["TargetGroupArns.member.2"].is_string()
        })
        .map(|(_, body)| body)
        .expect("both groups described");
    assert_eq!(
        measured["TargetGroupArns.member.1"],
        target_group_arn("web-green")
    );
    assert_eq!(
        measured["TargetGroupArns.member.2"],
        target_group_arn("web-blue")
    );
    let metric_reads = server
        .actions()
        .iter()
        .filter(|action| *action == "GetMetricData")
        .count();
    assert!(
        (2..=3).contains(&metric_reads),
        "once a minute during the split, and once when it ends: {metric_reads}"
    );
    assert!(
        !server
            .actions()
            .contains(&"StopServiceDeployment".to_owned())
    );
}

#[test]
fn compare_without_enough_traffic_goes_on_by_default_or_rolls_back_when_asked() {
    let quiet = json!({"green": [20.0, 0.0, 0.1], "blue": [180.0, 0.0, 0.1]});
    let numbers = "green 20 requests, 0 5xx (0.00%), p99 100 ms; blue 180 requests, 0 5xx (0.00%), p99 100 ms";
    let outcome = format!(
        "`--compare`: not enough data to judge the new version: green had 20 requests, fewer than the 100 `--compare-min-requests` asks for ({numbers})"
    );

    let server = ScriptedEcs::start(Script {
        metrics: vec![quiet.clone()],
        ..code_deploy_canary()
    });
    let (result, _) = server.deploy(&["--compare"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            &format!(
                "bgtool: deploy: compare: waiting for traffic: green had 20 requests, fewer than the 100 `--compare-min-requests` asks for ({numbers})"
            ),
            &format!(
                "bgtool: deploy: {outcome}; the deployment goes on (`--compare-without-data continue`, the default)"
            ),
            &format!("bgtool: note: deployment `d-NEW` succeeded: `web` runs `{REGISTERED}`"),
        ],
    );

    let server = ScriptedEcs::start(Script {
        metrics: vec![quiet],
        ..code_deploy_canary()
    });
    let (result, _) = server.deploy(&["--compare", "--compare-without-data", "roll-back"]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: note: rollback requested: StopDeployment of `d-NEW` with automatic rollback",
            &format!(
                "bgtool: error: deployment `d-NEW` was rolled back: {outcome}, and `--compare-without-data roll-back` was given"
            ),
        ],
    );

    // A lower bar judges the same traffic.
    let server = ScriptedEcs::start(Script {
        metrics: vec![json!({"green": [20.0, 0.0, 0.1], "blue": [180.0, 0.0, 0.1]})],
        ..code_deploy_canary()
    });
    let (result, _) = server.deploy(&["--compare", "--compare-min-requests", "10"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        result
            .stderr
            .contains("compare: green is not worse than blue over the whole split"),
        "{}",
        result.stderr
    );
}

#[test]
fn compare_flags_are_checked_before_anything_is_registered() {
    let server = ScriptedEcs::start(Script {
        before: vec![code_deploy_service()],
        ..Script::default()
    });
    for (extra, message) in [
        (
            &["--compare", "--no-wait"][..],
            "bgtool: error: `--compare` runs while bgtool watches the deployment; `--no-wait` does not watch",
        ),
        (
            &["--compare", "--compare-error-factor", "0.5"][..],
            "bgtool: error: `--compare-error-factor`: `0.5` is out of range; give 1 or more",
        ),
        (
            &["--compare", "--compare-latency-margin", "fast"][..],
            "bgtool: error: `--compare-latency-margin`: `fast` is not a number",
        ),
    ] {
        let (result, _) = server.deploy(extra);
        assert_eq!(result.code, 2, "{}", result.stderr);
        assert!(result.stderr.contains(message), "{}", result.stderr);
    }
    let (result, _) = server.deploy(&["--compare-min-requests", "10"]);
    assert_eq!(result.code, 2, "{}", result.stderr);
    assert!(result.stderr.contains("--compare"), "{}", result.stderr);
    assert!(server.calls().is_empty(), "{:?}", server.calls());
}

#[test]
fn an_ecs_deployment_failed_by_its_smoke_test_says_what_the_hook_saw() {
    let hooked = |mut service: Value| {
        service["deploymentConfiguration"] = json!({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0, "lifecycleHooks": [
            {"hookTargetArn": "arn:aws:lambda:us-east-1:123456789012:function:web-smoke-test",
             "roleArn": "arn:aws:iam::123456789012:role/web-ecs-hooks",
             "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}
        ]});
        service
    };
    let mut failed = deploying("FAILED", 2, json!([]));
    failed["deployments"][0]["rolloutStateReason"] =
        "Service deployment rolled back because a lifecycle hook failed.".into();
    let server = ScriptedEcs::start(Script {
        before: vec![hooked(settled_on_previous())],
        after: vec![
            hooked(deploying("IN_PROGRESS", 2, json!([]))),
            hooked(failed),
        ],
        hook_log: vec![
            "bgtool hook: ECS stage `POST_TEST_TRAFFIC_SHIFT` of `arn:aws:ecs:us-east-1:123456789012:service/main/web-admin`: GET /health: 500 after 3 ms\n",
            "bgtool hook: ECS stage `POST_TEST_TRAFFIC_SHIFT` of `arn:aws:ecs:us-east-1:123456789012:service/main/web-admin`: FAILED\n",
            "bgtool hook: ECS stage `POST_TEST_TRAFFIC_SHIFT` of `arn:aws:ecs:us-east-1:123456789012:service/main/web`: GET /health: 500 (expected 200) after 12 ms\n",
            "bgtool hook: ECS stage `POST_TEST_TRAFFIC_SHIFT` of `arn:aws:ecs:us-east-1:123456789012:service/main/web`: FAILED\n",
        ],
        ..Script::default()
    });
    let (result, _) = server.deploy(&[]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_lines(
        &result.stderr,
        &[
            "bgtool: deploy: hook `web-smoke-test`: ECS stage `POST_TEST_TRAFFIC_SHIFT` of `arn:aws:ecs:us-east-1:123456789012:service/main/web`: GET /health: 500 (expected 200) after 12 ms",
            "bgtool: deploy: hook `web-smoke-test`: ECS stage `POST_TEST_TRAFFIC_SHIFT` of `arn:aws:ecs:us-east-1:123456789012:service/main/web`: FAILED",
            "bgtool: error: deployment `ecs-svc/new` failed: Service deployment rolled back because a lifecycle hook failed.",
        ],
    );
    assert!(
        !result.stderr.contains("web-admin"),
        "another service's hook runs are not told: {}",
        result.stderr
    );
    let filtered = calls_of(&server, "FilterLogEvents");
    assert_eq!(filtered.len(), 1, "{filtered:?}");
    assert_eq!(filtered[0]["logGroupName"], "/aws/lambda/web-smoke-test");
    assert_eq!(filtered[0]["filterPattern"], "\"service/main/web\"");

    // A deployment that completes never reads the hook's log.
    let server = ScriptedEcs::start(Script {
        before: vec![hooked(settled_on_previous())],
        after: vec![hooked(deploying("COMPLETED", 2, json!([])))],
        ..Script::default()
    });
    let (result, _) = server.deploy(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(calls_of(&server, "FilterLogEvents").is_empty());
}

#[test]
fn compare_reads_real_cloudwatch_answers_from_moto() {
    // moto keeps the metrics put to it and answers GetMetricData over the Query protocol, as
    // CloudWatch does: the scripted endpoint plays ECS, CodeDeploy and Elastic Load Balancing,
    // moto plays CloudWatch.
    let clock = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    // The split's window starts at the minute it is first seen: put the data points in that
    // minute, away from its end, so that the deployment's first look (within a second or two)
    // falls in the same minute.
    if clock() % 60 > 40 {
        std::thread::sleep(Duration::from_secs(61 - clock() % 60));
    }
    let timestamp = clock().to_string();
    for (group, requests, errors) in [("moto-green", "400", "60"), ("moto-blue", "3600", "4")] {
        for (metric, value) in [
            ("RequestCount", requests),
            ("HTTPCode_Target_5XX_Count", errors),
        ] {
            let dimensions = format!(
                "TargetGroup=targetgroup/{group}/0123456789abcdef,LoadBalancer=app/web/fedcba9876543210"
            );
            let put = aws_on_moto(&[
                "cloudwatch",
                "put-metric-data",
                "--namespace",
                "AWS/ApplicationELB",
                "--metric-name",
                metric,
                "--dimensions",
                &dimensions,
                "--value",
                value,
                "--timestamp",
                &timestamp,
            ]);
            assert_eq!(put.code, 0, "{}", put.stderr);
        }
    }
    let mut canary = code_deploy_canary();
    for (_, looks) in &mut canary.deployments {
        for (_, target) in looks.iter_mut() {
            for task_set in target["taskSetsInfo"].as_array_mut().unwrap() {
                let name = task_set["targetGroup"]["name"]
                    .as_str()
                    .unwrap()
                    .replace("web-", "moto-");
                task_set["targetGroup"]["name"] = name.into();
            }
        }
    }
    let server = ScriptedEcs::start(canary);
    let result = run(server.deploy_command(&["--compare"]).env(
        "AWS_ENDPOINT_URL_CLOUDWATCH",
        crate::harness::moto_endpoint(),
    ));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result.stderr.contains(
            "bgtool: deploy: compare: green 400 requests, 60 5xx (15.00%), p99 unknown; blue 3600 requests, 4 5xx (0.11%), p99 unknown"
        ),
        "{}",
        result.stderr
    );
    assert!(
        result
            .stderr
            .contains("bgtool: error: deployment `d-NEW` was rolled back: `--compare`: green is worse than blue"),
        "{}",
        result.stderr
    );
    assert!(
        calls_of(&server, "GetMetricData").is_empty(),
        "CloudWatch was moto"
    );
}

#[test]
fn compare_says_once_when_it_cannot_tell_green_from_blue() {
    // A rolling ECS service names no production listener rule: nothing to compare.
    let script = || Script {
        before: vec![settled_on_previous()],
        after: vec![
            deploying("IN_PROGRESS", 1, json!([])),
            deploying("IN_PROGRESS", 2, json!([])),
            deploying("COMPLETED", 2, json!([])),
        ],
        ..Script::default()
    };
    let server = ScriptedEcs::start(script());
    let (result, _) = server.deploy(&["--compare"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let said = "bgtool: warning: `--compare` cannot judge this deployment: the service names no production listener rule (it is not an ECS blue/green service behind an Application Load Balancer)";
    assert_eq!(
        result.stderr.matches(said).count(),
        1,
        "said once: {}",
        result.stderr
    );
    assert!(
        result.stderr.contains(&format!(
            "{said}; the deployment goes on (`--compare-without-data continue`, the default)"
        )),
        "{}",
        result.stderr
    );
    assert!(calls_of(&server, "GetMetricData").is_empty());

    // Asked to roll back what it cannot judge, it does.
    let server = ScriptedEcs::start(Script {
        rolled_back: vec![back_on_previous()],
        ..script()
    });
    let (result, _) = server.deploy(&["--compare", "--compare-without-data", "roll-back"]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result
            .stderr
            .contains("and `--compare-without-data roll-back` was given"),
        "{}",
        result.stderr
    );
    assert!(
        server
            .actions()
            .contains(&"StopServiceDeployment".to_owned())
    );
}
