//! CloudWatch Logs through the signed caller: the lines of one log stream, page by page, for
//! `bgtool run` to print while its task runs.

use anyhow::Result;
use serde_json::{Value, json};

use super::calls::{Call, Lookup};
use super::signed::{LOGS, Parameters, Signed, error_code};
use super::{LogPage, Logs};

/// CloudWatch Logs, in the configured Region or the one a task's awslogs options name.
#[derive(Debug, Clone)]
pub struct SdkLogs {
    signed: Signed,
}

impl SdkLogs {
    /// CloudWatch Logs through `signed`.
    #[must_use]
    pub fn new(signed: &Signed) -> Self {
        Self {
            signed: signed.clone(),
        }
    }
}

impl Logs for SdkLogs {
    async fn log_events(
        &self,
        region: Option<&str>,
        group: &str,
        stream: &str,
        token: Option<&str>,
    ) -> Result<Option<LogPage>> {
        let mut request = json!({
            "logGroupName": group,
            "logStreamName": stream,
            "startFromHead": true,
        });
        if let Some(token) = token {
            request["nextToken"] = Value::from(token);
        }
        let answer = self
            .signed
            .send(
                &LOGS,
                region,
                "GetLogEvents",
                "logs:GetLogEvents",
                Parameters::Json(request),
            )
            .await;
        match answer {
            Ok(page) => Ok(Some(LogPage {
                messages: page["events"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|event| event["message"].as_str().map(ToOwned::to_owned))
                    .collect(),
                next_token: page["nextForwardToken"].as_str().map(ToOwned::to_owned),
            })),
            // The stream appears when the container starts: until then there is nothing to read.
            Err(error) if error_code(&error) == Some("ResourceNotFoundException") => Ok(None),
            Err(error) => {
                let region = region.unwrap_or(self.signed.region());
                let call = Call {
                    action: "logs:GetLogEvents",
                    subject: format!("reading log stream `{stream}` of group `{group}`"),
                    lookup: Lookup::Hint(format!(
                        "check the container's awslogs options: `aws logs describe-log-streams --region {region} --log-group-name {group}`"
                    )),
                };
                Err(self.signed.explain(&LOGS, Some(region), &error, &call))
            }
        }
    }
}
