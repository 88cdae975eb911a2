//! A small IAM evaluator for the scripted endpoint: which IAM actions and resource ARNs each API
//! call is authorized against (per the Service Authorization Reference), and whether an
//! identity policy's Allow statements cover them. Enough of IAM to prove that the example policy
//! lets `bgtool deploy` work in an account it does not own alone, and to catch a statement whose
//! Resource IAM would never match.

use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// One authorization IAM makes for a call: the action, the resource ARN (`*` for actions with no
/// resource type), and the request's condition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub action: String,
    pub resource: String,
    pub context: Vec<(&'static str, String)>,
}

fn authorization(action: &str, resource: String) -> Authorization {
    Authorization {
        action: action.to_owned(),
        resource,
        context: Vec::new(),
    }
}

fn ecs_arn(kind: &str, rest: &str) -> String {
    format!("arn:aws:ecs:{REGION}:{ACCOUNT}:{kind}/{rest}")
}

fn codedeploy_arn(kind: &str, rest: &str) -> String {
    format!("arn:aws:codedeploy:{REGION}:{ACCOUNT}:{kind}:{rest}")
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// The authorizations of API call `action` with request `body`. `deployment_group` names the
/// group a CodeDeploy deployment ID belongs to (GetDeployment is authorized on the group).
pub fn authorizations(
    action: &str,
    body: &Value,
    deployment_group: impl Fn(&str) -> String,
) -> Vec<Authorization> {
    ecs_authorizations(action, body)
        .or_else(|| verify_authorizations(action, body))
        .unwrap_or_else(|| codedeploy_authorizations(action, body, deployment_group))
}

/// ECS's and Elastic Load Balancing's calls; `None` for another service's.
fn ecs_authorizations(action: &str, body: &Value) -> Option<Vec<Authorization>> {
    let cluster = text(&body["cluster"]);
    let cluster_arn = || ecs_arn("cluster", cluster);
    let needed = match action {
        "DescribeServices" => body["services"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|service| {
                authorization(
                    "ecs:DescribeServices",
                    ecs_arn("service", &format!("{cluster}/{}", text(service))),
                )
            })
            .collect(),
        "UpdateService" | "ListServiceDeployments" => vec![authorization(
            &format!("ecs:{action}"),
            ecs_arn("service", &format!("{cluster}/{}", text(&body["service"]))),
        )],
        "StopServiceDeployment" | "ContinueServiceDeployment" => vec![authorization(
            &format!("ecs:{action}"),
            text(&body["serviceDeploymentArn"]).to_owned(),
        )],
        "DescribeServiceDeployments" => body["serviceDeploymentArns"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|arn| authorization("ecs:DescribeServiceDeployments", text(arn).to_owned()))
            .collect(),
        "RegisterTaskDefinition" => {
            let mut needed = vec![authorization("ecs:RegisterTaskDefinition", "*".to_owned())];
            if body["tags"].as_array().is_some_and(|tags| !tags.is_empty()) {
                let mut tagging = authorization(
                    "ecs:TagResource",
                    ecs_arn("task-definition", &format!("{}:2", text(&body["family"]))),
                );
                tagging
                    .context
                    .push(("ecs:CreateAction", "RegisterTaskDefinition".to_owned()));
                needed.push(tagging);
            }
            for role in ["taskRoleArn", "executionRoleArn"] {
                if let Some(arn) = body[role].as_str() {
                    let mut pass = authorization("iam:PassRole", arn.to_owned());
                    pass.context
                        .push(("iam:PassedToService", "ecs-tasks.amazonaws.com".to_owned()));
                    needed.push(pass);
                }
            }
            needed
        }
        "DescribeTaskDefinition" => {
            vec![authorization("ecs:DescribeTaskDefinition", "*".to_owned())]
        }
        "ListTasks" | "DescribeTasks" => {
            let mut needed = authorization(&format!("ecs:{action}"), "*".to_owned());
            needed.context.push(("ecs:cluster", cluster_arn()));
            vec![needed]
        }
        "DescribeTargetHealth" | "DescribeRules" => vec![authorization(
            &format!("elasticloadbalancing:{action}"),
            "*".to_owned(),
        )],
        // Authorized on the log group (the Service Authorization Reference's `log-group`).
        "FilterLogEvents" => vec![authorization(
            "logs:FilterLogEvents",
            format!(
                "arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{}",
                text(&body["logGroupName"])
            ),
        )],
        // CloudWatch's GetMetricData has no resource type.
        "GetMetricData" => vec![authorization("cloudwatch:GetMetricData", "*".to_owned())],
        _ => return None,
    };
    Some(needed)
}

/// The read-only calls of `bgtool verify` (which `deploy` runs first); `None` for another's.
fn verify_authorizations(action: &str, body: &Value) -> Option<Vec<Authorization>> {
    let needed = match action {
        "DescribeImages" | "BatchGetImage" | "GetDownloadUrlForLayer" => vec![authorization(
            &format!("ecr:{action}"),
            format!(
                "arn:aws:ecr:{REGION}:{}:repository/{}",
                text(&body["registryId"]),
                text(&body["repositoryName"])
            ),
        )],
        "GetRole" => vec![authorization(
            "iam:GetRole",
            format!("arn:aws:iam::{ACCOUNT}:role/{}", text(&body["RoleName"])),
        )],
        "SimulatePrincipalPolicy" => vec![authorization(
            "iam:SimulatePrincipalPolicy",
            text(&body["PolicySourceArn"]).to_owned(),
        )],
        "DescribeSecret" | "GetSecretValue" => vec![authorization(
            &format!("secretsmanager:{action}"),
            text(&body["SecretId"]).to_owned(),
        )],
        "DescribeLogGroups" => vec![authorization(
            "logs:DescribeLogGroups",
            format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"),
        )],
        // The Service Authorization Reference lists no resource type for these.
        "DescribeParameters" => vec![authorization("ssm:DescribeParameters", "*".to_owned())],
        "DescribeTargetGroups" => vec![authorization(
            "elasticloadbalancing:DescribeTargetGroups",
            "*".to_owned(),
        )],
        _ => return None,
    };
    Some(needed)
}

/// CodeDeploy's calls.
fn codedeploy_authorizations(
    action: &str,
    body: &Value,
    deployment_group: impl Fn(&str) -> String,
) -> Vec<Authorization> {
    match action {
        "ListApplications" => vec![authorization("codedeploy:ListApplications", "*".to_owned())],
        "ListDeploymentGroups" => vec![authorization(
            "codedeploy:ListDeploymentGroups",
            codedeploy_arn("application", text(&body["applicationName"])),
        )],
        "GetDeploymentGroup" | "ListDeployments" | "CreateDeployment" => vec![authorization(
            &format!("codedeploy:{action}"),
            codedeploy_arn(
                "deploymentgroup",
                &format!(
                    "{}/{}",
                    text(&body["applicationName"]),
                    text(&body["deploymentGroupName"])
                ),
            ),
        )],
        "BatchGetDeploymentGroups" => body["deploymentGroupNames"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|name| {
                authorization(
                    "codedeploy:BatchGetDeploymentGroups",
                    codedeploy_arn(
                        "deploymentgroup",
                        &format!("{}/{}", text(&body["applicationName"]), text(name)),
                    ),
                )
            })
            .collect(),
        "GetDeploymentConfig" => vec![authorization(
            "codedeploy:GetDeploymentConfig",
            codedeploy_arn("deploymentconfig", text(&body["deploymentConfigName"])),
        )],
        "GetDeployment" => vec![authorization(
            "codedeploy:GetDeployment",
            codedeploy_arn(
                "deploymentgroup",
                &deployment_group(text(&body["deploymentId"])),
            ),
        )],
        // The Service Authorization Reference lists no resource type for these.
        "ListDeploymentTargets"
        | "GetDeploymentTarget"
        | "StopDeployment"
        | "ContinueDeployment" => {
            vec![authorization(
                &format!("codedeploy:{action}"),
                "*".to_owned(),
            )]
        }
        other => panic!("the IAM evaluator does not know `{other}`: add its authorization"),
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` one character.
fn matches(pattern: &str, value: &str) -> bool {
    let (pattern, value): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), value.chars().collect());
    let (mut p, mut v, mut star, mut mark) = (0, 0, None, 0);
    while v < value.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == value[v]) {
            p += 1;
            v += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = v;
            p += 1;
        } else if let Some(position) = star {
            p = position + 1;
            mark += 1;
            v = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|character| *character == '*')
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many.iter().map(|item| text(item).to_owned()).collect(),
        _ => Vec::new(),
    }
}

/// Every condition of the statement holds for the request's context (StringEquals, ArnEquals,
/// ArnLike, StringLike; a key the request lacks fails the condition, as in IAM).
fn conditions_hold(statement: &Value, context: &[(&'static str, String)]) -> bool {
    let Some(conditions) = statement["Condition"].as_object() else {
        return true;
    };
    conditions.iter().all(|(operator, keys)| {
        keys.as_object()
            .into_iter()
            .flatten()
            .all(|(key, expected)| {
                let Some((_, actual)) = context.iter().find(|(name, _)| name == key) else {
                    return false;
                };
                let expected = strings(expected);
                match operator.as_str() {
                    "StringEquals" | "ArnEquals" => expected.iter().any(|value| value == actual),
                    "StringLike" | "ArnLike" => expected.iter().any(|value| matches(value, actual)),
                    other => panic!("the IAM evaluator does not know condition operator `{other}`"),
                }
            })
    })
}

/// Whether the policy's Allow statements grant `needed` (no Deny statements are used here).
pub fn allows(policy: &Value, needed: &Authorization) -> bool {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|statement| {
            statement["Effect"] == "Allow"
                && strings(&statement["Action"]).iter().any(|action| {
                    matches(
                        &action.to_ascii_lowercase(),
                        &needed.action.to_ascii_lowercase(),
                    )
                })
                && strings(&statement["Resource"])
                    .iter()
                    .any(|resource| matches(resource, &needed.resource))
                && conditions_hold(statement, &needed.context)
        })
}

/// examples/deploy-policy.json with its placeholders filled in for the scripted account:
/// cluster `main`, service `web`, family `web`, log group `/ecs/web`, CodeDeploy application and
/// group `web`, ECR repository `web`, secrets named `web/…`.
pub fn example_policy() -> Value {
    let text =
        std::fs::read_to_string(crate::harness::repository().join("examples/deploy-policy.json"))
            .unwrap()
            .replace("LOG_GROUP", "/ecs/web")
            .replace("HOOK_FUNCTION", "web-smoke-test")
            .replace("REPOSITORY", "web")
            .replace("SECRET_PREFIX", "web/")
            .replace("REGION", REGION)
            .replace("ACCOUNT_ID", ACCOUNT)
            .replace("CLUSTER", "main")
            .replace("DEPLOYMENT_GROUP", "web")
            .replace("APPLICATION", "web")
            .replace("SERVICE", "web")
            .replace("FAMILY", "web")
            .replace("TASK_ROLE", "web-task")
            .replace("EXECUTION_ROLE", "web-execution");
    let policy: Value = serde_json::from_str(&text).unwrap();
    for statement in policy["Statement"].as_array().unwrap() {
        for resource in strings(&statement["Resource"]) {
            assert!(
                !resource
                    .chars()
                    .any(|character| character.is_ascii_uppercase()),
                "a placeholder is left in the example policy: {resource}"
            );
        }
    }
    policy
}

/// The AccessDenied answer AWS gives, in the JSON protocol's form.
pub fn denied(needed: &Authorization) -> Value {
    json!({
        "__type": "AccessDeniedException",
        "message": format!(
            "User: arn:aws:sts::{ACCOUNT}:assumed-role/ci/bgtool is not authorized to perform: {} on resource: {} because no identity-based policy allows the {} action",
            needed.action, needed.resource, needed.action
        )
    })
}

#[test]
fn wildcards_match_as_iam_matches_them() {
    assert!(matches("*", "arn:aws:ecs:us-east-1:1:service/main/web"));
    assert!(matches(
        "arn:aws:ecs:us-east-1:1:service-deployment/main/web/*",
        "arn:aws:ecs:us-east-1:1:service-deployment/main/web/aBcD"
    ));
    assert!(!matches(
        "arn:aws:ecs:us-east-1:1:service/main/web",
        "arn:aws:ecs:us-east-1:1:service/main/web-2"
    ));
    assert!(matches(
        "codedeploy:Get?eployment",
        "codedeploy:GetDeployment"
    ));
    assert!(!matches("codedeploy:Get*Group", "codedeploy:GetDeployment"));
}

#[test]
fn the_example_policy_refuses_other_teams_groups_and_allows_stopping_deployments() {
    let policy = example_policy();
    let group = |_: &str| "web/web".to_owned();
    let allowed = |action: &str, body: Value| {
        authorizations(action, &body, group)
            .iter()
            .all(|needed| allows(&policy, needed))
    };
    assert!(allowed(
        "BatchGetDeploymentGroups",
        json!({"applicationName": "web", "deploymentGroupNames": ["web"]})
    ));
    assert!(!allowed(
        "BatchGetDeploymentGroups",
        json!({"applicationName": "web", "deploymentGroupNames": ["web", "web-canary"]})
    ));
    assert!(!allowed(
        "ListDeploymentGroups",
        json!({"applicationName": "payments"})
    ));
    assert!(allowed("StopDeployment", json!({"deploymentId": "d-NEW"})));
    assert!(allowed(
        "ListTasks",
        json!({"cluster": "main", "startedBy": "ecs-svc/1"})
    ));
    assert!(!allowed(
        "ListTasks",
        json!({"cluster": "staging", "startedBy": "ecs-svc/1"})
    ));
    assert!(!allowed(
        "UpdateService",
        json!({"cluster": "main", "service": "payments"})
    ));
}
