//! CloudWatch Logs through aws-sdk-cloudwatchlogs: the lines of one log stream, page by page, for
//! `bgtool run` to print while its task runs.

use anyhow::Result;
use aws_sdk_cloudwatchlogs::config::Region;

use super::calls::{AttemptLog, Call, Explainer, Lookup};
use super::{LogPage, Logs};
use crate::config::AwsSettings;

/// CloudWatch Logs, in the configured Region or the one a task's awslogs options name.
#[derive(Debug, Clone)]
pub struct SdkLogs {
    shared: aws_config::SdkConfig,
    region: String,
    settings: AwsSettings,
}

impl SdkLogs {
    /// CloudWatch Logs with an already loaded configuration.
    #[must_use]
    pub fn from_shared(
        shared: &aws_config::SdkConfig,
        region: &str,
        settings: &AwsSettings,
    ) -> Self {
        Self {
            shared: shared.clone(),
            region: region.to_owned(),
            settings: settings.clone(),
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
        let region = region.unwrap_or(&self.region);
        let config = aws_sdk_cloudwatchlogs::config::Builder::from(&self.shared)
            .region(Region::new(region.to_owned()))
            .build();
        let client = aws_sdk_cloudwatchlogs::Client::from_conf(config);
        let explainer = Explainer::new(
            "CloudWatch Logs",
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
            "logs",
            &self.shared,
            region,
            &self.settings,
        );
        let call = Call {
            action: "logs:GetLogEvents",
            subject: format!("reading log stream `{stream}` of group `{group}`"),
            lookup: Lookup::Hint(format!(
                "check the container's awslogs options: `aws logs describe-log-streams --region {region} --log-group-name {group}`"
            )),
        };
        let mut request = client
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .set_next_token(token.map(ToOwned::to_owned))
            .customize();
        if self.settings.verbose {
            request = request.interceptor(AttemptLog::new(call.action));
        }
        match request.send().await {
            Ok(page) => Ok(Some(LogPage {
                messages: page
                    .events()
                    .iter()
                    .filter_map(|event| event.message().map(ToOwned::to_owned))
                    .collect(),
                next_token: page.next_forward_token().map(ToOwned::to_owned),
            })),
            // The stream appears when the container starts: until then there is nothing to read.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsError::is_resource_not_found_exception) =>
            {
                Ok(None)
            }
            Err(error) => Err(explainer.explain(&error, &call)),
        }
    }
}
