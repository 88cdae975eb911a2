//! Which task definition an ECS service runs now, from its DescribeServices description.
//! Pure: the description comes in as data, the choice and the reason for it go out.

use serde::Deserialize;

/// The parts of a DescribeServices `services[]` item that bgtool reads. Unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceDescription {
    pub service_name: String,
    pub status: Option<String>,
    pub task_definition: Option<String>,
    pub deployment_controller: Option<DeploymentController>,
    pub task_sets: Vec<TaskSet>,
    pub deployments: Vec<Deployment>,
    /// The service's event log, newest first.
    pub events: Vec<ServiceEvent>,
    /// Kept as ECS sent it: `deploy` reads the strategy and bake times from it.
    pub deployment_configuration: Option<serde_json::Value>,
    #[serde(flatten)]
    pub placement: Placement,
}

/// One entry of a service's event log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceEvent {
    pub id: String,
    pub message: String,
}

/// Where and how tasks run: what an AppSpec repeats of the service. Services and task sets both
/// carry these fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Placement {
    pub load_balancers: Vec<LoadBalancer>,
    pub network_configuration: Option<NetworkConfiguration>,
    pub platform_version: Option<String>,
    pub capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
    pub launch_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LoadBalancer {
    pub container_name: Option<String>,
    pub container_port: Option<u16>,
    pub target_group_arn: Option<String>,
    /// ECS-native blue/green: the other target group of the pair.
    pub advanced_configuration: Option<AdvancedConfiguration>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AdvancedConfiguration {
    pub alternate_target_group_arn: Option<String>,
    /// The rule whose weights ECS shifts between the pair: `--compare` reads them.
    pub production_listener_rule: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NetworkConfiguration {
    pub awsvpc_configuration: Option<AwsvpcConfiguration>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AwsvpcConfiguration {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CapacityProviderStrategyItem {
    pub capacity_provider: String,
    pub weight: Option<u32>,
    pub base: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeploymentController {
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TaskSet {
    pub id: String,
    pub status: String,
    pub task_definition: Option<String>,
    #[serde(flatten)]
    pub placement: Placement,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Deployment {
    pub id: String,
    pub status: String,
    pub task_definition: Option<String>,
    pub rollout_state: Option<String>,
    pub rollout_state_reason: Option<String>,
    pub desired_count: Option<u32>,
    pub running_count: Option<u32>,
    pub pending_count: Option<u32>,
    pub failed_tasks: Option<u32>,
}

/// A list the service leaves empty is taken from the PRIMARY task set, if there is one.
fn list_or_primary<T: Clone>(own: &[T], primary: Option<&Vec<T>>) -> Vec<T> {
    match primary {
        Some(list) if own.is_empty() => list.clone(),
        _ => own.to_vec(),
    }
}

/// The task definition chosen, and why, for a note on standard error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentTaskDefinition {
    pub arn: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("service `{service}` is {status}, so it runs no task definition")]
    Inactive { service: String, status: String },
    #[error("service `{service}` reports no task definition")]
    NoTaskDefinition { service: String },
}

impl ServiceDescription {
    /// The deployment controller's type; ECS when the service names none.
    #[must_use]
    pub fn controller(&self) -> &str {
        self.deployment_controller
            .as_ref()
            .map_or("ECS", |controller| controller.kind.as_str())
    }

    /// The placement an AppSpec should repeat: each field from the service, or, where the service
    /// leaves it out (as CODE_DEPLOY services may), from the PRIMARY task set.
    #[must_use]
    pub fn effective_placement(&self) -> Placement {
        let primary = self
            .task_sets
            .iter()
            .find(|task_set| task_set.status == "PRIMARY")
            .map(|task_set| &task_set.placement);
        let own = &self.placement;
        Placement {
            load_balancers: list_or_primary(
                &own.load_balancers,
                primary.map(|placement| &placement.load_balancers),
            ),
            network_configuration: own
                .network_configuration
                .clone()
                .or_else(|| primary.and_then(|placement| placement.network_configuration.clone())),
            platform_version: own
                .platform_version
                .clone()
                .or_else(|| primary.and_then(|placement| placement.platform_version.clone())),
            capacity_provider_strategy: list_or_primary(
                &own.capacity_provider_strategy,
                primary.map(|placement| &placement.capacity_provider_strategy),
            ),
            launch_type: own
                .launch_type
                .clone()
                .or_else(|| primary.and_then(|placement| placement.launch_type.clone())),
        }
    }
}

/// The task definition `service` runs now.
///
/// With the `CODE_DEPLOY` or `EXTERNAL` controller, that is the PRIMARY task set's: during a
/// blue/green deployment the service's own `taskDefinition` may already name the new revision
/// while production traffic still goes to the old one. With the `ECS` controller it is the
/// PRIMARY deployment's. The service's `taskDefinition` is the fallback when neither is reported.
///
/// # Errors
/// When the service is inactive or names no task definition at all.
pub fn current_task_definition(
    service: &ServiceDescription,
) -> Result<CurrentTaskDefinition, ServiceError> {
    if let Some(status) = service
        .status
        .as_deref()
        .filter(|status| *status != "ACTIVE")
    {
        return Err(ServiceError::Inactive {
            service: service.service_name.clone(),
            status: status.to_owned(),
        });
    }
    let controller = service.controller();
    let primary = if matches!(controller, "CODE_DEPLOY" | "EXTERNAL") {
        service
            .task_sets
            .iter()
            .find(|task_set| task_set.status == "PRIMARY")
            .and_then(|task_set| {
                let arn = task_set.task_definition.clone()?;
                Some((arn, format!("the PRIMARY task set `{}`", task_set.id)))
            })
    } else {
        service
            .deployments
            .iter()
            .find(|deployment| deployment.status == "PRIMARY")
            .and_then(|deployment| {
                let arn = deployment.task_definition.clone()?;
                Some((arn, format!("the PRIMARY deployment `{}`", deployment.id)))
            })
    };
    let (arn, source) = match (primary, &service.task_definition) {
        (Some(found), _) => found,
        (None, Some(arn)) => (arn.clone(), "the service's `taskDefinition`".to_owned()),
        (None, None) => {
            return Err(ServiceError::NoTaskDefinition {
                service: service.service_name.clone(),
            });
        }
    };
    Ok(CurrentTaskDefinition {
        reason: format!(
            "service `{}` ({controller} deployment controller) runs `{arn}`, from {source}",
            service.service_name
        ),
        arn,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn service(value: serde_json::Value) -> ServiceDescription {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn code_deploy_services_use_the_primary_task_set() {
        let description = service(json!({
            "serviceName": "web",
            "status": "ACTIVE",
            "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/web:9",
            "deploymentController": {"type": "CODE_DEPLOY"},
            "taskSets": [
                {"id": "ecs-svc/2", "status": "ACTIVE", "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/web:9"},
                {"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/web:8"}
            ]
        }));
        let chosen = current_task_definition(&description).unwrap();
        assert_eq!(chosen.arn, "arn:aws:ecs:us-east-1:1:task-definition/web:8");
        assert!(
            chosen.reason.contains("PRIMARY task set `ecs-svc/1`"),
            "{}",
            chosen.reason
        );
        assert!(chosen.reason.contains("CODE_DEPLOY"), "{}", chosen.reason);
    }

    #[test]
    fn ecs_services_use_the_primary_deployment() {
        let description = service(json!({
            "serviceName": "worker",
            "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/worker:3",
            "deployments": [
                {"id": "ecs-svc/a", "status": "ACTIVE", "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/worker:2"},
                {"id": "ecs-svc/b", "status": "PRIMARY", "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/worker:3"}
            ]
        }));
        let chosen = current_task_definition(&description).unwrap();
        assert_eq!(
            chosen.arn,
            "arn:aws:ecs:us-east-1:1:task-definition/worker:3"
        );
        assert!(chosen.reason.contains("PRIMARY deployment `ecs-svc/b`"));
    }

    #[test]
    fn the_service_task_definition_is_the_fallback() {
        let description = service(json!({
            "serviceName": "web",
            "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/web:4",
            "deploymentController": {"type": "CODE_DEPLOY"},
            "taskSets": []
        }));
        let chosen = current_task_definition(&description).unwrap();
        assert_eq!(chosen.arn, "arn:aws:ecs:us-east-1:1:task-definition/web:4");
        assert!(chosen.reason.contains("the service's `taskDefinition`"));
    }

    #[test]
    fn placement_comes_from_the_service_then_the_primary_task_set() {
        let description = service(json!({
            "serviceName": "web",
            "platformVersion": "1.4.0",
            "loadBalancers": [],
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a"], "assignPublicIp": "DISABLED"}},
            "taskSets": [{
                "id": "ecs-svc/1",
                "status": "PRIMARY",
                "platformVersion": "LATEST",
                "loadBalancers": [{"containerName": "app", "containerPort": 8080, "targetGroupArn": "arn:tg"}],
                "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]
            }]
        }));
        let placement = description.effective_placement();
        assert_eq!(placement.platform_version.as_deref(), Some("1.4.0"));
        assert_eq!(
            placement.load_balancers[0].container_name.as_deref(),
            Some("app")
        );
        assert_eq!(placement.load_balancers[0].container_port, Some(8080));
        assert_eq!(
            placement
                .network_configuration
                .unwrap()
                .awsvpc_configuration
                .unwrap()
                .subnets,
            ["subnet-a"]
        );
        assert_eq!(
            placement.capacity_provider_strategy[0].capacity_provider,
            "FARGATE"
        );
    }

    #[test]
    fn inactive_or_empty_services_are_errors() {
        let inactive = service(json!({"serviceName": "old", "status": "INACTIVE"}));
        assert_eq!(
            current_task_definition(&inactive).unwrap_err().to_string(),
            "service `old` is INACTIVE, so it runs no task definition"
        );
        let empty = service(json!({"serviceName": "new"}));
        assert_eq!(
            current_task_definition(&empty),
            Err(ServiceError::NoTaskDefinition {
                service: "new".into()
            })
        );
    }
}
