//! The AWS side, behind one small trait that speaks in bgtool's own types. Commands depend on the
//! trait; [`sdk::SdkEcs`] is the implementation that wraps aws-sdk-ecs.

pub mod sdk;

use std::future::Future;

use serde_json::Value;

use crate::service::ServiceDescription;

/// The ECS calls bgtool makes.
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
}

/// Runs `work` against the real ECS on a single-threaded runtime, within the `--timeout` budget.
///
/// # Errors
/// What `work` returns, a missing Region, or running out of time.
pub fn with_ecs<T>(
    settings: &crate::config::AwsSettings,
    work: impl AsyncFnOnce(&sdk::SdkEcs) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| anyhow::anyhow!("cannot start the async runtime: {error}"))?;
    runtime.block_on(async {
        // The SDK bounds each operation; this bounds everything else too (credential providers,
        // instance metadata, several calls in a row), so a build can never hang here.
        let all = async {
            let ecs = sdk::SdkEcs::connect(settings).await?;
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
