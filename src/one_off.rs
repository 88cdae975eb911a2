//! A one-off task beside a service (`bgtool run`): which container runs the command, how the task
//! is placed (the service's own network, capacity and platform), where its logs go, and how it
//! ended. Pure: descriptions come in as data.

use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::Value;

use crate::deployment::service::{
    AwsvpcConfiguration, CapacityProviderStrategyItem, ServiceDescription,
};

/// What RunTask is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    pub cluster: String,
    pub task_definition: String,
    pub container: String,
    pub command: Vec<String>,
    pub network: Option<AwsvpcConfiguration>,
    pub capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
    /// Only when there is no capacity provider strategy: RunTask takes one or the other.
    pub launch_type: Option<String>,
    pub platform_version: Option<String>,
    /// `startedBy`, so the task can be told apart from the service's own.
    pub started_by: String,
}

/// Where a container's awslogs lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLocation {
    pub group: String,
    pub stream: String,
    /// `awslogs-region`, when it names one.
    pub region: Option<String>,
}

/// A task as DescribeTasks tells it, enough to follow it and say how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TaskState {
    pub task_arn: String,
    pub last_status: String,
    pub stopped_reason: Option<String>,
    pub stop_code: Option<String>,
    pub containers: Vec<ContainerState>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerState {
    pub name: String,
    pub last_status: Option<String>,
    pub exit_code: Option<i64>,
    pub reason: Option<String>,
}

/// How the command's container ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// It ran and exited with this code.
    Exited(i64),
    /// It never ran, or was stopped without an exit code: why, as ECS says it.
    NoExitCode(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContainerChoiceError {
    #[error("task definition `{task_definition}` has no container `{named}` (it has {found})")]
    NotFound {
        task_definition: String,
        named: String,
        found: String,
    },
    #[error("task definition `{task_definition}` has {found}: name the one to run the command in")]
    Ambiguous {
        task_definition: String,
        found: String,
    },
}

fn container_names(task_definition: &Value) -> Vec<&str> {
    task_definition["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|container| container["name"].as_str())
        .collect()
}

fn listed(names: &[&str]) -> String {
    if names.is_empty() {
        return "no container".to_owned();
    }
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    format!("containers {}", quoted.join(", "))
}

/// The container the command runs in: the one named, or the task definition's only container, or
/// its only essential one.
///
/// # Errors
/// A name that is not there, or several candidates and no name.
pub fn choose_container(
    arn: &str,
    task_definition: &Value,
    named: Option<&str>,
) -> Result<String, ContainerChoiceError> {
    let all = container_names(task_definition);
    if let Some(named) = named {
        return if all.contains(&named) {
            Ok(named.to_owned())
        } else {
            Err(ContainerChoiceError::NotFound {
                task_definition: arn.to_owned(),
                named: named.to_owned(),
                found: listed(&all),
            })
        };
    }
    if let [only] = all.as_slice() {
        return Ok((*only).to_owned());
    }
    let essential: Vec<&str> = task_definition["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|container| container["essential"].as_bool().unwrap_or(true))
        .filter_map(|container| container["name"].as_str())
        .collect();
    match essential.as_slice() {
        [only] => Ok((*only).to_owned()),
        _ => Err(ContainerChoiceError::Ambiguous {
            task_definition: arn.to_owned(),
            found: listed(&all),
        }),
    }
}

/// The request that starts the command beside `service`, placed as the service places its tasks.
#[must_use]
pub fn run_request(
    service: &ServiceDescription,
    cluster: &str,
    task_definition: &str,
    container: &str,
    command: &[String],
) -> RunRequest {
    let placement = service.effective_placement();
    let launch_type = if placement.capacity_provider_strategy.is_empty() {
        placement.launch_type.clone()
    } else {
        None
    };
    RunRequest {
        cluster: cluster.to_owned(),
        task_definition: task_definition.to_owned(),
        container: container.to_owned(),
        command: command.to_vec(),
        network: placement
            .network_configuration
            .and_then(|network| network.awsvpc_configuration),
        capacity_provider_strategy: placement.capacity_provider_strategy,
        launch_type,
        platform_version: placement.platform_version,
        started_by: format!("bgtool-run/{}", short(&service.service_name)),
    }
}

/// `startedBy` takes at most 128 characters.
fn short(name: &str) -> &str {
    let end = name
        .char_indices()
        .nth(117)
        .map_or(name.len(), |(index, _)| index);
    &name[..end]
}

/// Where `container`'s lines go, from its awslogs options: `PREFIX/CONTAINER/TASK_ID`.
///
/// # Errors
/// Why they cannot be followed: another log driver, or no stream prefix (the stream name is then
/// not known in advance).
pub fn log_location(
    task_definition: &Value,
    container: &str,
    task_arn: &str,
) -> Result<LogLocation, String> {
    let definition = task_definition["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|candidate| candidate["name"] == container)
        .ok_or_else(|| format!("container `{container}` is not in the task definition"))?;
    let configuration = &definition["logConfiguration"];
    let driver = configuration["logDriver"].as_str().unwrap_or("none");
    if driver != "awslogs" {
        return Err(format!(
            "container `{container}` logs with `{driver}`, not `awslogs`"
        ));
    }
    let options = &configuration["options"];
    let group = options["awslogs-group"]
        .as_str()
        .ok_or_else(|| format!("container `{container}` names no `awslogs-group`"))?;
    let prefix = options["awslogs-stream-prefix"].as_str().ok_or_else(|| {
        format!("container `{container}` has no `awslogs-stream-prefix`, so its stream's name is not known")
    })?;
    let task_id = task_arn.rsplit('/').next().unwrap_or(task_arn);
    Ok(LogLocation {
        group: group.to_owned(),
        stream: format!("{prefix}/{container}/{task_id}"),
        region: options["awslogs-region"].as_str().map(ToOwned::to_owned),
    })
}

/// How `container` ended in a STOPPED task.
#[must_use]
pub fn ending(task: &TaskState, container: &str) -> Ending {
    let found = task
        .containers
        .iter()
        .find(|candidate| candidate.name == container);
    if let Some(code) = found.and_then(|state| state.exit_code) {
        return Ending::Exited(code);
    }
    let mut why = task
        .stopped_reason
        .clone()
        .or_else(|| task.stop_code.clone())
        .unwrap_or_else(|| "ECS gives no reason".to_owned());
    if let Some(reason) = found.and_then(|state| state.reason.as_deref()) {
        let _ = write!(why, "; container `{container}`: {reason}");
    }
    Ending::NoExitCode(why)
}

/// The command as a shell would show it, for messages only: it is never run through a shell.
#[must_use]
pub fn shown(command: &[String]) -> String {
    command
        .iter()
        .map(|word| {
            if !word.is_empty()
                && word
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&byte))
            {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn definition() -> Value {
        json!({"containerDefinitions": [
            {"name": "app", "essential": true, "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/web", "awslogs-stream-prefix": "ecs", "awslogs-region": "eu-west-1"}}},
            {"name": "sidecar", "essential": false, "logConfiguration": {"logDriver": "fluentd"}}
        ]})
    }

    #[test]
    fn the_container_is_the_named_or_the_only_essential_one() {
        assert_eq!(
            choose_container("web:3", &definition(), None).unwrap(),
            "app"
        );
        assert_eq!(
            choose_container("web:3", &definition(), Some("sidecar")).unwrap(),
            "sidecar"
        );
        assert_eq!(
            choose_container("web:3", &definition(), Some("db"))
                .unwrap_err()
                .to_string(),
            "task definition `web:3` has no container `db` (it has containers `app`, `sidecar`)"
        );
        let two = json!({"containerDefinitions": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(
            choose_container("x:1", &two, None).unwrap_err().to_string(),
            "task definition `x:1` has containers `a`, `b`: name the one to run the command in"
        );
    }

    #[test]
    fn awslogs_streams_are_prefix_container_task() {
        let arn = "arn:aws:ecs:eu-west-1:123456789012:task/main/0123abcd";
        assert_eq!(
            log_location(&definition(), "app", arn).unwrap(),
            LogLocation {
                group: "/ecs/web".to_owned(),
                stream: "ecs/app/0123abcd".to_owned(),
                region: Some("eu-west-1".to_owned()),
            }
        );
        assert_eq!(
            log_location(&definition(), "sidecar", arn).unwrap_err(),
            "container `sidecar` logs with `fluentd`, not `awslogs`"
        );
    }

    #[test]
    fn the_task_is_placed_as_the_service_places_its_own() {
        let service: ServiceDescription = serde_json::from_value(json!({
            "serviceName": "web",
            "launchType": "FARGATE",
            "platformVersion": "1.4.0",
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}}
        }))
        .unwrap();
        let command = vec!["rake".to_owned(), "db:migrate".to_owned()];
        let request = run_request(&service, "main", "web:3", "app", &command);
        assert_eq!(request.launch_type.as_deref(), Some("FARGATE"));
        assert_eq!(request.platform_version.as_deref(), Some("1.4.0"));
        assert_eq!(request.network.unwrap().subnets, vec!["subnet-1"]);
        assert_eq!(request.started_by, "bgtool-run/web");
        let with_capacity: ServiceDescription = serde_json::from_value(json!({
            "serviceName": "web",
            "launchType": "FARGATE",
            "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
        }))
        .unwrap();
        let request = run_request(&with_capacity, "main", "web:3", "app", &command);
        assert_eq!(request.launch_type, None);
        assert_eq!(request.capacity_provider_strategy.len(), 1);
    }

    #[test]
    fn an_ending_is_an_exit_code_or_why_there_is_none() {
        let exited = TaskState {
            containers: vec![ContainerState {
                name: "app".to_owned(),
                exit_code: Some(3),
                ..ContainerState::default()
            }],
            ..TaskState::default()
        };
        assert_eq!(ending(&exited, "app"), Ending::Exited(3));
        let never = TaskState {
            stopped_reason: Some("CannotPullContainerError: pull access denied".to_owned()),
            containers: vec![ContainerState {
                name: "app".to_owned(),
                reason: Some("CannotPullContainerError".to_owned()),
                ..ContainerState::default()
            }],
            ..TaskState::default()
        };
        assert_eq!(
            ending(&never, "app"),
            Ending::NoExitCode(
                "CannotPullContainerError: pull access denied; container `app`: CannotPullContainerError"
                    .to_owned()
            )
        );
    }

    #[test]
    fn commands_are_shown_quoted_as_a_shell_would_need() {
        let command: Vec<String> = ["sh", "-c", "echo $HOME; rm -rf /tmp/x", "it's"]
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown(&command),
            r"sh -c 'echo $HOME; rm -rf /tmp/x' 'it'\''s'"
        );
    }
}
