//! The AWS side, behind one small trait that speaks in bgtool's own types. Commands depend on the
//! trait; [`ecs::SdkEcs`] is the implementation that wraps aws-sdk-ecs. The services bgtool only
//! reads go through [`signed::Signed`].

pub mod calls;
pub mod codedeploy;
pub mod ecs;
mod ecs_revisions;
mod ecs_tasks;
pub mod http;
pub mod inspect;
pub mod load_balancing;
pub mod logs;
pub mod metrics;
pub mod network;
pub mod signed;

use std::future::Future;

use serde_json::Value;

use crate::deployment::codedeploy::{DeploymentGroup, DeploymentInfo, EcsTarget, TrafficRouting};
use crate::deployment::compare::{MeasuredGroup, Pair, Traffic, Window};
use crate::deployment::ecs::{ServiceDeploymentState, StoppedTask};
use crate::deployment::hook_log::HookFunction;
use crate::deployment::service::ServiceDescription;
use crate::deployment::target_health::TargetHealth;
use crate::one_off::{RunRequest, TaskState};
use crate::verify::{
    Decision, EcrImage, ImageFacts, LogGroup, Lookup, ParameterReference, PermissionQuestion,
    RoleFacts, SecretFacts, SecretReference,
};

/// The calls bgtool makes about an ECS service: to ECS, and to Elastic Load Balancing for the
/// health of the service's targets.
pub trait Ecs {
    /// DescribeTaskDefinition with `include=TAGS`: the response body exactly as ECS sent it.
    fn describe_task_definition(
        &self,
        reference: &str,
    ) -> impl Future<Output = anyhow::Result<Value>>;

    /// DescribeServices for one service.
    fn describe_service(
        &self,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = anyhow::Result<ServiceDescription>>;

    /// RegisterTaskDefinition with `request` sent exactly as given (a taskdef.json), so every
    /// field survives even where the SDK's own types lag behind ECS. Returns `taskDefinition`.
    fn register_task_definition(
        &self,
        request: &Value,
    ) -> impl Future<Output = anyhow::Result<Value>>;

    /// UpdateService to `task_definition`: starts a deployment. Returns the updated service.
    fn update_service(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
    ) -> impl Future<Output = anyhow::Result<ServiceDescription>>;

    /// The tasks a deployment started that have stopped (ListTasks + DescribeTasks), at most 10.
    fn stopped_tasks(
        &self,
        cluster: &str,
        started_by: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<StoppedTask>>>;

    /// StopServiceDeployment with ROLLBACK on the service's deployment in progress (from
    /// ListServiceDeployments). Returns the stopped deployment's ARN, or `None` if none was running.
    fn roll_back_running_deployment(
        &self,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = anyhow::Result<Option<String>>>;

    /// ContinueServiceDeployment: a PAUSE lifecycle hook's decision, `CONTINUE` or `ROLLBACK`.
    fn continue_service_deployment(
        &self,
        service_deployment_arn: &str,
        hook_id: &str,
        action: &str,
    ) -> impl Future<Output = anyhow::Result<()>>;

    /// ListServiceDeployments: the ARN of the service's deployment in progress, if any.
    fn running_service_deployment(
        &self,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = anyhow::Result<Option<String>>>;

    /// DescribeServiceDeployments of one service deployment: its status and lifecycle stage.
    fn service_deployment(
        &self,
        arn: &str,
    ) -> impl Future<Output = anyhow::Result<Option<ServiceDeploymentState>>>;

    /// Elastic Load Balancing's DescribeTargetHealth: every target of one target group.
    fn target_health(
        &self,
        target_group_arn: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<TargetHealth>>>;

    /// Elastic Load Balancing's DescribeRules: each target group a listener rule forwards to,
    /// with its weight (`--compare` on an ECS blue/green service).
    fn rule_weights(
        &self,
        rule_arn: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<(String, u64)>>>;

    /// Elastic Load Balancing's DescribeTargetGroups, by ARN or by name: each group with the
    /// load balancer its metrics are under.
    fn measured_groups(
        &self,
        groups: &[String],
        by_arn: bool,
    ) -> impl Future<Output = anyhow::Result<Vec<MeasuredGroup>>>;

    /// CloudWatch GetMetricData: both groups' requests, 5xx answers and p99 latency over
    /// `window`, green first.
    fn traffic(
        &self,
        pair: &Pair,
        window: Window,
    ) -> impl Future<Output = anyhow::Result<(Traffic, Traffic)>>;

    /// CloudWatch Logs FilterLogEvents of a hook function's log group from `since_millis` on:
    /// the messages that hold `term`.
    fn hook_log(
        &self,
        function: &HookFunction,
        since_millis: u64,
        term: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<String>>>;

    /// ListTaskDefinitions of `family` with `status` (`ACTIVE` or `INACTIVE`), every page.
    fn task_definition_arns(
        &self,
        family: &str,
        status: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<String>>>;

    /// ListClusters, every page: the clusters of this account and Region.
    fn cluster_arns(&self) -> impl Future<Output = anyhow::Result<Vec<String>>>;

    /// Every service of `cluster` (ListServices, then DescribeServices ten at a time).
    fn cluster_services(
        &self,
        cluster: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<ServiceDescription>>>;

    /// The running and pending tasks of `family` in `cluster` (ListTasks, DescribeTasks).
    fn family_tasks(
        &self,
        cluster: &str,
        family: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<FamilyTask>>>;

    /// DeregisterTaskDefinition of one revision.
    fn deregister_task_definition(&self, arn: &str) -> impl Future<Output = anyhow::Result<()>>;

    /// DeleteTaskDefinitions of at most ten INACTIVE revisions.
    fn delete_task_definitions(
        &self,
        arns: &[String],
    ) -> impl Future<Output = anyhow::Result<Deletion>>;

    /// RunTask of one task. Returns its ARN; ECS's refusal to place it is an error naming why.
    fn run_task(&self, request: &RunRequest) -> impl Future<Output = anyhow::Result<String>>;

    /// DescribeTasks of one task.
    fn describe_task(
        &self,
        cluster: &str,
        task_arn: &str,
    ) -> impl Future<Output = anyhow::Result<TaskState>>;

    /// StopTask, with the reason ECS records for it.
    fn stop_task(
        &self,
        cluster: &str,
        task_arn: &str,
        reason: &str,
    ) -> impl Future<Output = anyhow::Result<()>>;
}

/// The read-only calls `bgtool verify` makes, each answer a [`Lookup`]: a denied or failed call is
/// a finding of its own, never an error that stops the run.
pub trait Inspect {
    /// The configured Region: where a bare parameter name or a log group without
    /// `awslogs-region` is.
    fn region(&self) -> &str;

    /// ECR DescribeImages, and BatchGetImage for a multi-platform image's architectures.
    fn image(&self, image: &EcrImage) -> impl Future<Output = Lookup<ImageFacts>>;

    /// Secrets Manager DescribeSecret; GetSecretValue too when `read_value` and a JSON key is named.
    fn secret(
        &self,
        secret: &SecretReference,
        read_value: bool,
    ) -> impl Future<Output = Lookup<SecretFacts>>;

    /// Systems Manager DescribeParameters of one name (the value is never read).
    fn parameter(&self, parameter: &ParameterReference) -> impl Future<Output = Lookup<()>>;

    /// IAM GetRole: its ARN and trust policy.
    fn role(&self, role: &str) -> impl Future<Output = Lookup<RoleFacts>>;

    /// IAM SimulatePrincipalPolicy of the role's own policies, for each action on each resource.
    fn simulate(
        &self,
        role_arn: &str,
        question: &PermissionQuestion,
    ) -> impl Future<Output = Lookup<Vec<Decision>>>;

    /// CloudWatch Logs DescribeLogGroups: whether the group exists.
    fn log_group(&self, group: &LogGroup) -> impl Future<Output = Lookup<()>>;

    /// Elastic Load Balancing DescribeTargetGroups: the group's health check port
    /// (`traffic-port` or a number).
    fn health_check_port(&self, target_group_arn: &str) -> impl Future<Output = Lookup<String>>;
}

/// The CloudWatch Logs call `bgtool run` makes to follow a task's container.
pub trait Logs {
    /// GetLogEvents from the start of `stream` (or from `token`, the last page's forward token),
    /// in `region` (the awslogs driver's own) or the configured one. `None` while the stream does
    /// not exist yet.
    fn log_events(
        &self,
        region: Option<&str>,
        group: &str,
        stream: &str,
        token: Option<&str>,
    ) -> impl Future<Output = anyhow::Result<Option<LogPage>>>;
}

/// One page of log events: each event's message, and where the next read starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogPage {
    pub messages: Vec<String>,
    pub next_token: Option<String>,
}

/// A running or pending task, as DescribeTasks tells it: which revision it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FamilyTask {
    pub task_arn: String,
    pub task_definition_arn: String,
    pub last_status: Option<String>,
    /// `service:NAME` for a service's task, `family:NAME` for one started by RunTask.
    pub group: Option<String>,
}

/// What DeleteTaskDefinitions did: the revisions it deleted, and why it refused the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deletion {
    pub deleted: Vec<String>,
    /// `(ARN, reason)` for each revision ECS did not delete.
    pub failures: Vec<(String, String)>,
}

/// The CodeDeploy calls `bgtool deploy` makes for services with the CODE_DEPLOY controller.
pub trait CodeDeploy {
    /// Every deployment group of every application that this identity may read
    /// (ListApplications, ListDeploymentGroups, BatchGetDeploymentGroups), to find the one of a
    /// service. Groups and applications the policy does not let it read are counted in
    /// [`GroupListing::skipped`], not failed on: in an account shared with other teams, a
    /// least-privilege policy names only its own group.
    fn deployment_groups(&self) -> impl Future<Output = anyhow::Result<GroupListing>>;

    /// GetDeploymentGroup.
    fn deployment_group(
        &self,
        application: &str,
        group: &str,
    ) -> impl Future<Output = anyhow::Result<DeploymentGroup>>;

    /// GetDeploymentConfig's traffic routing, if the configuration has one.
    fn traffic_routing(
        &self,
        config: &str,
    ) -> impl Future<Output = anyhow::Result<Option<TrafficRouting>>>;

    /// ListDeployments of the group that have not ended.
    fn running_deployments(
        &self,
        application: &str,
        group: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<String>>>;

    /// CreateDeployment with the AppSpec as its revision. Returns the deployment ID.
    fn create_deployment(
        &self,
        application: &str,
        group: &str,
        appspec: &str,
        config: Option<&str>,
    ) -> impl Future<Output = anyhow::Result<String>>;

    /// GetDeployment.
    fn deployment(&self, id: &str) -> impl Future<Output = anyhow::Result<DeploymentInfo>>;

    /// The deployment's ECS target (ListDeploymentTargets, once it names one; GetDeploymentTarget
    /// each call), once it has one.
    fn deployment_target(
        &self,
        id: &str,
    ) -> impl Future<Output = anyhow::Result<Option<EcsTarget>>>;

    /// StopDeployment with automatic rollback.
    fn stop_deployment(&self, id: &str) -> impl Future<Output = anyhow::Result<()>>;

    /// ContinueDeployment: the go-ahead a held deployment waits for (`READY_WAIT`), or the end of
    /// the original task set's termination wait (`TERMINATION_WAIT`).
    fn continue_deployment(
        &self,
        id: &str,
        wait_type: &str,
    ) -> impl Future<Output = anyhow::Result<()>>;

    /// PutLifecycleEventHookExecutionStatus: a lifecycle hook's result (`Succeeded` or `Failed`).
    fn report_hook_status(
        &self,
        deployment_id: &str,
        execution_id: &str,
        status: &str,
    ) -> impl Future<Output = anyhow::Result<()>>;
}

/// What [`CodeDeploy::deployment_groups`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupListing {
    pub groups: Vec<DeploymentGroup>,
    /// `application` or `application/group` names that access was denied to.
    pub skipped: Vec<String>,
}

/// Runs `work` against the real ECS on a single-threaded runtime, within the `--timeout` budget.
///
/// # Errors
/// What `work` returns, a missing Region, or running out of time.
pub fn with_ecs<T>(
    settings: &crate::config::AwsSettings,
    work: impl AsyncFnOnce(&ecs::SdkEcs) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| anyhow::anyhow!("cannot start the async runtime: {error}"))?;
    runtime.block_on(async {
        // The SDK bounds each operation; this bounds everything else too (credential providers,
        // instance metadata, several calls in a row), so a build can never hang here.
        let all = async {
            let ecs = ecs::SdkEcs::connect(settings).await?;
            work(&ecs).await
        };
        tokio::time::timeout(settings.timeout, all)
            .await
            .unwrap_or_else(|_| {
                Err(crate::error::Hinted::new(
                    format!(
                        "no complete answer from AWS within `--timeout` ({} s)",
                        settings.timeout.as_secs_f64()
                    ),
                    "raise `--timeout`, or check the network path to AWS and the credential source",
                )
                .into())
            })
    })
}

/// Runs `work` against the real ECS and CloudWatch Logs on a single-threaded runtime with no bound
/// on the whole: `bgtool run` keeps its own deadline. Each call has the `--timeout` of `settings`.
///
/// # Errors
/// What `work` returns, or a missing Region.
pub fn with_ecs_and_logs<T>(
    settings: &crate::config::AwsSettings,
    work: impl AsyncFnOnce(&ecs::SdkEcs, &logs::SdkLogs) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    with_deploy_clients(settings, async |ecs, _, logs, _| work(ecs, logs).await)
}

/// As [`with_ecs_unbounded`], with CloudWatch Logs (`deploy --run-first` follows a task) and the
/// checks of `verify` too.
///
/// # Errors
/// What `work` returns, or a missing Region.
pub fn with_deploy_clients<T>(
    settings: &crate::config::AwsSettings,
    work: impl AsyncFnOnce(
        &ecs::SdkEcs,
        &codedeploy::SdkCodeDeploy,
        &logs::SdkLogs,
        &inspect::SignedInspect,
    ) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| anyhow::anyhow!("cannot start the async runtime: {error}"))?;
    runtime.block_on(async {
        let (shared, region) = calls::load(settings).await?;
        let ecs = ecs::SdkEcs::from_shared(&shared, &region, settings);
        let codedeploy = codedeploy::SdkCodeDeploy::from_shared(&shared, &region, settings);
        let signed = signed::Signed::from_shared(&shared, &region, settings);
        let logs = logs::SdkLogs::new(&signed);
        let inspect = inspect::SignedInspect::new(&signed);
        work(&ecs, &codedeploy, &logs, &inspect).await
    })
}

/// Runs `work` against the real ECS and CodeDeploy on a single-threaded runtime with no bound on the whole: for
/// deployments, which keep their own deadline (and roll back when it passes). Each call still has
/// the `--timeout` of `settings`.
///
/// # Errors
/// What `work` returns, or a missing Region.
pub fn with_ecs_unbounded<T>(
    settings: &crate::config::AwsSettings,
    work: impl AsyncFnOnce(&ecs::SdkEcs, &codedeploy::SdkCodeDeploy) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    // Making the Logs client reads nothing and sends nothing: one place builds the clients.
    with_deploy_clients(settings, async |ecs, codedeploy, _, _| {
        work(ecs, codedeploy).await
    })
}
