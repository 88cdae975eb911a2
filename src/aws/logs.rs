//! CloudWatch Logs through the signed caller: the lines of one log stream, page by page, for
//! `bgtool run` to print while its task runs; and the lines of a log group that hold a term, for
//! `deploy` to say why a lifecycle hook failed.

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

/// Pages of FilterLogEvents read at most: a page can come back empty while CloudWatch Logs scans,
/// and a hook's lines about one deployment are few.
const FILTER_PAGES: usize = 10;

impl SdkLogs {
    /// CloudWatch Logs through `signed`.
    #[must_use]
    pub fn new(signed: &Signed) -> Self {
        Self {
            signed: signed.clone(),
        }
    }

    /// FilterLogEvents of `group` in `region` (or the configured one) from `since_millis` on:
    /// the messages holding `term`, oldest first. A group that does not exist has none.
    ///
    /// # Errors
    /// A CloudWatch Logs error, worded.
    pub async fn matching(
        &self,
        region: Option<&str>,
        group: &str,
        since_millis: u64,
        term: &str,
    ) -> Result<Vec<String>> {
        let mut messages = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..FILTER_PAGES {
            let mut request = json!({
                "logGroupName": group,
                "startTime": since_millis,
                // A quoted term matches it exactly, punctuation included.
                "filterPattern": format!("\"{}\"", term.replace('"', "")),
                "limit": 1000,
            });
            if let Some(token) = &token {
                request["nextToken"] = Value::from(token.as_str());
            }
            let answer = self
                .signed
                .send(
                    &LOGS,
                    region,
                    "FilterLogEvents",
                    "logs:FilterLogEvents",
                    Parameters::Json(request),
                )
                .await;
            let page = match answer {
                Ok(page) => page,
                Err(error) if error_code(&error) == Some("ResourceNotFoundException") => {
                    return Ok(messages);
                }
                Err(error) => {
                    let region = region.unwrap_or(self.signed.region());
                    let call = Call {
                        action: "logs:FilterLogEvents",
                        subject: format!("reading log group `{group}`"),
                        lookup: Lookup::Hint(format!(
                            "the hook function's log group: `aws logs tail {group} --region {region}`"
                        )),
                    };
                    return Err(self.signed.explain(&LOGS, Some(region), &error, &call));
                }
            };
            messages.extend(
                page["events"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|event| event["message"].as_str().map(ToOwned::to_owned)),
            );
            token = page["nextToken"].as_str().map(ToOwned::to_owned);
            if token.is_none() {
                break;
            }
        }
        Ok(messages)
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
