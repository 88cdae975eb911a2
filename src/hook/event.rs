//! The events a lifecycle hook's Lambda function is invoked with, the checks they ask for, and the
//! answer ECS expects. No I/O.

use serde_json::{Value, json};

/// Who invoked the hook, and what it needs to report back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookEvent {
    /// A CodeDeploy ECS lifecycle hook (AfterAllowTestTraffic, …): the event names only the
    /// deployment and the hook execution, and the result goes back through
    /// PutLifecycleEventHookExecutionStatus.
    CodeDeploy {
        deployment_id: String,
        execution_id: String,
    },
    /// An ECS-native lifecycle hook: the function's answer (`hookStatus`) is the result.
    Ecs {
        stage: String,
        service: Option<String>,
        /// The hook's `hookDetails`, which may name the checks for this service.
        details: Option<Value>,
    },
}

/// Reads a Lambda event as one of the two kinds of lifecycle hook.
///
/// # Errors
/// An event of neither kind, named by its keys.
pub fn classify(event: &Value) -> Result<HookEvent, String> {
    let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    if let (Some(deployment_id), Some(execution_id)) = (
        text(event, "DeploymentId"),
        text(event, "LifecycleEventHookExecutionId"),
    ) {
        return Ok(HookEvent::CodeDeploy {
            deployment_id,
            execution_id,
        });
    }
    if let Some(stage) = text(event, "lifecycleStage") {
        // ECS wraps the deployment's details in `executionDetails`; an older form of its guide
        // showed them at the top level.
        let details = event.get("executionDetails").unwrap_or(event);
        return Ok(HookEvent::Ecs {
            stage,
            service: text(details, "serviceArn"),
            details: event
                .get("hookDetails")
                .filter(|value| !value.is_null())
                .cloned(),
        });
    }
    let keys = event
        .as_object()
        .map(|object| object.keys().cloned().collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    Err(format!(
        "the event is neither a CodeDeploy lifecycle hook (DeploymentId, LifecycleEventHookExecutionId) nor an ECS one (lifecycleStage); its keys: {}",
        if keys.is_empty() { "none" } else { &keys }
    ))
}

/// What to check: the base URL and the checks, from the function's environment
/// (`BGTOOL_HOOK_BASE_URL`, `BGTOOL_HOOK_CHECKS`: one check per line or separated by `;`), each
/// replaced by the ECS hook's `hookDetails` (`baseUrl`, `checks`: a list or one string) when it
/// names one, so that one function can serve several services.
#[must_use]
pub fn plan(
    base_url: Option<&str>,
    checks: Option<&str>,
    details: Option<&Value>,
) -> (Option<String>, Vec<String>) {
    let split = |text: &str| -> Vec<String> {
        text.split(['\n', ';'])
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut base = base_url
        .map(str::trim)
        .filter(|base| !base.is_empty())
        .map(str::to_owned);
    let mut lines = checks.map(split).unwrap_or_default();
    if let Some(details) = details {
        if let Some(detail_base) = details.get("baseUrl").and_then(Value::as_str) {
            base = Some(detail_base.to_owned());
        }
        match details.get("checks") {
            Some(Value::String(text)) => lines = split(text),
            Some(Value::Array(items)) => {
                lines = items
                    .iter()
                    .filter_map(Value::as_str)
                    .flat_map(split)
                    .collect();
            }
            _ => {}
        }
    }
    (base, lines)
}

/// The answer to an ECS lifecycle hook.
#[must_use]
pub fn ecs_answer(passed: bool) -> Value {
    json!({"hookStatus": if passed { "SUCCEEDED" } else { "FAILED" }})
}

/// The status PutLifecycleEventHookExecutionStatus reports to CodeDeploy.
#[must_use]
pub const fn code_deploy_status(passed: bool) -> &'static str {
    if passed { "Succeeded" } else { "Failed" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_deploy_and_ecs_events_are_told_apart() {
        let code_deploy = json!({"DeploymentId": "d-ABC", "LifecycleEventHookExecutionId": "eyJ"});
        assert_eq!(
            classify(&code_deploy).unwrap(),
            HookEvent::CodeDeploy {
                deployment_id: "d-ABC".to_owned(),
                execution_id: "eyJ".to_owned()
            }
        );
        let service = "arn:aws:ecs:us-east-1:123456789012:service/main/web";
        let wrapped = json!({
            "executionId": "x", "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
            "resourceArn": "arn:aws:ecs:us-east-1:123456789012:service-deployment/main/web/1",
            "executionDetails": {"serviceArn": service, "testTrafficWeights": {}},
            "hookDetails": {"checks": ["/health"]}
        });
        assert_eq!(
            classify(&wrapped).unwrap(),
            HookEvent::Ecs {
                stage: "POST_TEST_TRAFFIC_SHIFT".to_owned(),
                service: Some(service.to_owned()),
                details: Some(json!({"checks": ["/health"]})),
            }
        );
        let flat = json!({"lifecycleStage": "PRE_SCALE_UP", "serviceArn": service});
        assert!(matches!(
            classify(&flat).unwrap(),
            HookEvent::Ecs {
                service: Some(_),
                details: None,
                ..
            }
        ));
        let error = classify(&json!({"Records": []})).unwrap_err();
        assert!(error.contains("its keys: Records"), "{error}");
    }

    #[test]
    fn hook_details_replace_the_environment_for_one_service() {
        let (base, checks) = plan(
            Some("http://alb:8080"),
            Some("/health\n GET /ready status=200 ; /version contains=1."),
            None,
        );
        assert_eq!(base.as_deref(), Some("http://alb:8080"));
        assert_eq!(
            checks,
            ["/health", "GET /ready status=200", "/version contains=1."]
        );
        let details = json!({"baseUrl": "http://other:9000", "checks": ["/ping", "/a; /b"]});
        let (base, checks) = plan(Some("http://alb:8080"), Some("/health"), Some(&details));
        assert_eq!(base.as_deref(), Some("http://other:9000"));
        assert_eq!(checks, ["/ping", "/a", "/b"]);
        let (base, checks) = plan(Some(" "), None, Some(&json!({"note": 1})));
        assert_eq!((base, checks), (None, Vec::<String>::new()));
    }

    #[test]
    fn answers_are_what_each_service_expects() {
        assert_eq!(ecs_answer(true), json!({"hookStatus": "SUCCEEDED"}));
        assert_eq!(ecs_answer(false), json!({"hookStatus": "FAILED"}));
        assert_eq!(code_deploy_status(false), "Failed");
    }
}
