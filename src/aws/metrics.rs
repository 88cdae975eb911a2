//! CloudWatch through the signed caller: the traffic of two target groups over a window
//! (GetMetricData), for `deploy --compare`.

use anyhow::Result;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde_json::Value;

use super::calls::{Call, Lookup};
use super::signed::{CLOUDWATCH, Parameters, Signed, members};
use crate::deployment::compare::{MeasuredGroup, Pair, Traffic, Window};

/// The metrics read of each target group: the query ID's suffix, the metric and its statistic.
const METRICS: [(&str, &str, &str); 3] = [
    ("requests", "RequestCount", "Sum"),
    ("errors", "HTTPCode_Target_5XX_Count", "Sum"),
    ("latency", "TargetResponseTime", "p99"),
];

/// CloudWatch.
#[derive(Debug, Clone)]
pub struct SignedMetrics {
    signed: Signed,
}

impl SignedMetrics {
    #[must_use]
    pub fn new(signed: &Signed) -> Self {
        Self {
            signed: signed.clone(),
        }
    }

    /// GetMetricData of both target groups' requests, 5xx answers and p99 latency over `window`.
    ///
    /// # Errors
    /// A CloudWatch error, worded.
    pub async fn traffic(&self, pair: &Pair, window: Window) -> Result<(Traffic, Traffic)> {
        let answer = self
            .signed
            .send(
                &CLOUDWATCH,
                None,
                "GetMetricData",
                "cloudwatch:GetMetricData",
                Parameters::Query(query(pair, window)),
            )
            .await
            .map_err(|error| {
                let call = Call {
                    action: "cloudwatch:GetMetricData",
                    subject: format!(
                        "the traffic of target groups `{}` and `{}`",
                        pair.green.name, pair.blue.name
                    ),
                    lookup: Lookup::Hint(
                        "`--compare` reads the AWS/ApplicationELB metrics of both target groups"
                            .to_owned(),
                    ),
                };
                self.signed.explain(&CLOUDWATCH, None, &error, &call)
            })?;
        Ok(read(&answer))
    }
}

/// GetMetricData's parameters: three metrics of each group, one period over the whole window.
fn query(pair: &Pair, window: Window) -> Vec<(String, String)> {
    let time = |seconds: u64| {
        DateTime::from_secs(i64::try_from(seconds).unwrap_or(i64::MAX))
            .fmt(Format::DateTime)
            .unwrap_or_default()
    };
    let mut parameters = vec![
        ("StartTime".to_owned(), time(window.start)),
        ("EndTime".to_owned(), time(window.end)),
        ("ScanBy".to_owned(), "TimestampAscending".to_owned()),
    ];
    let groups: [(&str, &MeasuredGroup); 2] = [("green", &pair.green), ("blue", &pair.blue)];
    let queries = groups.iter().flat_map(|(side, group)| {
        METRICS
            .iter()
            .map(move |(suffix, metric, statistic)| (side, group, suffix, metric, statistic))
    });
    for (index, (side, group, suffix, metric, statistic)) in queries.enumerate() {
        let prefix = format!("MetricDataQueries.member.{}", index + 1);
        let stat = format!("{prefix}.MetricStat");
        let dimensions = format!("{stat}.Metric.Dimensions.member");
        parameters.extend([
            (format!("{prefix}.Id"), format!("{side}_{suffix}")),
            (format!("{prefix}.ReturnData"), "true".to_owned()),
            (
                format!("{stat}.Metric.Namespace"),
                "AWS/ApplicationELB".to_owned(),
            ),
            (format!("{stat}.Metric.MetricName"), (*metric).to_owned()),
            (format!("{dimensions}.1.Name"), "TargetGroup".to_owned()),
            (format!("{dimensions}.1.Value"), group.target_group.clone()),
            (format!("{dimensions}.2.Name"), "LoadBalancer".to_owned()),
            (format!("{dimensions}.2.Value"), group.load_balancer.clone()),
            (format!("{stat}.Period"), window.period().to_string()),
            (format!("{stat}.Stat"), (*statistic).to_owned()),
        ]);
    }
    parameters
}

/// Each side's traffic from GetMetricData's answer. A metric with no data points had nothing to
/// count: ALB publishes no 5xx count for a minute without one, and no latency without requests.
fn read(answer: &Value) -> (Traffic, Traffic) {
    let results = answer.pointer("/GetMetricDataResponse/GetMetricDataResult/MetricDataResults");
    let values = |id: &str| -> Vec<f64> {
        members(results)
            .iter()
            .filter(|result| result.get("Id").and_then(Value::as_str) == Some(id))
            .flat_map(|result| members(result.get("Values")).into_owned())
            .filter_map(|value| value.as_str().and_then(|text| text.parse().ok()))
            .collect()
    };
    let side = |side: &str| Traffic {
        requests: values(&format!("{side}_requests")).iter().sum(),
        errors: values(&format!("{side}_errors")).iter().sum(),
        // One period covers the window; should CloudWatch split it, the worst period speaks.
        p99_seconds: values(&format!("{side}_latency"))
            .into_iter()
            .reduce(f64::max),
    };
    (side("green"), side("blue"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::signed::xml_to_json;

    fn group(name: &str) -> MeasuredGroup {
        MeasuredGroup {
            arn: format!(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/{name}/0f"
            ),
            name: name.to_owned(),
            target_group: format!("targetgroup/{name}/0f"),
            load_balancer: "app/web/1a".to_owned(),
        }
    }

    #[test]
    fn each_group_gets_three_metrics_over_one_period() {
        let pair = Pair {
            green: group("web-green"),
            blue: group("web-blue"),
        };
        let parameters = query(&pair, Window::covering(1_765_000_000, 1_765_000_300));
        let get = |key: &str| {
            parameters
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(get("StartTime"), Some("2025-12-06T05:46:00Z"));
        assert_eq!(get("EndTime"), Some("2025-12-06T05:52:00Z"));
        assert_eq!(get("MetricDataQueries.member.1.Id"), Some("green_requests"));
        assert_eq!(
            get("MetricDataQueries.member.3.MetricStat.Stat"),
            Some("p99")
        );
        assert_eq!(
            get("MetricDataQueries.member.5.MetricStat.Metric.MetricName"),
            Some("HTTPCode_Target_5XX_Count")
        );
        assert_eq!(
            get("MetricDataQueries.member.5.MetricStat.Metric.Dimensions.member.1.Value"),
            Some("targetgroup/web-blue/0f")
        );
        assert_eq!(
            get("MetricDataQueries.member.6.MetricStat.Period"),
            Some("360")
        );
        assert_eq!(get("MetricDataQueries.member.7.Id"), None);
    }

    #[test]
    fn answers_are_summed_and_missing_metrics_are_zero() {
        let answer = xml_to_json(
            r#"<GetMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><GetMetricDataResult><MetricDataResults>
<member><Id>green_requests</Id><Label>RequestCount</Label><StatusCode>Complete</StatusCode><Timestamps><member>2025-12-06T05:46:00Z</member></Timestamps><Values><member>120.0</member></Values></member>
<member><Id>green_errors</Id><StatusCode>Complete</StatusCode><Timestamps/><Values/></member>
<member><Id>green_latency</Id><StatusCode>Complete</StatusCode><Values><member>0.2</member><member>0.35</member></Values></member>
<member><Id>blue_requests</Id><StatusCode>Complete</StatusCode><Values><member>1000</member><member>500</member></Values></member>
<member><Id>blue_errors</Id><StatusCode>Complete</StatusCode><Values><member>3</member></Values></member>
</MetricDataResults></GetMetricDataResult></GetMetricDataResponse>"#,
        )
        .unwrap();
        let (green, blue) = read(&answer);
        assert_eq!(
            green,
            Traffic {
                requests: 120.0,
                errors: 0.0,
                p99_seconds: Some(0.35)
            }
        );
        assert_eq!(
            blue,
            Traffic {
                requests: 1500.0,
                errors: 3.0,
                p99_seconds: None
            }
        );
    }
}
