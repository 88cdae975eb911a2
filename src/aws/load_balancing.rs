//! Elastic Load Balancing through aws-sdk-elasticloadbalancingv2: the health of a target group's
//! targets, read into bgtool's own type. ELB answers in XML, so there is no raw JSON to keep; the
//! enums' string forms keep states and reasons ELB adds later.

use anyhow::Result;

use super::calls::{Call, Explainer, Lookup, send};
use crate::config::AwsSettings;
use crate::deployment::target_health::{TargetHealth, group_name};

/// Elastic Load Balancing (v2) through its SDK.
#[derive(Debug, Clone)]
pub struct SdkLoadBalancing {
    client: aws_sdk_elasticloadbalancingv2::Client,
    explainer: Explainer,
    verbose: bool,
}

impl SdkLoadBalancing {
    /// Elastic Load Balancing with an already loaded configuration.
    #[must_use]
    pub fn from_shared(
        shared: &aws_config::SdkConfig,
        region: &str,
        settings: &AwsSettings,
    ) -> Self {
        Self {
            client: aws_sdk_elasticloadbalancingv2::Client::new(shared),
            explainer: Explainer::new(
                "Elastic Load Balancing",
                "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2",
                "elasticloadbalancing",
                shared,
                region,
                settings,
            ),
            verbose: settings.verbose,
        }
    }

    /// DescribeTargetHealth of every target registered with the target group `arn`.
    ///
    /// # Errors
    /// An Elastic Load Balancing error, worded.
    pub async fn target_health(&self, arn: &str) -> Result<Vec<TargetHealth>> {
        let call = Call {
            action: "elasticloadbalancing:DescribeTargetHealth",
            subject: format!("the health of the targets in `{}`", group_name(arn)),
            lookup: Lookup::Hint(format!(
                "check the service's target groups in `{}`: `aws elbv2 describe-target-groups --region {}`",
                self.explainer.region, self.explainer.region
            )),
        };
        let answer = send!(
            self,
            call,
            self.client
                .describe_target_health()
                .target_group_arn(arn)
                .customize()
        )?;
        Ok(answer
            .target_health_descriptions()
            .iter()
            .map(|description| {
                let target = description.target();
                let health = description.target_health();
                TargetHealth {
                    id: target
                        .and_then(|target| target.id())
                        .unwrap_or("an unnamed target")
                        .to_owned(),
                    port: target
                        .and_then(aws_sdk_elasticloadbalancingv2::types::TargetDescription::port),
                    state: health
                        .and_then(|health| health.state())
                        .map_or("unknown", |state| state.as_str())
                        .to_owned(),
                    reason: health
                        .and_then(|health| health.reason())
                        .map(|reason| reason.as_str().to_owned()),
                    description: health
                        .and_then(|health| health.description())
                        .map(ToOwned::to_owned),
                }
            })
            .collect())
    }
}
