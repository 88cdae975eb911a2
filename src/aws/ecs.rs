//! The real [`Ecs`]: aws-sdk-ecs with the default credential chain, timeouts, standard retries,
//! and an interceptor that keeps each response body exactly as ECS sent it.

use anyhow::{Context, Result, anyhow};
use aws_sdk_ecs::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_ecs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ecs::error::BoxError;
use aws_sdk_ecs::types::{
    ContainerDefinition, DeploymentLifecycleHookAction, DesiredStatus, ServiceDeploymentStatus,
    StopServiceDeploymentStopType, TaskDefinitionField,
};
use aws_smithy_types::body::SdkBody;
use serde::Deserialize;
use serde_json::Value;

use super::calls::{BodyCapture, Call, Explainer, Lookup, captured_json, load, send};
use super::load_balancing::SdkLoadBalancing;
use super::logs::SdkLogs;
use super::metrics::SignedMetrics;
use super::{Deletion, Ecs, FamilyTask};
use crate::config::AwsSettings;
use crate::deployment::compare::{MeasuredGroup, Pair, Traffic, Window};
use crate::deployment::ecs::{ServiceDeploymentState, StoppedTask};
use crate::deployment::hook_log::HookFunction;
use crate::deployment::service::ServiceDescription;
use crate::deployment::target_health::TargetHealth;
use crate::error::Hinted;
use crate::one_off::{RunRequest, TaskState};

/// ECS through aws-sdk-ecs.
#[derive(Debug, Clone)]
pub struct SdkEcs {
    pub(super) client: aws_sdk_ecs::Client,
    pub(super) explainer: Explainer,
    pub(super) verbose: bool,
    /// For the health of the service's targets while it deploys, and `--compare`'s groups.
    load_balancing: SdkLoadBalancing,
    /// For `--compare`'s metrics.
    metrics: SignedMetrics,
    /// For a failed hook's own lines.
    logs: SdkLogs,
}

impl SdkEcs {
    /// ECS with the configuration [`load`] finds.
    ///
    /// # Errors
    /// When no Region is configured anywhere.
    pub async fn connect(settings: &AwsSettings) -> Result<Self> {
        let (shared, region) = load(settings).await?;
        Ok(Self::from_shared(&shared, &region, settings))
    }

    /// ECS with an already loaded configuration.
    #[must_use]
    pub fn from_shared(
        shared: &aws_config::SdkConfig,
        region: &str,
        settings: &AwsSettings,
    ) -> Self {
        let signed = super::signed::Signed::from_shared(shared, region, settings);
        Self {
            client: aws_sdk_ecs::Client::new(shared),
            explainer: Explainer::new(
                "ECS",
                "AWS_ENDPOINT_URL_ECS",
                "ecs",
                shared,
                region,
                settings,
            ),
            verbose: settings.verbose,
            load_balancing: SdkLoadBalancing::new(&signed),
            metrics: SignedMetrics::new(&signed),
            logs: SdkLogs::new(&signed),
        }
    }
}

/// Sends a prepared JSON body in place of the one the SDK serialized: RegisterTaskDefinition goes
/// out with every field of taskdef.json, including ones this SDK version has no type for.
#[derive(Debug)]
struct ReplaceBody(Vec<u8>);

impl Intercept for ReplaceBody {
    fn name(&self) -> &'static str {
        "ReplaceBody"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        *request.body_mut() = SdkBody::from(self.0.clone());
        request
            .headers_mut()
            .insert("content-length", self.0.len().to_string());
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeServicesBody {
    #[serde(default)]
    pub(super) services: Vec<ServiceDescription>,
    #[serde(default)]
    failures: Vec<Failure>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateServiceBody {
    service: ServiceDescription,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeServiceDeploymentsBody {
    #[serde(default)]
    service_deployments: Vec<ServiceDeploymentState>,
}

/// DescribeTasks' answer, its tasks read as the caller needs them (why they stopped, their
/// state, their revision): one body for every DescribeTasks bgtool sends.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeTasksBody<Task> {
    #[serde(default = "Vec::new")]
    pub(super) tasks: Vec<Task>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Failure {
    reason: Option<String>,
    detail: Option<String>,
}

impl Ecs for SdkEcs {
    async fn describe_task_definition(&self, reference: &str) -> Result<Value> {
        let call = Call {
            action: "ecs:DescribeTaskDefinition",
            subject: format!("task definition `{reference}`"),
            lookup: Lookup::TaskDefinition {
                reference: reference.to_owned(),
            },
        };
        let capture = BodyCapture::default();
        send!(
            self,
            call,
            self.client
                .describe_task_definition()
                .task_definition(reference)
                .include(TaskDefinitionField::Tags)
                .customize()
                .interceptor(capture.clone())
        )?;
        captured_json(&capture, &call.subject)
    }

    async fn describe_service(&self, cluster: &str, service: &str) -> Result<ServiceDescription> {
        let call = Call {
            action: "ecs:DescribeServices",
            subject: format!("service `{service}` in cluster `{cluster}`"),
            lookup: Lookup::Service {
                cluster: cluster.to_owned(),
            },
        };
        let capture = BodyCapture::default();
        send!(
            self,
            call,
            self.client
                .describe_services()
                .cluster(cluster)
                .services(service)
                .customize()
                .interceptor(capture.clone())
        )?;
        let body: DescribeServicesBody =
            serde_json::from_value(captured_json(&capture, &call.subject)?).with_context(|| {
                format!("{}: unexpected DescribeServices response", call.subject)
            })?;
        if let Some(found) = body.services.into_iter().next() {
            return Ok(found);
        }
        let reason = body.failures.first().map_or_else(
            || "no service returned".to_owned(),
            |failure| {
                let reason = failure.reason.as_deref().unwrap_or("no reason given");
                match &failure.detail {
                    Some(detail) => format!("{reason}: {detail}"),
                    None => reason.to_owned(),
                }
            },
        );
        Err(Hinted::new(
            format!("{} was not found (`{reason}`)", call.subject),
            call.not_found_hint(&self.explainer.region),
        )
        .into())
    }

    async fn register_task_definition(&self, request: &Value) -> Result<Value> {
        let family = request
            .get("family")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let call = Call {
            action: "ecs:RegisterTaskDefinition",
            subject: format!("registering task definition family `{family}`"),
            lookup: Lookup::TaskDefinition {
                reference: family.clone(),
            },
        };
        let body = serde_json::to_vec(request).context("cannot encode the task definition")?;
        let capture = BodyCapture::default();
        // The typed input only satisfies the SDK's own checks; ReplaceBody sends `request`.
        send!(
            self,
            call,
            self.client
                .register_task_definition()
                .family(family)
                .container_definitions(ContainerDefinition::builder().build())
                .customize()
                .interceptor(ReplaceBody(body))
                .interceptor(capture.clone())
        )?;
        let mut response = captured_json(&capture, &call.subject)?;
        response
            .get_mut("taskDefinition")
            .map(Value::take)
            .filter(Value::is_object)
            .ok_or_else(|| anyhow!("{}: the response has no `taskDefinition`", call.subject))
    }

    async fn update_service(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
    ) -> Result<ServiceDescription> {
        let call = Call {
            action: "ecs:UpdateService",
            subject: format!("updating service `{service}` in cluster `{cluster}`"),
            lookup: Lookup::Service {
                cluster: cluster.to_owned(),
            },
        };
        let capture = BodyCapture::default();
        send!(
            self,
            call,
            self.client
                .update_service()
                .cluster(cluster)
                .service(service)
                .task_definition(task_definition)
                .customize()
                .interceptor(capture.clone())
        )?;
        let body: UpdateServiceBody =
            serde_json::from_value(captured_json(&capture, &call.subject)?)
                .with_context(|| format!("{}: unexpected UpdateService response", call.subject))?;
        Ok(body.service)
    }

    async fn stopped_tasks(&self, cluster: &str, started_by: &str) -> Result<Vec<StoppedTask>> {
        let call = Call {
            action: "ecs:ListTasks",
            subject: format!("listing the stopped tasks of `{started_by}`"),
            lookup: Lookup::Service {
                cluster: cluster.to_owned(),
            },
        };
        let listed = send!(
            self,
            call,
            self.client
                .list_tasks()
                .cluster(cluster)
                .started_by(started_by)
                .desired_status(DesiredStatus::Stopped)
                .max_results(10)
                .customize()
        )?;
        let arns = listed.task_arns().to_vec();
        if arns.is_empty() {
            return Ok(Vec::new());
        }
        let call = Call {
            action: "ecs:DescribeTasks",
            subject: format!("describing the stopped tasks of `{started_by}`"),
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
                .set_tasks(Some(arns))
                .customize()
                .interceptor(capture.clone())
        )?;
        let body: DescribeTasksBody<StoppedTask> =
            serde_json::from_value(captured_json(&capture, &call.subject)?)
                .with_context(|| format!("{}: unexpected DescribeTasks response", call.subject))?;
        Ok(body.tasks)
    }

    async fn roll_back_running_deployment(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<String>> {
        let Some(arn) = self.running_service_deployment(cluster, service).await? else {
            return Ok(None);
        };
        let call = Call {
            action: "ecs:StopServiceDeployment",
            subject: format!("rolling back service deployment `{arn}`"),
            lookup: Lookup::Service {
                cluster: cluster.to_owned(),
            },
        };
        send!(
            self,
            call,
            self.client
                .stop_service_deployment()
                .service_deployment_arn(&arn)
                .stop_type(StopServiceDeploymentStopType::Rollback)
                .customize()
        )?;
        Ok(Some(arn))
    }

    async fn continue_service_deployment(
        &self,
        service_deployment_arn: &str,
        hook_id: &str,
        action: &str,
    ) -> Result<()> {
        let call = Call {
            action: "ecs:ContinueServiceDeployment",
            subject: format!(
                "{action} of hook `{hook_id}` of service deployment `{service_deployment_arn}`"
            ),
            lookup: Lookup::Hint(
                "the hook may have expired or been acted on: `aws ecs describe-service-deployments` shows its status".to_owned(),
            ),
        };
        send!(
            self,
            call,
            self.client
                .continue_service_deployment()
                .service_deployment_arn(service_deployment_arn)
                .hook_id(hook_id)
                .action(DeploymentLifecycleHookAction::from(action))
                .customize()
        )?;
        Ok(())
    }

    async fn running_service_deployment(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<String>> {
        let call = Call {
            action: "ecs:ListServiceDeployments",
            subject: format!("listing the deployments of service `{service}`"),
            lookup: Lookup::Service {
                cluster: cluster.to_owned(),
            },
        };
        let listed = send!(
            self,
            call,
            self.client
                .list_service_deployments()
                .cluster(cluster)
                .service(service)
                .status(ServiceDeploymentStatus::Pending)
                .status(ServiceDeploymentStatus::InProgress)
                .customize()
        )?;
        Ok(listed
            .service_deployments()
            .iter()
            .find_map(|deployment| deployment.service_deployment_arn())
            .map(ToOwned::to_owned))
    }

    async fn service_deployment(&self, arn: &str) -> Result<Option<ServiceDeploymentState>> {
        let call = Call {
            action: "ecs:DescribeServiceDeployments",
            subject: format!("service deployment `{arn}`"),
            lookup: Lookup::Hint("check the service's deployments in the ECS console".to_owned()),
        };
        let capture = BodyCapture::default();
        send!(
            self,
            call,
            self.client
                .describe_service_deployments()
                .service_deployment_arns(arn)
                .customize()
                .interceptor(capture.clone())
        )?;
        let body: DescribeServiceDeploymentsBody =
            serde_json::from_value(captured_json(&capture, &call.subject)?).with_context(|| {
                format!(
                    "{}: unexpected DescribeServiceDeployments response",
                    call.subject
                )
            })?;
        Ok(body.service_deployments.into_iter().next())
    }

    async fn target_health(&self, target_group_arn: &str) -> Result<Vec<TargetHealth>> {
        self.load_balancing.target_health(target_group_arn).await
    }

    async fn rule_weights(&self, rule_arn: &str) -> Result<Vec<(String, u64)>> {
        self.load_balancing.rule_weights(rule_arn).await
    }

    async fn measured_groups(&self, groups: &[String], by_arn: bool) -> Result<Vec<MeasuredGroup>> {
        self.load_balancing.measured_groups(groups, by_arn).await
    }

    async fn traffic(&self, pair: &Pair, window: Window) -> Result<(Traffic, Traffic)> {
        self.metrics.traffic(pair, window).await
    }

    async fn hook_log(
        &self,
        function: &HookFunction,
        since_millis: u64,
        term: &str,
    ) -> Result<Vec<String>> {
        self.logs
            .matching(
                function.region.as_deref(),
                &function.log_group(),
                since_millis,
                term,
            )
            .await
    }

    async fn task_definition_arns(&self, family: &str, status: &str) -> Result<Vec<String>> {
        self.list_task_definition_arns(family, status).await
    }

    async fn cluster_arns(&self) -> Result<Vec<String>> {
        self.list_cluster_arns().await
    }

    async fn cluster_services(&self, cluster: &str) -> Result<Vec<ServiceDescription>> {
        self.list_cluster_services(cluster).await
    }

    async fn family_tasks(&self, cluster: &str, family: &str) -> Result<Vec<FamilyTask>> {
        self.list_family_tasks(cluster, family).await
    }

    async fn deregister_task_definition(&self, arn: &str) -> Result<()> {
        self.deregister(arn).await
    }

    async fn delete_task_definitions(&self, arns: &[String]) -> Result<Deletion> {
        self.delete(arns).await
    }

    async fn run_task(&self, request: &RunRequest) -> Result<String> {
        self.start_task(request).await
    }

    async fn describe_task(&self, cluster: &str, task_arn: &str) -> Result<TaskState> {
        self.read_task(cluster, task_arn).await
    }

    async fn stop_task(&self, cluster: &str, task_arn: &str, reason: &str) -> Result<()> {
        self.end_task(cluster, task_arn, reason).await
    }
}
