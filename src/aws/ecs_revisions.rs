//! The ECS calls of `bgtool prune`: listing a family's revisions, what uses them across
//! clusters, and deregistering or deleting them. Every list is read to its last page.

use anyhow::{Context, Result};
use aws_sdk_ecs::types::{DesiredStatus, TaskDefinitionStatus};

use super::calls::{BodyCapture, Call, Lookup, captured_json, send};
use super::ecs::{DescribeServicesBody, DescribeTasksBody, SdkEcs};
use super::{Deletion, FamilyTask};
use crate::deployment::service::ServiceDescription;

/// DescribeServices takes at most ten services, DescribeTasks at most a hundred tasks.
const SERVICES_PER_DESCRIBE: usize = 10;
const TASKS_PER_DESCRIBE: usize = 100;

fn family_hint(family: &str) -> Lookup {
    Lookup::TaskDefinition {
        reference: family.to_owned(),
    }
}

fn cluster_hint(cluster: &str) -> Lookup {
    Lookup::Hint(format!(
        "pass `--cluster` for each cluster this identity may read that can run the family; `{cluster}` could not be searched"
    ))
}

/// Every item of a list call, page after page: `page(token)` sends one request and returns its
/// items and the next page's token (none, or an empty one, after the last).
async fn every_page(
    mut page: impl AsyncFnMut(Option<String>) -> Result<(Vec<String>, Option<String>)>,
) -> Result<Vec<String>> {
    let mut items = Vec::new();
    let mut token = None;
    loop {
        let (more, next) = page(token.take()).await?;
        items.extend(more);
        match next {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(items),
        }
    }
}

impl SdkEcs {
    pub(crate) async fn list_task_definition_arns(
        &self,
        family: &str,
        status: &str,
    ) -> Result<Vec<String>> {
        let call = Call {
            action: "ecs:ListTaskDefinitions",
            subject: format!("listing the {status} revisions of family `{family}`"),
            lookup: family_hint(family),
        };
        every_page(async |token| {
            let page = send!(
                self,
                call,
                self.client
                    .list_task_definitions()
                    .family_prefix(family)
                    .status(TaskDefinitionStatus::from(status))
                    .set_next_token(token)
                    .customize()
            )?;
            Ok((page.task_definition_arns().to_vec(), page.next_token))
        })
        .await
    }

    pub(crate) async fn list_cluster_arns(&self) -> Result<Vec<String>> {
        let call = Call {
            action: "ecs:ListClusters",
            subject: "listing the clusters".to_owned(),
            lookup: Lookup::Hint(
                "name the clusters to search with `--cluster`, so ListClusters is not needed"
                    .to_owned(),
            ),
        };
        every_page(async |token| {
            let page = send!(
                self,
                call,
                self.client
                    .list_clusters()
                    .set_next_token(token)
                    .customize()
            )?;
            Ok((page.cluster_arns().to_vec(), page.next_token))
        })
        .await
    }

    pub(crate) async fn list_cluster_services(
        &self,
        cluster: &str,
    ) -> Result<Vec<ServiceDescription>> {
        let call = Call {
            action: "ecs:ListServices",
            subject: format!("listing the services of cluster `{cluster}`"),
            lookup: cluster_hint(cluster),
        };
        let arns = every_page(async |token| {
            let page = send!(
                self,
                call,
                self.client
                    .list_services()
                    .cluster(cluster)
                    .set_next_token(token)
                    .customize()
            )?;
            Ok((page.service_arns().to_vec(), page.next_token))
        })
        .await?;
        let mut services = Vec::with_capacity(arns.len());
        for chunk in arns.chunks(SERVICES_PER_DESCRIBE) {
            let call = Call {
                action: "ecs:DescribeServices",
                subject: format!("describing the services of cluster `{cluster}`"),
                lookup: cluster_hint(cluster),
            };
            let capture = BodyCapture::default();
            send!(
                self,
                call,
                self.client
                    .describe_services()
                    .cluster(cluster)
                    .set_services(Some(chunk.to_vec()))
                    .customize()
                    .interceptor(capture.clone())
            )?;
            let body: DescribeServicesBody =
                serde_json::from_value(captured_json(&capture, &call.subject)?).with_context(
                    || format!("{}: unexpected DescribeServices response", call.subject),
                )?;
            services.extend(body.services);
        }
        Ok(services)
    }

    pub(crate) async fn list_family_tasks(
        &self,
        cluster: &str,
        family: &str,
    ) -> Result<Vec<FamilyTask>> {
        let call = Call {
            action: "ecs:ListTasks",
            subject: format!("listing the tasks of family `{family}` in cluster `{cluster}`"),
            lookup: cluster_hint(cluster),
        };
        // A pending task's desired status is RUNNING too, so this finds both.
        let arns = every_page(async |token| {
            let page = send!(
                self,
                call,
                self.client
                    .list_tasks()
                    .cluster(cluster)
                    .family(family)
                    .desired_status(DesiredStatus::Running)
                    .set_next_token(token)
                    .customize()
            )?;
            Ok((page.task_arns().to_vec(), page.next_token))
        })
        .await?;
        let mut tasks = Vec::with_capacity(arns.len());
        for chunk in arns.chunks(TASKS_PER_DESCRIBE) {
            let call = Call {
                action: "ecs:DescribeTasks",
                subject: format!(
                    "describing the tasks of family `{family}` in cluster `{cluster}`"
                ),
                lookup: cluster_hint(cluster),
            };
            let capture = BodyCapture::default();
            send!(
                self,
                call,
                self.client
                    .describe_tasks()
                    .cluster(cluster)
                    .set_tasks(Some(chunk.to_vec()))
                    .customize()
                    .interceptor(capture.clone())
            )?;
            let body: DescribeTasksBody<FamilyTask> =
                serde_json::from_value(captured_json(&capture, &call.subject)?).with_context(
                    || format!("{}: unexpected DescribeTasks response", call.subject),
                )?;
            tasks.extend(body.tasks);
        }
        Ok(tasks)
    }

    pub(crate) async fn deregister(&self, arn: &str) -> Result<()> {
        let call = Call {
            action: "ecs:DeregisterTaskDefinition",
            subject: format!("deregistering `{arn}`"),
            lookup: Lookup::TaskDefinition {
                reference: arn.to_owned(),
            },
        };
        send!(
            self,
            call,
            self.client
                .deregister_task_definition()
                .task_definition(arn)
                .customize()
        )?;
        Ok(())
    }

    pub(crate) async fn delete(&self, arns: &[String]) -> Result<Deletion> {
        let call = Call {
            action: "ecs:DeleteTaskDefinitions",
            subject: format!("deleting {} INACTIVE revisions", arns.len()),
            lookup: Lookup::Hint(
                "only INACTIVE revisions can be deleted: `aws ecs list-task-definitions --status INACTIVE`"
                    .to_owned(),
            ),
        };
        let answer = send!(
            self,
            call,
            self.client
                .delete_task_definitions()
                .set_task_definitions(Some(arns.to_vec()))
                .customize()
        )?;
        Ok(Deletion {
            deleted: answer
                .task_definitions()
                .iter()
                .filter_map(|deleted| deleted.task_definition_arn().map(ToOwned::to_owned))
                .collect(),
            failures: answer
                .failures()
                .iter()
                .map(|failure| {
                    (
                        failure.arn().unwrap_or("an unnamed revision").to_owned(),
                        match (failure.reason(), failure.detail()) {
                            (Some(reason), Some(detail)) => format!("{reason}: {detail}"),
                            (Some(reason), None) => reason.to_owned(),
                            (None, Some(detail)) => detail.to_owned(),
                            (None, None) => "no reason given".to_owned(),
                        },
                    )
                })
                .collect(),
        })
    }
}
