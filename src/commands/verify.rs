//! `bgtool verify`: a task definition checked against AWS before it is deployed. The checks run
//! concurrently; [`findings`] is what `deploy` runs first too.

use anyhow::{Context, Result, anyhow};
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::artifacts::taskdef::{apply_images, registerable};
use crate::aws::{self, Ecs, Inspect};
use crate::config::verify::{Subject, VerifySettings};
use crate::deployment::ecs::primary_task_definition;
use crate::deployment::service::ServiceDescription;
use crate::error::Hinted;
use crate::files::{parse_json, read_input};
use crate::verify::{
    EcrImage, Finding, Lookup, SecretSource, ServiceTarget, Severity, judge_image,
    judge_load_balancers, judge_log_group, judge_parameter, judge_permissions, judge_role,
    judge_secret, needs, partition,
};

/// Checks the task definition and prints the findings; exit 1 when any is an error.
///
/// # Errors
/// Bad input, an ECS error reading the revision or the service, or any error finding.
pub fn run(settings: &VerifySettings) -> Result<()> {
    // A bad file fails before any call.
    let file = match &settings.subject {
        Subject::File { input, image_edits } => {
            let origin = input.describe();
            let described = parse_json(&read_input(input)?, input)?;
            let mut document = registerable(described).with_context(|| origin.clone())?;
            apply_images(&mut document, image_edits).with_context(|| origin.clone())?;
            Some((origin, Value::Object(document)))
        }
        _ => None,
    };
    let (subject, findings) =
        aws::with_deploy_clients(&settings.aws, async |ecs, _, _, inspect| {
            let service = match &settings.service {
                Some((cluster, service)) => Some(ecs.describe_service(cluster, service).await?),
                None => None,
            };
            let (subject, taskdef) = match (file, &settings.subject) {
                (Some(file), _) => file,
                (None, Subject::Registered(reference)) => {
                    (format!("`{reference}`"), describe(ecs, reference).await?)
                }
                (None, _) => {
                    let reference = service
                        .as_ref()
                        .and_then(primary_task_definition)
                        .ok_or_else(|| anyhow!("the service names no task definition"))?
                        .to_owned();
                    (format!("`{reference}`"), describe(ecs, &reference).await?)
                }
            };
            let findings =
                findings(inspect, &taskdef, service.as_ref(), settings.read_secrets).await;
            Ok((subject, findings))
        })?;
    let errors = count(&findings, Severity::Error);
    if settings.json {
        let report = json!({
            "taskDefinition": subject.trim_matches('`'),
            "errors": errors,
            "warnings": count(&findings, Severity::Warning),
            "findings": findings,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for finding in &findings {
            println!("{}", finding.line());
        }
        println!("{}: {}", subject.trim_matches('`'), summary(&findings));
    }
    if errors > 0 {
        return Err(Hinted::new(
            format!("{subject} failed {errors} of verify's checks"),
            "each error above names what ECS would trip over when it starts the task",
        )
        .into());
    }
    Ok(())
}

/// `2 errors, 1 warning, 3 notes`, or `ok` when there is nothing to say.
#[must_use]
pub fn summary(findings: &[Finding]) -> String {
    let plural =
        |count: usize, word: &str| format!("{count} {word}{}", if count == 1 { "" } else { "s" });
    if findings.is_empty() {
        return "ok".to_owned();
    }
    format!(
        "{}, {}, {}",
        plural(count(findings, Severity::Error), "error"),
        plural(count(findings, Severity::Warning), "warning"),
        plural(count(findings, Severity::Note), "note")
    )
}

/// How many of `findings` have `severity`.
#[must_use]
pub fn count(findings: &[Finding], severity: Severity) -> usize {
    findings
        .iter()
        .filter(|finding| finding.severity == severity)
        .count()
}

async fn describe(ecs: &impl Ecs, reference: &str) -> Result<Value> {
    let mut body = ecs.describe_task_definition(reference).await?;
    Ok(body["taskDefinition"].take())
}

/// Every check of `taskdef` (and of `service`'s load balancers), in a fixed order: images,
/// secrets and parameters, the execution role, the task role, log groups, load balancers.
pub async fn findings(
    inspect: &impl Inspect,
    taskdef: &Value,
    service: Option<&ServiceDescription>,
    read_secrets: bool,
) -> Vec<Finding> {
    let region = inspect.region().to_owned();
    let needs = &needs(taskdef);
    let images = join_all(needs.images.iter().map(|(container, uri)| async move {
        let ecr = EcrImage::parse(uri);
        let lookup = match &ecr {
            Some(image) => Some((image, inspect.image(image).await)),
            None => None,
        };
        judge_image(container, uri, lookup, needs)
    }));
    let secrets = join_all(needs.secrets.iter().map(|(container, variable, source)| {
        let region = &region;
        async move {
            match source {
                SecretSource::SecretsManager(secret) => {
                    let lookup = inspect.secret(secret, read_secrets).await;
                    let key = match &lookup {
                        Lookup::Found(facts) => facts
                            .kms_key
                            .as_deref()
                            .and_then(|key| key_arn(key, &secret.arn)),
                        _ => None,
                    };
                    (judge_secret(container, variable, secret, lookup), key)
                }
                SecretSource::Parameter(parameter) => {
                    let lookup = inspect.parameter(parameter).await;
                    (
                        judge_parameter(container, variable, parameter, region, lookup),
                        None,
                    )
                }
            }
        }
    }));
    let execution_role = async {
        match &needs.execution_role {
            Some(role) => Some((role, inspect.role(role).await)),
            None => None,
        }
    };
    let task_role = async {
        match &needs.task_role {
            Some(role) => judge_role("task-role", role, inspect.role(role).await),
            None => Vec::new(),
        }
    };
    let log_groups = join_all(needs.log_groups.iter().map(|(container, group)| {
        let region = &region;
        async move { judge_log_group(container, group, region, inspect.log_group(group).await) }
    }));
    let targets = service_targets(service);
    let load_balancers = join_all(targets.into_iter().map(|target| async move {
        let port = match &target.target_group_arn {
            Some(arn) => inspect.health_check_port(arn).await,
            None => Lookup::Missing(String::new()),
        };
        (target, port)
    }));
    let (images, secrets, execution_role, task_role, log_groups, load_balancers) = tokio::join!(
        images,
        secrets,
        execution_role,
        task_role,
        log_groups,
        load_balancers
    );

    let mut findings: Vec<Finding> = images.into_iter().flatten().collect();
    let mut keys = Vec::new();
    for (secret_findings, key) in secrets {
        findings.extend(secret_findings);
        keys.extend(key);
    }
    findings.extend(execution_role_findings(inspect, needs, execution_role, &region, &keys).await);
    findings.extend(task_role);
    findings.extend(log_groups.into_iter().flatten());
    findings.extend(judge_load_balancers(needs, &load_balancers));
    findings
}

/// The execution role: present when ECS needs one, trusted, and allowed what ECS does with it.
async fn execution_role_findings(
    inspect: &impl Inspect,
    needs: &crate::verify::Needs,
    role: Option<(&String, Lookup<crate::verify::RoleFacts>)>,
    region: &str,
    keys: &[String],
) -> Vec<Finding> {
    let needs_role = needs
        .images
        .iter()
        .any(|(_, image)| EcrImage::parse(image).is_some())
        || !needs.secrets.is_empty()
        || !needs.log_groups.is_empty();
    let Some((role, lookup)) = role else {
        return if needs_role {
            vec![Finding {
                severity: Severity::Error,
                check: "execution-role",
                container: None,
                message: "the task definition has no `executionRoleArn`, and ECS needs one to pull from ECR, read secrets or write awslogs".to_owned(),
            }]
        } else {
            Vec::new()
        };
    };
    let arn = match &lookup {
        Lookup::Found(facts) => Some(facts.arn.clone()),
        _ => None,
    };
    let mut findings = judge_role("execution-role", role, lookup);
    let Some(arn) = arn else {
        return findings;
    };
    let account = arn.split(':').nth(4).unwrap_or_default();
    let questions = crate::verify::execution_role_questions(needs, region, account, keys);
    let answers = join_all(
        questions
            .iter()
            .map(|question| inspect.simulate(&arn, question)),
    )
    .await;
    // A simulator that cannot answer (denied, unreachable) says so once, not once per question.
    let answered = answers
        .iter()
        .any(|answer| matches!(answer, Lookup::Found(_)));
    if let (false, Some(unanswered), Some(first)) = (answered, answers.first(), questions.first()) {
        let question = crate::verify::PermissionQuestion {
            purpose: "use what the task needs".to_owned(),
            ..first.clone()
        };
        findings.extend(judge_permissions(role, &question, unanswered.clone()));
        return findings;
    }
    for (question, answer) in questions.iter().zip(answers) {
        findings.extend(judge_permissions(role, question, answer));
    }
    findings
}

/// A customer managed key's ARN: as given, or built from a key ID and the secret's Region and
/// account. An alias names no key the simulator can judge.
fn key_arn(key: &str, secret_arn: &str) -> Option<String> {
    if key.starts_with("arn:") {
        return (!key.contains(":alias/")).then(|| key.to_owned());
    }
    if key.starts_with("alias/") {
        return None;
    }
    let parts: Vec<&str> = secret_arn.split(':').collect();
    let (region, account) = (parts.get(3)?, parts.get(4)?);
    Some(format!(
        "arn:{}:kms:{region}:{account}:key/{key}",
        partition(region)
    ))
}

/// Each target group the service sends to a container, the alternate of a blue/green pair too.
fn service_targets(service: Option<&ServiceDescription>) -> Vec<ServiceTarget> {
    let Some(service) = service else {
        return Vec::new();
    };
    // A CODE_DEPLOY service's own list can be empty: its PRIMARY task set has the pair's live one.
    let balancers = if service.placement.load_balancers.is_empty() {
        service
            .task_sets
            .iter()
            .find(|set| set.status == "PRIMARY")
            .map_or(&[][..], |set| &set.placement.load_balancers[..])
    } else {
        &service.placement.load_balancers[..]
    };
    let mut targets = Vec::new();
    for balancer in balancers {
        let alternate = balancer
            .advanced_configuration
            .as_ref()
            .and_then(|advanced| advanced.alternate_target_group_arn.clone());
        for arn in std::iter::once(balancer.target_group_arn.clone()).chain(alternate.map(Some)) {
            targets.push(ServiceTarget {
                target_group_arn: arn,
                container: balancer.container_name.clone(),
                port: balancer.container_port.map(i64::from),
            });
        }
    }
    targets
}
