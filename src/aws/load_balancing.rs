//! Elastic Load Balancing through the signed caller: the health of a target group's targets, read
//! into bgtool's own type. States and reasons stay strings, so ones ELB adds later survive.

use anyhow::Result;
use serde_json::Value;

use super::calls::{Call, Lookup};
use super::signed::{LOAD_BALANCING, Parameters, Signed, members};
use crate::deployment::target_health::{TargetHealth, group_name};

/// Elastic Load Balancing (v2).
#[derive(Debug, Clone)]
pub struct SdkLoadBalancing {
    signed: Signed,
}

impl SdkLoadBalancing {
    /// Elastic Load Balancing through `signed`.
    #[must_use]
    pub fn new(signed: &Signed) -> Self {
        Self {
            signed: signed.clone(),
        }
    }

    /// DescribeTargetHealth of every target registered with the target group `arn`.
    ///
    /// # Errors
    /// An Elastic Load Balancing error, worded.
    pub async fn target_health(&self, arn: &str) -> Result<Vec<TargetHealth>> {
        let answer = self
            .signed
            .send(
                &LOAD_BALANCING,
                None,
                "DescribeTargetHealth",
                "elasticloadbalancing:DescribeTargetHealth",
                Parameters::Query(vec![("TargetGroupArn".to_owned(), arn.to_owned())]),
            )
            .await
            .map_err(|error| {
                let region = self.signed.region();
                let call = Call {
                    action: "elasticloadbalancing:DescribeTargetHealth",
                    subject: format!("the health of the targets in `{}`", group_name(arn)),
                    lookup: Lookup::Hint(format!(
                        "check the service's target groups in `{region}`: `aws elbv2 describe-target-groups --region {region}`"
                    )),
                };
                self.signed.explain(&LOAD_BALANCING, None, &error, &call)
            })?;
        let descriptions = answer.pointer(
            "/DescribeTargetHealthResponse/DescribeTargetHealthResult/TargetHealthDescriptions",
        );
        Ok(members(descriptions)
            .iter()
            .map(|description| {
                let text = |pointer: &str| description.pointer(pointer).and_then(Value::as_str);
                TargetHealth {
                    id: text("/Target/Id").unwrap_or("an unnamed target").to_owned(),
                    port: text("/Target/Port").and_then(|port| port.parse().ok()),
                    state: text("/TargetHealth/State").unwrap_or("unknown").to_owned(),
                    reason: text("/TargetHealth/Reason").map(ToOwned::to_owned),
                    description: text("/TargetHealth/Description").map(ToOwned::to_owned),
                }
            })
            .collect())
    }
}
