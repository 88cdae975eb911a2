//! The ECS calls of `bgtool run`: starting one task beside a service, reading it, stopping it.

use anyhow::{Context, Result, anyhow};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, ContainerOverride,
    LaunchType, NetworkConfiguration, TaskOverride,
};

use super::calls::{BodyCapture, Call, Lookup, captured_json, send};
use super::ecs::{DescribeTasksBody, SdkEcs};
use crate::error::Hinted;
use crate::one_off::{RunRequest, TaskState};

fn network(request: &RunRequest) -> Result<Option<NetworkConfiguration>> {
    let Some(awsvpc) = &request.network else {
        return Ok(None);
    };
    let configuration = AwsVpcConfiguration::builder()
        .set_subnets(Some(awsvpc.subnets.clone()))
        .set_security_groups(Some(awsvpc.security_groups.clone()))
        .set_assign_public_ip(awsvpc.assign_public_ip.as_deref().map(AssignPublicIp::from))
        .build()
        .map_err(|error| anyhow!("the service's network configuration: {error}"))?;
    Ok(Some(
        NetworkConfiguration::builder()
            .awsvpc_configuration(configuration)
            .build(),
    ))
}

fn capacity(request: &RunRequest) -> Result<Option<Vec<CapacityProviderStrategyItem>>> {
    if request.capacity_provider_strategy.is_empty() {
        return Ok(None);
    }
    request
        .capacity_provider_strategy
        .iter()
        .map(|item| {
            CapacityProviderStrategyItem::builder()
                .capacity_provider(&item.capacity_provider)
                .set_weight(item.weight.and_then(|weight| i32::try_from(weight).ok()))
                .set_base(item.base.and_then(|base| i32::try_from(base).ok()))
                .build()
                .map_err(|error| anyhow!("the service's capacity provider strategy: {error}"))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

impl SdkEcs {
    pub(crate) async fn start_task(&self, request: &RunRequest) -> Result<String> {
        let call = Call {
            action: "ecs:RunTask",
            subject: format!(
                "starting a task of `{}` in cluster `{}`",
                request.task_definition, request.cluster
            ),
            lookup: Lookup::Service {
                cluster: request.cluster.clone(),
            },
        };
        let overrides = TaskOverride::builder()
            .container_overrides(
                ContainerOverride::builder()
                    .name(&request.container)
                    .set_command(Some(request.command.clone()))
                    .build(),
            )
            .build();
        let answer = send!(
            self,
            call,
            self.client
                .run_task()
                .cluster(&request.cluster)
                .task_definition(&request.task_definition)
                .count(1)
                .started_by(&request.started_by)
                .overrides(overrides)
                .set_network_configuration(network(request)?)
                .set_capacity_provider_strategy(capacity(request)?)
                .set_launch_type(request.launch_type.as_deref().map(LaunchType::from))
                .set_platform_version(request.platform_version.clone())
                .customize()
        )?;
        if let Some(arn) = answer.tasks().first().and_then(|task| task.task_arn()) {
            return Ok(arn.to_owned());
        }
        let why = answer.failures().first().map_or_else(
            || "ECS started no task and gave no reason".to_owned(),
            |failure| {
                format!(
                    "{}{}",
                    failure.reason().unwrap_or("no reason given"),
                    failure
                        .detail()
                        .map(|detail| format!(": {detail}"))
                        .unwrap_or_default()
                )
            },
        );
        Err(Hinted::new(
            format!("{}: ECS could not place it (`{why}`)", call.subject),
            "check the cluster's capacity and the service's subnets; `aws ecs describe-clusters` shows its capacity providers",
        )
        .into())
    }

    pub(crate) async fn read_task(&self, cluster: &str, task_arn: &str) -> Result<TaskState> {
        let call = Call {
            action: "ecs:DescribeTasks",
            subject: format!("reading task `{task_arn}`"),
            lookup: Lookup::Service {
                cluster: cluster.to_owned(),
            },
        };
        let capture = BodyCapture::default();
        send!(
            self,
            call,
            self.client
                .describe_tasks()
                .cluster(cluster)
                .tasks(task_arn)
                .customize()
                .interceptor(capture.clone())
        )?;
        let body: DescribeTasksBody<TaskState> =
            serde_json::from_value(captured_json(&capture, &call.subject)?)
                .with_context(|| format!("{}: unexpected DescribeTasks response", call.subject))?;
        body.tasks
            .into_iter()
            .next()
            .ok_or_else(|| anyhow!("{}: ECS no longer knows the task", call.subject))
    }

    pub(crate) async fn end_task(&self, cluster: &str, task_arn: &str, reason: &str) -> Result<()> {
        let call = Call {
            action: "ecs:StopTask",
            subject: format!("stopping task `{task_arn}`"),
            lookup: Lookup::Service {
                cluster: cluster.to_owned(),
            },
        };
        send!(
            self,
            call,
            self.client
                .stop_task()
                .cluster(cluster)
                .task(task_arn)
                .reason(reason)
                .customize()
        )?;
        Ok(())
    }
}
