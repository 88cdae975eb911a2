//! The real [`CodeDeploy`]: aws-sdk-codedeploy with the configuration ECS uses, keeping response
//! bodies as CodeDeploy sent them and reading them into bgtool's own types.

use anyhow::{Context, Result};
use aws_sdk_codedeploy::types::{
    AppSpecContent, DeploymentStatus, RevisionLocation, RevisionLocationType,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::CodeDeploy;
use super::sdk::{AttemptLog, BodyCapture, Call, Explainer, Lookup, captured_json};
use crate::codedeploy::{DeploymentGroup, DeploymentInfo, EcsTarget, TrafficRouting};
use crate::config::AwsSettings;

/// CodeDeploy through aws-sdk-codedeploy.
#[derive(Debug, Clone)]
pub struct SdkCodeDeploy {
    client: aws_sdk_codedeploy::Client,
    explainer: Explainer,
    verbose: bool,
}

impl SdkCodeDeploy {
    /// CodeDeploy with an already loaded configuration.
    #[must_use]
    pub fn from_shared(
        shared: &aws_config::SdkConfig,
        region: &str,
        settings: &AwsSettings,
    ) -> Self {
        Self {
            client: aws_sdk_codedeploy::Client::new(shared),
            explainer: Explainer::new(
                "CodeDeploy",
                "AWS_ENDPOINT_URL_CODEDEPLOY",
                "codedeploy",
                shared,
                region,
                settings,
            ),
            verbose: settings.verbose,
        }
    }

    fn call(&self, action: &'static str, subject: String) -> Call {
        Call {
            action,
            subject,
            lookup: Lookup::Hint(format!(
                "check the names in `{}`: `aws deploy list-applications --region {}`",
                self.explainer.region, self.explainer.region
            )),
        }
    }
}

/// The token of the next page: none when the answer gives none or an empty one (as some
/// stand-ins do), and an error when it gives back the token just sent, which would never end.
fn next_page(sent: Option<&str>, received: Option<&str>, call: &Call) -> Result<Option<String>> {
    match received.filter(|token| !token.is_empty()) {
        None => Ok(None),
        Some(token) if Some(token) == sent => Err(anyhow::anyhow!(
            "{}: CodeDeploy returned the same page token twice",
            call.subject
        )),
        Some(token) => Ok(Some(token.to_owned())),
    }
}

/// The member `body` of the captured response, read into bgtool's type `T`.
fn read<T>(capture: &BodyCapture, call: &Call, body: &str) -> Result<T>
where
    T: DeserializeOwned,
{
    let value = captured_json(capture, &call.subject)?;
    serde_json::from_value(value.get(body).cloned().unwrap_or_default())
        .with_context(|| format!("{}: unexpected answer from CodeDeploy", call.subject))
}

#[derive(Debug, Deserialize)]
struct Target {
    #[serde(rename = "ecsTarget")]
    ecs_target: Option<EcsTarget>,
}

#[derive(Debug, Deserialize)]
struct Config {
    #[serde(rename = "trafficRoutingConfig")]
    traffic_routing_config: Option<TrafficRouting>,
}

/// Sends `$request` with the body capture (and the attempt log with `--verbose`), mapping an SDK
/// error to a worded one.
macro_rules! send {
    ($self:ident, $call:ident, $capture:ident, $request:expr) => {{
        let mut request = $request.customize().interceptor($capture.clone());
        if $self.verbose {
            request = request.interceptor(AttemptLog::new($call.action));
        }
        request
            .send()
            .await
            .map_err(|error| $self.explainer.explain(&error, &$call))
    }};
}

impl CodeDeploy for SdkCodeDeploy {
    async fn deployment_groups(&self) -> Result<Vec<DeploymentGroup>> {
        let call = self.call(
            "codedeploy:ListApplications",
            "listing the CodeDeploy applications".to_owned(),
        );
        let mut applications = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_applications()
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|error| self.explainer.explain(&error, &call))?;
            applications.extend(page.applications().iter().cloned());
            token = next_page(token.as_deref(), page.next_token(), &call)?;
            if token.is_none() {
                break;
            }
        }
        let mut groups = Vec::new();
        for application in applications {
            let call = self.call(
                "codedeploy:ListDeploymentGroups",
                format!("listing the deployment groups of `{application}`"),
            );
            let mut token = None;
            let mut names = Vec::new();
            loop {
                let page = self
                    .client
                    .list_deployment_groups()
                    .application_name(&application)
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .map_err(|error| self.explainer.explain(&error, &call))?;
                names.extend(page.deployment_groups().iter().cloned());
                token = next_page(token.as_deref(), page.next_token(), &call)?;
                if token.is_none() {
                    break;
                }
            }
            for name in names {
                groups.push(self.deployment_group(&application, &name).await?);
            }
        }
        Ok(groups)
    }

    async fn deployment_group(&self, application: &str, group: &str) -> Result<DeploymentGroup> {
        let call = self.call(
            "codedeploy:GetDeploymentGroup",
            format!("deployment group `{group}` of `{application}`"),
        );
        let capture = BodyCapture::default();
        send!(
            self,
            call,
            capture,
            self.client
                .get_deployment_group()
                .application_name(application)
                .deployment_group_name(group)
        )?;
        read(&capture, &call, "deploymentGroupInfo")
    }

    async fn traffic_routing(&self, config: &str) -> Result<Option<TrafficRouting>> {
        let call = self.call(
            "codedeploy:GetDeploymentConfig",
            format!("deployment configuration `{config}`"),
        );
        let capture = BodyCapture::default();
        send!(
            self,
            call,
            capture,
            self.client
                .get_deployment_config()
                .deployment_config_name(config)
        )?;
        let info: Config = read(&capture, &call, "deploymentConfigInfo")?;
        Ok(info.traffic_routing_config)
    }

    async fn running_deployments(&self, application: &str, group: &str) -> Result<Vec<String>> {
        let call = self.call(
            "codedeploy:ListDeployments",
            format!("deployments of `{application}`/`{group}`"),
        );
        let listed = self
            .client
            .list_deployments()
            .application_name(application)
            .deployment_group_name(group)
            .set_include_only_statuses(Some(vec![
                DeploymentStatus::Created,
                DeploymentStatus::Queued,
                DeploymentStatus::InProgress,
                DeploymentStatus::Ready,
                DeploymentStatus::Baking,
            ]))
            .send()
            .await
            .map_err(|error| self.explainer.explain(&error, &call))?;
        Ok(listed.deployments().to_vec())
    }

    async fn create_deployment(
        &self,
        application: &str,
        group: &str,
        appspec: &str,
        config: Option<&str>,
    ) -> Result<String> {
        let call = self.call(
            "codedeploy:CreateDeployment",
            format!("creating a deployment in `{application}`/`{group}`"),
        );
        let revision = RevisionLocation::builder()
            .revision_type(RevisionLocationType::AppSpecContent)
            .app_spec_content(AppSpecContent::builder().content(appspec).build())
            .build();
        let created = self
            .client
            .create_deployment()
            .application_name(application)
            .deployment_group_name(group)
            .revision(revision)
            .set_deployment_config_name(config.map(ToOwned::to_owned))
            .send()
            .await
            .map_err(|error| self.explainer.explain(&error, &call))?;
        created
            .deployment_id()
            .map(ToOwned::to_owned)
            .context("CreateDeployment returned no deployment ID")
    }

    async fn deployment(&self, id: &str) -> Result<DeploymentInfo> {
        let call = self.call("codedeploy:GetDeployment", format!("deployment `{id}`"));
        let capture = BodyCapture::default();
        send!(
            self,
            call,
            capture,
            self.client.get_deployment().deployment_id(id)
        )?;
        read(&capture, &call, "deploymentInfo")
    }

    async fn deployment_target(&self, id: &str) -> Result<Option<EcsTarget>> {
        let call = self.call(
            "codedeploy:ListDeploymentTargets",
            format!("the targets of deployment `{id}`"),
        );
        let listed = self
            .client
            .list_deployment_targets()
            .deployment_id(id)
            .send()
            .await
            .map_err(|error| self.explainer.explain(&error, &call))?;
        let Some(target) = listed.target_ids().first().cloned() else {
            return Ok(None);
        };
        let call = self.call(
            "codedeploy:GetDeploymentTarget",
            format!("target `{target}` of deployment `{id}`"),
        );
        let capture = BodyCapture::default();
        send!(
            self,
            call,
            capture,
            self.client
                .get_deployment_target()
                .deployment_id(id)
                .target_id(&target)
        )?;
        let target: Target = read(&capture, &call, "deploymentTarget")?;
        Ok(target.ecs_target)
    }

    async fn stop_deployment(&self, id: &str) -> Result<()> {
        let call = self.call(
            "codedeploy:StopDeployment",
            format!("stopping deployment `{id}`"),
        );
        self.client
            .stop_deployment()
            .deployment_id(id)
            .auto_rollback_enabled(true)
            .send()
            .await
            .map_err(|error| self.explainer.explain(&error, &call))?;
        Ok(())
    }
}
