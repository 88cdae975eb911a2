//! The real [`CodeDeploy`]: aws-sdk-codedeploy with the configuration ECS uses, keeping response
//! bodies as CodeDeploy sent them and reading them into bgtool's own types.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result};
use aws_sdk_codedeploy::types::{
    AppSpecContent, DeploymentStatus, DeploymentWaitType, LifecycleEventStatus, RevisionLocation,
    RevisionLocationType,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::calls::{BodyCapture, Call, Explainer, Lookup, captured_json, send};
use super::{CodeDeploy, GroupListing};
use crate::config::AwsSettings;
use crate::deployment::codedeploy::{DeploymentGroup, DeploymentInfo, EcsTarget, TrafficRouting};
use crate::error::is_access_denied;

/// CodeDeploy through aws-sdk-codedeploy.
#[derive(Debug, Clone)]
pub struct SdkCodeDeploy {
    client: aws_sdk_codedeploy::Client,
    explainer: Explainer,
    verbose: bool,
    /// Each deployment's ECS target ID, once known.
    target_ids: Arc<Mutex<HashMap<String, String>>>,
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
            target_ids: Arc::default(),
        }
    }

    /// The ID of deployment `id`'s one ECS target (ListDeploymentTargets), asked once: a
    /// deployment keeps its target, and the watch reads it every look.
    async fn target_id(&self, id: &str) -> Result<Option<String>> {
        if let Some(known) = self
            .target_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
        {
            return Ok(Some(known.clone()));
        }
        let call = self.call(
            "codedeploy:ListDeploymentTargets",
            format!("the targets of deployment `{id}`"),
        );
        let listed = send!(
            self,
            call,
            self.client
                .list_deployment_targets()
                .deployment_id(id)
                .customize()
        )?;
        let found = listed.target_ids().first().cloned();
        if let Some(target) = &found {
            self.target_ids
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id.to_owned(), target.clone());
        }
        Ok(found)
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

/// Every item of a listing, page after page: `page` sends one request with the token given and
/// returns that page's items and the next token.
async fn every_page<T>(
    call: &Call,
    mut page: impl AsyncFnMut(Option<String>) -> Result<(Vec<T>, Option<String>)>,
) -> Result<Vec<T>> {
    let mut items = Vec::new();
    let mut token = None;
    loop {
        let (more, received) = page(token.clone()).await?;
        items.extend(more);
        token = next_page(token.as_deref(), received.as_deref(), call)?;
        if token.is_none() {
            return Ok(items);
        }
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

/// BatchGetDeploymentGroups takes at most this many names a call (CodeDeploy API reference).
const BATCH_GET_DEPLOYMENT_GROUPS_LIMIT: usize = 100;

#[derive(Debug, Deserialize)]
struct Groups {
    #[serde(rename = "deploymentGroupsInfo", default)]
    deployment_groups_info: Vec<DeploymentGroup>,
}

impl SdkCodeDeploy {
    /// BatchGetDeploymentGroups of `names` in `application`, into `listing`. IAM judges a batch
    /// as a whole, so a denied batch is asked again one name at a time; a name still denied is
    /// another team's group, counted as skipped.
    async fn read_groups(
        &self,
        application: &str,
        names: &[String],
        listing: &mut GroupListing,
    ) -> Result<()> {
        match self.batch_get_groups(application, names).await {
            Ok(groups) => {
                listing.groups.extend(groups);
                Ok(())
            }
            Err(error) if is_access_denied(&error) && names.len() > 1 => {
                for name in names {
                    match self
                        .batch_get_groups(application, std::slice::from_ref(name))
                        .await
                    {
                        Ok(groups) => listing.groups.extend(groups),
                        Err(error) if is_access_denied(&error) => {
                            listing.skipped.push(format!("{application}/{name}"));
                        }
                        Err(error) => return Err(error),
                    }
                }
                Ok(())
            }
            Err(error) if is_access_denied(&error) => {
                listing
                    .skipped
                    .extend(names.iter().map(|name| format!("{application}/{name}")));
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    async fn batch_get_groups(
        &self,
        application: &str,
        names: &[String],
    ) -> Result<Vec<DeploymentGroup>> {
        let call = self.call(
            "codedeploy:BatchGetDeploymentGroups",
            format!("the deployment groups of `{application}`"),
        );
        let capture = BodyCapture::default();
        send!(
            self,
            call,
            self.client
                .batch_get_deployment_groups()
                .application_name(application)
                .set_deployment_group_names(Some(names.to_vec()))
                .customize()
                .interceptor(capture.clone())
        )?;
        let groups: Groups = serde_json::from_value(captured_json(&capture, &call.subject)?)
            .with_context(|| format!("{}: unexpected answer from CodeDeploy", call.subject))?;
        Ok(groups.deployment_groups_info)
    }
}

impl CodeDeploy for SdkCodeDeploy {
    async fn deployment_groups(&self) -> Result<GroupListing> {
        let call = self.call(
            "codedeploy:ListApplications",
            "listing the CodeDeploy applications".to_owned(),
        );
        let applications = every_page(&call, async |token| {
            let page = send!(
                self,
                call,
                self.client
                    .list_applications()
                    .set_next_token(token)
                    .customize()
            )?;
            Ok((
                page.applications().to_vec(),
                page.next_token().map(ToOwned::to_owned),
            ))
        })
        .await?;
        let mut listing = GroupListing::default();
        for application in applications {
            let call = self.call(
                "codedeploy:ListDeploymentGroups",
                format!("listing the deployment groups of `{application}`"),
            );
            let listed = every_page(&call, async |token| {
                let page = send!(
                    self,
                    call,
                    self.client
                        .list_deployment_groups()
                        .application_name(&application)
                        .set_next_token(token)
                        .customize()
                )?;
                Ok((
                    page.deployment_groups().to_vec(),
                    page.next_token().map(ToOwned::to_owned),
                ))
            })
            .await;
            let names = match listed {
                Ok(names) => names,
                Err(error) if is_access_denied(&error) => {
                    listing.skipped.push(application.clone());
                    continue;
                }
                Err(error) => return Err(error),
            };
            for chunk in names.chunks(BATCH_GET_DEPLOYMENT_GROUPS_LIMIT) {
                self.read_groups(&application, chunk, &mut listing).await?;
            }
        }
        Ok(listing)
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
            self.client
                .get_deployment_group()
                .application_name(application)
                .deployment_group_name(group)
                .customize()
                .interceptor(capture.clone())
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
            self.client
                .get_deployment_config()
                .deployment_config_name(config)
                .customize()
                .interceptor(capture.clone())
        )?;
        let info: Config = read(&capture, &call, "deploymentConfigInfo")?;
        Ok(info.traffic_routing_config)
    }

    async fn running_deployments(&self, application: &str, group: &str) -> Result<Vec<String>> {
        let call = self.call(
            "codedeploy:ListDeployments",
            format!("deployments of `{application}`/`{group}`"),
        );
        let listed = send!(
            self,
            call,
            self.client
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
                .customize()
        )?;
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
        let created = send!(
            self,
            call,
            self.client
                .create_deployment()
                .application_name(application)
                .deployment_group_name(group)
                .revision(revision)
                .set_deployment_config_name(config.map(ToOwned::to_owned))
                .customize()
        )?;
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
            self.client
                .get_deployment()
                .deployment_id(id)
                .customize()
                .interceptor(capture.clone())
        )?;
        read(&capture, &call, "deploymentInfo")
    }

    async fn deployment_target(&self, id: &str) -> Result<Option<EcsTarget>> {
        let Some(target) = self.target_id(id).await? else {
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
            self.client
                .get_deployment_target()
                .deployment_id(id)
                .target_id(&target)
                .customize()
                .interceptor(capture.clone())
        )?;
        let target: Target = read(&capture, &call, "deploymentTarget")?;
        Ok(target.ecs_target)
    }

    async fn continue_deployment(&self, id: &str, wait_type: &str) -> Result<()> {
        let call = self.call(
            "codedeploy:ContinueDeployment",
            format!("continuing deployment `{id}` ({wait_type})"),
        );
        send!(
            self,
            call,
            self.client
                .continue_deployment()
                .deployment_id(id)
                .deployment_wait_type(DeploymentWaitType::from(wait_type))
                .customize()
        )?;
        Ok(())
    }

    async fn report_hook_status(
        &self,
        deployment_id: &str,
        execution_id: &str,
        status: &str,
    ) -> Result<()> {
        let call = self.call(
            "codedeploy:PutLifecycleEventHookExecutionStatus",
            format!("reporting `{status}` for a lifecycle hook of deployment `{deployment_id}`"),
        );
        send!(
            self,
            call,
            self.client
                .put_lifecycle_event_hook_execution_status()
                .deployment_id(deployment_id)
                .lifecycle_event_hook_execution_id(execution_id)
                .status(LifecycleEventStatus::from(status))
                .customize()
        )?;
        Ok(())
    }

    async fn stop_deployment(&self, id: &str) -> Result<()> {
        let call = self.call(
            "codedeploy:StopDeployment",
            format!("stopping deployment `{id}`"),
        );
        send!(
            self,
            call,
            self.client
                .stop_deployment()
                .deployment_id(id)
                .auto_rollback_enabled(true)
                .customize()
        )?;
        Ok(())
    }
}
