//! Why a lifecycle hook failed, in `deploy`'s own output: CodeDeploy's and ECS's hook results
//! carry no reason, so after a failed deployment bgtool reads what `bgtool hook` wrote about it to
//! its function's CloudWatch log group. Pure: which functions, which log group, which lines.

use serde_json::Value;

/// What every line `bgtool hook` writes about an invocation starts with.
pub const LINE_PREFIX: &str = "bgtool hook: ";

/// The last word of a run whose checks did not all pass.
const FAILED: &str = "FAILED";

/// One line `bgtool hook` writes to its log (standard error, which Lambda sends to the
/// function's log group) about the invocation `subject`.
#[must_use]
pub fn line(subject: &str, text: &str) -> String {
    format!("{LINE_PREFIX}{subject}: {text}")
}

/// The last line of a run: `passed` or `FAILED`.
#[must_use]
pub fn outcome_line(subject: &str, passed: bool) -> String {
    line(subject, if passed { "passed" } else { FAILED })
}

/// How the hook names a CodeDeploy invocation.
#[must_use]
pub fn code_deploy_subject(deployment_id: &str) -> String {
    format!("CodeDeploy deployment `{deployment_id}`")
}

/// How the hook names an ECS invocation (`service` is the event's service ARN).
#[must_use]
pub fn ecs_subject(stage: &str, service: Option<&str>) -> String {
    format!(
        "ECS stage `{stage}` of `{}`",
        service.unwrap_or("a service")
    )
}

/// What `deploy` looks for in a CodeDeploy deployment's lines: the deployment ID, quoted.
#[must_use]
pub fn code_deploy_match(deployment_id: &str) -> String {
    format!("`{deployment_id}`")
}

/// What `deploy` looks for in an ECS service's lines: the end of its ARN, quoted, so that
/// `web` does not match `web-admin`. `cluster` may be a name or an ARN.
#[must_use]
pub fn ecs_match(cluster: &str, service: &str) -> String {
    let cluster = cluster.rsplit('/').next().unwrap_or(cluster);
    format!("service/{cluster}/{service}`")
}

/// A hook's Lambda function, from its name or ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookFunction {
    pub name: String,
    /// The ARN's Region, when an ARN names it: where its log group is.
    pub region: Option<String>,
}

impl HookFunction {
    /// `NAME`, `NAME:ALIAS`, or `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
    #[must_use]
    pub fn parse(reference: &str) -> Option<Self> {
        let reference = reference.trim();
        if let Some(rest) = reference.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.split(':').collect();
            return match parts.as_slice() {
                [_, "lambda", region, _, "function", name, ..] if !name.is_empty() => Some(Self {
                    name: (*name).to_owned(),
                    region: Some((*region).to_owned()),
                }),
                _ => None,
            };
        }
        let name = reference.split(':').next().unwrap_or_default();
        (!name.is_empty()).then(|| Self {
            name: name.to_owned(),
            region: None,
        })
    }

    /// Where Lambda writes the function's lines (the stack's smoke test creates this group).
    #[must_use]
    pub fn log_group(&self) -> String {
        format!("/aws/lambda/{}", self.name)
    }
}

/// The functions of an AppSpec's `Hooks` (YAML or JSON), in order, each once.
#[must_use]
pub fn appspec_functions(appspec: &str) -> Vec<HookFunction> {
    let Ok(document) = serde_norway::from_str::<serde_norway::Value>(appspec) else {
        return Vec::new();
    };
    let references = document
        .get("Hooks")
        .and_then(serde_norway::Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(serde_norway::Value::as_mapping)
        .flat_map(|hook| hook.values().filter_map(serde_norway::Value::as_str));
    unique(references)
}

/// The Lambda functions of an ECS service's lifecycle hooks (its `deploymentConfiguration`).
#[must_use]
pub fn ecs_functions(deployment_configuration: Option<&Value>) -> Vec<HookFunction> {
    let references = deployment_configuration
        .and_then(|configuration| configuration.get("lifecycleHooks"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|hook| {
            hook.get("targetType")
                .and_then(Value::as_str)
                .is_none_or(|kind| kind == "AWS_LAMBDA")
        })
        .filter_map(|hook| hook.get("hookTargetArn").and_then(Value::as_str));
    unique(references)
}

fn unique<'text>(references: impl Iterator<Item = &'text str>) -> Vec<HookFunction> {
    let mut functions: Vec<HookFunction> = Vec::new();
    for function in references.filter_map(HookFunction::parse) {
        if !functions.contains(&function) {
            functions.push(function);
        }
    }
    functions
}

/// The lines `bgtool hook` logged about the runs that name `subject` (a CodeDeploy deployment ID,
/// or `service/CLUSTER/SERVICE` of an ECS service) without the prefix, if one of them says the
/// run FAILED; nothing when every run passed, so a passing hook adds no noise to a failure.
#[must_use]
pub fn failed_run_lines(messages: &[String], subject: &str) -> Vec<String> {
    let lines: Vec<String> = messages
        .iter()
        .flat_map(|message| message.lines())
        .filter_map(|line| line.trim().strip_prefix(LINE_PREFIX))
        .filter(|line| line.contains(subject))
        .map(ToOwned::to_owned)
        .collect();
    let failed = format!(": {FAILED}");
    if lines.iter().any(|line| line.ends_with(&failed)) {
        lines
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn functions_are_named_by_name_or_arn() {
        assert_eq!(
            HookFunction::parse(
                "arn:aws:lambda:eu-west-1:123456789012:function:web-smoke-test:live"
            ),
            Some(HookFunction {
                name: "web-smoke-test".to_owned(),
                region: Some("eu-west-1".to_owned())
            })
        );
        let plain = HookFunction::parse("web-smoke-test").unwrap();
        assert_eq!(plain.region, None);
        assert_eq!(plain.log_group(), "/aws/lambda/web-smoke-test");
        assert_eq!(HookFunction::parse("arn:aws:s3:::bucket"), None);
        assert_eq!(HookFunction::parse(""), None);
    }

    #[test]
    fn an_appspec_names_its_hook_functions_once_each() {
        let appspec = "version: 0.0\nResources: []\nHooks:\n  - AfterAllowTestTraffic: web-smoke-test\n  - BeforeAllowTraffic: \"arn:aws:lambda:us-east-1:123456789012:function:web-check\"\n  - AfterAllowTraffic: web-smoke-test\n";
        let names: Vec<String> = appspec_functions(appspec)
            .into_iter()
            .map(|function| function.name)
            .collect();
        assert_eq!(names, ["web-smoke-test", "web-check"]);
        assert!(appspec_functions("{not yaml").is_empty());
    }

    #[test]
    fn an_ecs_service_names_its_lambda_hooks_not_its_pauses() {
        let configuration = json!({"lifecycleHooks": [
            {"hookTargetArn": "arn:aws:lambda:us-east-1:123456789012:function:web-smoke-test", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]},
            {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}
        ]});
        let functions = ecs_functions(Some(&configuration));
        assert_eq!(functions.len(), 1);
        assert_eq!(functions[0].name, "web-smoke-test");
        assert!(ecs_functions(None).is_empty());
    }

    #[test]
    fn what_the_hook_writes_is_what_deploy_reads() {
        let web = "arn:aws:ecs:us-east-1:123456789012:service/main/web";
        let admin = "arn:aws:ecs:us-east-1:123456789012:service/main/web-admin";
        let run = |subject: &str| {
            vec![
                line(subject, "GET /health: 500 (expected 200) after 12 ms"),
                outcome_line(subject, false),
            ]
        };
        let mut messages = run(&ecs_subject("POST_TEST_TRAFFIC_SHIFT", Some(admin)));
        messages.extend(run(&ecs_subject("POST_TEST_TRAFFIC_SHIFT", Some(web))));
        let told = failed_run_lines(
            &messages,
            &ecs_match("arn:aws:ecs:us-east-1:123456789012:cluster/main", "web"),
        );
        assert_eq!(told.len(), 2, "{told:?}");
        assert!(
            told.iter().all(|line| line.contains("/main/web`")),
            "{told:?}"
        );
        let messages = run(&code_deploy_subject("d-NEW"));
        assert_eq!(
            failed_run_lines(&messages, &code_deploy_match("d-NEW")).len(),
            2
        );
        assert!(failed_run_lines(&messages, &code_deploy_match("d-NE")).is_empty());
    }

    #[test]
    fn only_a_failed_run_about_the_subject_is_told() {
        let messages: Vec<String> = [
            "START RequestId: 1 Version: $LATEST",
            "bgtool hook: CodeDeploy deployment `d-OLD`: GET /health: 500 after 12 ms",
            "bgtool hook: CodeDeploy deployment `d-OLD`: FAILED",
            "bgtool hook: CodeDeploy deployment `d-NEW`: GET /health: 500 (expected 200) after 31 ms\n",
            "bgtool hook: CodeDeploy deployment `d-NEW`: FAILED\n",
            "END RequestId: 1",
        ]
        .map(ToOwned::to_owned)
        .to_vec();
        assert_eq!(
            failed_run_lines(&messages, "`d-NEW`"),
            [
                "CodeDeploy deployment `d-NEW`: GET /health: 500 (expected 200) after 31 ms",
                "CodeDeploy deployment `d-NEW`: FAILED"
            ]
        );
        let passed = vec![
            "bgtool hook: CodeDeploy deployment `d-NEW`: GET /health: 200 after 9 ms".to_owned(),
            "bgtool hook: CodeDeploy deployment `d-NEW`: passed".to_owned(),
        ];
        assert!(failed_run_lines(&passed, "`d-NEW`").is_empty());
    }
}
