//! Elastic Load Balancing through the signed caller: the health of a target group's targets, the
//! weights a listener rule forwards with, and the load balancer of a target group, read into
//! bgtool's own types. States and reasons stay strings, so ones ELB adds later survive.

use anyhow::Result;
use serde_json::Value;

use super::calls::{Call, Lookup};
use super::signed::{LOAD_BALANCING, Parameters, Signed, members};
use crate::deployment::compare::{MeasuredGroup, dimension};
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
            .ask(
                (
                    "DescribeTargetHealth",
                    "elasticloadbalancing:DescribeTargetHealth",
                ),
                vec![("TargetGroupArn".to_owned(), arn.to_owned())],
                format!("the health of the targets in `{}`", group_name(arn)),
            )
            .await?;
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

    /// DescribeRules of one listener rule: each target group it forwards to, with its weight.
    ///
    /// # Errors
    /// An Elastic Load Balancing error, worded.
    pub async fn rule_weights(&self, rule_arn: &str) -> Result<Vec<(String, u64)>> {
        let answer = self
            .ask(
                ("DescribeRules", "elasticloadbalancing:DescribeRules"),
                vec![("RuleArns.member.1".to_owned(), rule_arn.to_owned())],
                format!("the listener rule `{rule_arn}`"),
            )
            .await?;
        let rules = answer.pointer("/DescribeRulesResponse/DescribeRulesResult/Rules");
        let mut weights = Vec::new();
        for rule in members(rules).iter() {
            for action in members(rule.get("Actions")).iter() {
                let groups = action.pointer("/ForwardConfig/TargetGroups");
                for group in members(groups).iter() {
                    if let Some(arn) = group.get("TargetGroupArn").and_then(Value::as_str) {
                        let weight = group
                            .get("Weight")
                            .and_then(Value::as_str)
                            .and_then(|weight| weight.parse().ok())
                            .unwrap_or(1);
                        weights.push((arn.to_owned(), weight));
                    }
                }
                // A plain forward action names one group, which takes everything.
                if groups.is_none()
                    && let Some(arn) = action.get("TargetGroupArn").and_then(Value::as_str)
                {
                    weights.push((arn.to_owned(), 100));
                }
            }
        }
        Ok(weights)
    }

    /// DescribeTargetGroups of target groups named by ARN (`by_arn`) or by name: each with the
    /// load balancer CloudWatch measures it under (its first).
    ///
    /// # Errors
    /// An Elastic Load Balancing error, worded, or a group with no load balancer.
    pub async fn measured_groups(
        &self,
        groups: &[String],
        by_arn: bool,
    ) -> Result<Vec<MeasuredGroup>> {
        let key = if by_arn { "TargetGroupArns" } else { "Names" };
        let parameters = groups
            .iter()
            .enumerate()
            .map(|(index, group)| (format!("{key}.member.{}", index + 1), group.clone()))
            .collect();
        let answer = self
            .ask(
                (
                    "DescribeTargetGroups",
                    "elasticloadbalancing:DescribeTargetGroups",
                ),
                parameters,
                format!("the target groups {}", quoted(groups)),
            )
            .await?;
        let found =
            answer.pointer("/DescribeTargetGroupsResponse/DescribeTargetGroupsResult/TargetGroups");
        members(found)
            .iter()
            .map(|group| {
                let text = |key: &str| group.get(key).and_then(Value::as_str).unwrap_or_default();
                let arn = text("TargetGroupArn");
                let load_balancer = members(group.get("LoadBalancerArns"))
                    .first()
                    .and_then(Value::as_str)
                    .and_then(dimension)
                    .map(ToOwned::to_owned);
                match (dimension(arn), load_balancer) {
                    (Some(target_group), Some(load_balancer)) => Ok(MeasuredGroup {
                        arn: arn.to_owned(),
                        name: text("TargetGroupName").to_owned(),
                        target_group: target_group.to_owned(),
                        load_balancer,
                    }),
                    _ => anyhow::bail!(
                        "target group `{}` is not behind a load balancer: it has no traffic to measure",
                        text("TargetGroupName")
                    ),
                }
            })
            .collect()
    }

    /// One call, its error worded with `subject` and a hint to look at the Region's groups.
    async fn ask(
        &self,
        (operation, action): (&'static str, &'static str),
        parameters: Vec<(String, String)>,
        subject: String,
    ) -> Result<Value> {
        self.signed
            .send(&LOAD_BALANCING, None, operation, action, Parameters::Query(parameters))
            .await
            .map_err(|error| {
                let region = self.signed.region();
                let call = Call {
                    action,
                    subject,
                    lookup: Lookup::Hint(format!(
                        "check the service's target groups in `{region}`: `aws elbv2 describe-target-groups --region {region}`"
                    )),
                };
                self.signed.explain(&LOAD_BALANCING, None, &error, &call)
            })
    }
}

/// `` `a`, `b` ``.
fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("`{}`", group_name(name)))
        .collect::<Vec<_>>()
        .join(", ")
}
