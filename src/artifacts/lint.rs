//! Lints for a registerable task definition: things ECS accepts but that break deployments or leak
//! secrets. Pure: a document in, findings out.

use serde_json::{Map, Value};

use crate::artifacts::fargate;

/// One thing worth fixing, with the container it is about (if any) and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub container: Option<String>,
    pub message: String,
    pub hint: String,
}

impl Finding {
    fn about(container: &str, message: String, hint: &str) -> Self {
        Self {
            container: Some(container.to_owned()),
            message,
            hint: hint.to_owned(),
        }
    }

    fn task(message: String, hint: &str) -> Self {
        Self {
            container: None,
            message,
            hint: hint.to_owned(),
        }
    }
}

/// Words in an environment variable's name that mark it as a secret.
const SECRET_WORDS: [&str; 8] = [
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
];

/// Every finding for `document`, task-level first, then container by container.
#[must_use]
pub fn lint_taskdef(document: &Map<String, Value>) -> Vec<Finding> {
    let containers: Vec<&Map<String, Value>> = document
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let mut findings = Vec::new();
    lint_fargate_size(document, &mut findings);
    if !containers.is_empty()
        && containers
            .iter()
            .all(|container| container.get("essential") == Some(&Value::Bool(false)))
    {
        findings.push(Finding::task(
            "no container is essential".to_owned(),
            "mark the main container `\"essential\": true`: ECS stops a task when an essential container stops, and needs at least one",
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    let awsvpc = document.get("networkMode").and_then(Value::as_str) == Some("awsvpc");
    for container in &containers {
        let name = container
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("(unnamed)");
        if seen.contains(&name) {
            findings.push(Finding::about(
                name,
                format!("the container name `{name}` is used twice"),
                "container names must be unique within a task definition",
            ));
        }
        seen.push(name);
        lint_environment(name, container, &mut findings);
        lint_image(name, container, &mut findings);
        if !container.contains_key("logConfiguration") {
            findings.push(Finding::about(
                name,
                "has no `logConfiguration`: its output is lost".to_owned(),
                "send it to CloudWatch with the awslogs log driver (or FireLens)",
            ));
        }
        if awsvpc {
            lint_awsvpc_ports(name, container, &mut findings);
        }
    }
    findings
}

fn lint_fargate_size(document: &Map<String, Value>, findings: &mut Vec<Finding>) {
    let fargate = document
        .get("requiresCompatibilities")
        .and_then(Value::as_array)
        .is_some_and(|list| list.iter().any(|item| item == "FARGATE"));
    if !fargate {
        return;
    }
    let number = |key: &str| match document.get(key) {
        Some(Value::String(text)) => text.trim().parse::<u32>().ok(),
        Some(Value::Number(number)) => number.as_u64().and_then(|value| u32::try_from(value).ok()),
        _ => None,
    };
    match (number("cpu"), number("memory")) {
        (Some(cpu), Some(memory)) => {
            if let Err(problem) = fargate::check_size(cpu, memory) {
                findings.push(Finding::task(
                    format!("task size `cpu` {cpu}, `memory` {memory}: {problem}"),
                    "RegisterTaskDefinition accepts it, but Fargate will not run it",
                ));
            }
        }
        _ => findings.push(Finding::task(
            "a Fargate task definition needs task-level `cpu` and `memory`".to_owned(),
            "set them as strings, e.g. \"cpu\": \"256\", \"memory\": \"512\"",
        )),
    }
}

fn lint_environment(name: &str, container: &Map<String, Value>, findings: &mut Vec<Finding>) {
    let Some(environment) = container.get("environment").and_then(Value::as_array) else {
        return;
    };
    for variable in environment.iter().filter_map(Value::as_object) {
        let key = variable
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if variable.contains_key("valueFrom") {
            findings.push(Finding::about(
                name,
                format!("environment variable `{key}` has `valueFrom`, which `environment` ignores"),
                "move it to `secrets`, where `valueFrom` names a Secrets Manager secret or SSM parameter",
            ));
        }
        let upper = key.to_ascii_uppercase();
        let literal = variable
            .get("value")
            .and_then(Value::as_str)
            .is_some_and(|value| !value.is_empty());
        if literal && SECRET_WORDS.iter().any(|word| upper.contains(word)) {
            findings.push(Finding::about(
                name,
                format!("environment variable `{key}` looks like a secret with a plaintext value"),
                "store it in Secrets Manager or SSM Parameter Store and reference it from `secrets`",
            ));
        }
    }
}

fn lint_image(name: &str, container: &Map<String, Value>, findings: &mut Vec<Finding>) {
    let Some(image) = container.get("image").and_then(Value::as_str) else {
        return;
    };
    if image.starts_with('<') || image.contains('@') {
        return; // a CodePipeline placeholder, or pinned by digest
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => findings.push(Finding::about(
            name,
            format!("image `{image}` has no tag, so it means `latest`"),
            "pin a tag (the commit, a version) or a digest, so every task runs the same image",
        )),
        Some((_, "latest")) => findings.push(Finding::about(
            name,
            format!("image `{image}` uses the `latest` tag"),
            "pin a tag (the commit, a version) or a digest, so every task runs the same image",
        )),
        Some(_) => {}
    }
}

fn lint_awsvpc_ports(name: &str, container: &Map<String, Value>, findings: &mut Vec<Finding>) {
    let Some(mappings) = container.get("portMappings").and_then(Value::as_array) else {
        return;
    };
    for mapping in mappings {
        let container_port = mapping.get("containerPort").and_then(Value::as_u64);
        let host_port = mapping.get("hostPort").and_then(Value::as_u64);
        if let (Some(container_port), Some(host_port)) = (container_port, host_port)
            && host_port != container_port
        {
            findings.push(Finding::about(
                name,
                format!("`hostPort` {host_port} differs from `containerPort` {container_port} in awsvpc mode"),
                "in awsvpc mode the two must match (or leave `hostPort` out); a load balancer could not reach this port",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn lint(value: &Value) -> Vec<String> {
        lint_taskdef(value.as_object().unwrap())
            .into_iter()
            .map(|finding| finding.message)
            .collect()
    }

    fn clean() -> Value {
        json!({
            "family": "web",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [{
                "name": "app",
                "image": "repo/app:1.2.3",
                "essential": true,
                "portMappings": [{"containerPort": 8080, "hostPort": 8080}],
                "environment": [{"name": "PASSWORD_FILE_PATH", "value": ""}],
                "logConfiguration": {"logDriver": "awslogs"}
            }]
        })
    }

    #[test]
    fn a_sound_task_definition_has_no_findings() {
        assert_eq!(lint(&clean()), Vec::<String>::new());
    }

    #[test]
    fn each_lint_fires_on_its_mistake() {
        let mut broken = clean();
        broken["cpu"] = json!("256");
        broken["memory"] = json!("4096");
        let container = &mut broken["containerDefinitions"][0];
        container["essential"] = json!(false);
        container["image"] = json!("repo/app");
        container["portMappings"] = json!([{"containerPort": 8080, "hostPort": 80}]);
        container["environment"] = json!([
            {"name": "DB_PASSWORD", "value": "hunter2"},
            {"name": "API_TOKEN", "valueFrom": "arn:aws:ssm:us-east-1:1:parameter/x"}
        ]);
        container
            .as_object_mut()
            .unwrap()
            .remove("logConfiguration");
        let second = json!({"name": "app", "image": "repo/side:latest", "essential": false, "logConfiguration": {}});
        broken["containerDefinitions"]
            .as_array_mut()
            .unwrap()
            .push(second);
        let messages = lint(&broken);
        for expected in [
            "task size `cpu` 256, `memory` 4096",
            "no container is essential",
            "the container name `app` is used twice",
            "`DB_PASSWORD` looks like a secret",
            "`API_TOKEN` has `valueFrom`",
            "image `repo/app` has no tag",
            "image `repo/side:latest` uses the `latest` tag",
            "has no `logConfiguration`",
            "`hostPort` 80 differs from `containerPort` 8080",
        ] {
            assert!(
                messages.iter().any(|message| message.contains(expected)),
                "{expected}: {messages:?}"
            );
        }
    }

    #[test]
    fn placeholders_digests_and_registry_ports_are_not_untagged_images() {
        let mut document = clean();
        for image in [
            "<IMAGE1_NAME>",
            "repo/app@sha256:0123",
            "localhost:5000/app:1",
        ] {
            document["containerDefinitions"][0]["image"] = json!(image);
            assert_eq!(lint(&document), Vec::<String>::new(), "{image}");
        }
        document["containerDefinitions"][0]["image"] = json!("localhost:5000/app");
        assert_eq!(lint(&document).len(), 1);
    }
}
