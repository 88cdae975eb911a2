//! `bgtool verify`'s judgement, with no I/O: what a task definition needs from AWS (images,
//! secrets and parameters, roles, log groups, the service's load balancers), which permissions the
//! execution role must have, and the findings each answer gives. AWS's answers come in as data.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// How much a finding matters: an error fails `verify` (and stops `deploy`), a warning is a check
/// that could not be made or a doubt, a note says what was not checked and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

/// One line of `verify`'s report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// `image`, `secret`, `parameter`, `execution-role`, `task-role`, `log-group` or
    /// `load-balancer`.
    pub check: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    pub message: String,
}

impl Finding {
    fn new(
        severity: Severity,
        check: &'static str,
        container: Option<&str>,
        message: String,
    ) -> Self {
        Self {
            severity,
            check,
            container: container.map(ToOwned::to_owned),
            message,
        }
    }

    /// `error: container `web`: …` — one line of the text report.
    #[must_use]
    pub fn line(&self) -> String {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        match &self.container {
            Some(container) => format!("{severity}: container `{container}`: {}", self.message),
            None => format!("{severity}: {}", self.message),
        }
    }
}

/// What an AWS lookup found, in the terms a finding needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<T> {
    Found(T),
    /// The thing is not there; the service's own words.
    Missing(String),
    /// The identity bgtool runs as may not look: the IAM action it needs.
    Denied(&'static str),
    /// No answer (network, throttling, a service that does not know the call): why.
    Failed(String),
}

/// An image in a private ECR repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrImage {
    pub uri: String,
    pub registry: String,
    pub region: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl EcrImage {
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/REPOSITORY[:TAG][@DIGEST]`; `None` for any other
    /// registry (Docker Hub, ECR Public, GHCR, …).
    #[must_use]
    pub fn parse(uri: &str) -> Option<Self> {
        let (host, path) = uri.split_once('/')?;
        let mut labels = host.split('.');
        let registry = labels.next()?;
        if labels.next()? != "dkr" || !labels.next()?.starts_with("ecr") {
            return None;
        }
        let region = labels.next()?;
        if !registry.bytes().all(|byte| byte.is_ascii_digit()) || region.is_empty() {
            return None;
        }
        let (rest, digest) = match path.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest.to_owned())),
            None => (path, None),
        };
        let (repository, tag) = match rest.rsplit_once(':') {
            Some((repository, tag)) if !tag.contains('/') => (repository, Some(tag.to_owned())),
            _ => (rest, None),
        };
        Some(Self {
            uri: uri.to_owned(),
            registry: registry.to_owned(),
            region: region.to_owned(),
            repository: repository.to_owned(),
            // A bare repository means `latest`, as `docker pull` reads it.
            tag: tag.or_else(|| digest.is_none().then(|| "latest".to_owned())),
            digest,
        })
    }

    fn arn(&self) -> String {
        format!(
            "arn:{}:ecr:{}:{}:repository/{}",
            partition(&self.region),
            self.region,
            self.registry,
            self.repository
        )
    }

    fn named(&self) -> String {
        match (&self.tag, &self.digest) {
            (_, Some(digest)) => format!("digest `{digest}`"),
            (Some(tag), None) => format!("tag `{tag}`"),
            (None, None) => "the image".to_owned(),
        }
    }
}

/// A Secrets Manager reference in `secrets[].valueFrom`, split as ECS reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretReference {
    pub value_from: String,
    /// The secret's ARN, without the JSON key and version fields.
    pub arn: String,
    pub region: String,
    pub json_key: Option<String>,
    pub version_stage: Option<String>,
    pub version_id: Option<String>,
}

/// A Systems Manager parameter in `secrets[].valueFrom`: an ARN or a name in the task's Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterReference {
    pub value_from: String,
    /// As DescribeParameters names it: `/a/b` or `a`.
    pub name: String,
    /// From the ARN; `None` for a bare name (the task's own Region).
    pub region: Option<String>,
    pub account: Option<String>,
}

/// Where a secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    SecretsManager(SecretReference),
    Parameter(ParameterReference),
}

impl SecretSource {
    /// Reads `valueFrom`: a Secrets Manager ARN (with optional `:json-key:version-stage:version-id`),
    /// an SSM parameter ARN, or a parameter name.
    #[must_use]
    pub fn parse(value_from: &str) -> Self {
        let parts: Vec<&str> = value_from.split(':').collect();
        if parts.len() >= 7 && parts[0] == "arn" && parts[2] == "secretsmanager" {
            let field = |index: usize| {
                parts
                    .get(index)
                    .filter(|value| !value.is_empty())
                    .map(|value| (*value).to_owned())
            };
            return Self::SecretsManager(SecretReference {
                value_from: value_from.to_owned(),
                arn: parts[..7].join(":"),
                region: parts[3].to_owned(),
                json_key: field(7),
                version_stage: field(8),
                version_id: field(9),
            });
        }
        if parts.len() >= 6 && parts[0] == "arn" && parts[2] == "ssm" {
            let resource = parts[5..].join(":");
            let path = resource.strip_prefix("parameter/").unwrap_or(&resource);
            // Names in a hierarchy start with `/`, which the ARN leaves out.
            let name = if path.contains('/') {
                format!("/{path}")
            } else {
                path.to_owned()
            };
            return Self::Parameter(ParameterReference {
                value_from: value_from.to_owned(),
                name,
                region: Some(parts[3].to_owned()),
                account: Some(parts[4].to_owned()),
            });
        }
        Self::Parameter(ParameterReference {
            value_from: value_from.to_owned(),
            name: value_from.to_owned(),
            region: None,
            account: None,
        })
    }
}

/// A container's awslogs destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroup {
    pub name: String,
    pub region: Option<String>,
    /// `awslogs-create-group` is `true`: the execution role creates it at the first start.
    pub create: bool,
}

/// Everything a task definition needs from AWS, per container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// `(container, image URI)`.
    pub images: Vec<(String, String)>,
    pub secrets: Vec<(String, String, SecretSource)>,
    pub log_groups: Vec<(String, LogGroup)>,
    pub execution_role: Option<String>,
    pub task_role: Option<String>,
    /// The image architecture the task runs: `amd64` or `arm64`.
    pub architecture: &'static str,
    /// Each container's name and container ports.
    pub ports: Vec<(String, Vec<i64>)>,
}

impl Needs {
    /// The task's account, from the execution role's ARN (or the task role's).
    #[must_use]
    pub fn account(&self) -> Option<&str> {
        [&self.execution_role, &self.task_role]
            .into_iter()
            .flatten()
            .find_map(|role| role.split(':').nth(4).filter(|account| !account.is_empty()))
    }
}

/// Reads what a task definition (taskdef.json or DescribeTaskDefinition's `taskDefinition`)
/// needs from AWS.
#[must_use]
pub fn needs(taskdef: &Value) -> Needs {
    let text = |value: &Value, key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .map(ToOwned::to_owned)
    };
    let mut needs = Needs {
        execution_role: text(taskdef, "executionRoleArn").filter(|role| !role.is_empty()),
        task_role: text(taskdef, "taskRoleArn").filter(|role| !role.is_empty()),
        architecture: match taskdef
            .pointer("/runtimePlatform/cpuArchitecture")
            .and_then(Value::as_str)
        {
            Some("ARM64") => "arm64",
            _ => "amd64",
        },
        ..Needs::default()
    };
    let containers = taskdef
        .get("containerDefinitions")
        .and_then(Value::as_array);
    for container in containers.into_iter().flatten() {
        let name = text(container, "name").unwrap_or_default();
        if let Some(image) = text(container, "image") {
            needs.images.push((name.clone(), image));
        }
        for secret in container
            .get("secrets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(value_from) = text(secret, "valueFrom") {
                let variable = text(secret, "name").unwrap_or_default();
                needs
                    .secrets
                    .push((name.clone(), variable, SecretSource::parse(&value_from)));
            }
        }
        let logging = container.get("logConfiguration");
        if logging
            .and_then(|logging| logging.get("logDriver"))
            .and_then(Value::as_str)
            == Some("awslogs")
        {
            let options = logging.and_then(|logging| logging.get("options"));
            if let Some(group) = options.and_then(|options| text(options, "awslogs-group")) {
                needs.log_groups.push((
                    name.clone(),
                    LogGroup {
                        name: group,
                        region: options.and_then(|options| text(options, "awslogs-region")),
                        create: options
                            .and_then(|options| text(options, "awslogs-create-group"))
                            .as_deref()
                            == Some("true"),
                    },
                ));
            }
        }
        let ports = container
            .get("portMappings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|mapping| mapping.get("containerPort").and_then(Value::as_i64))
            .collect();
        needs.ports.push((name, ports));
    }
    needs
}

/// What ECR knows of an image: the architectures it holds (a multi-platform image's from its
/// manifest list or OCI index, a single-platform image's from its config blob), or why they could
/// not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    pub architectures: Result<Vec<String>, String>,
}

impl ImageFacts {
    #[must_use]
    pub fn of(architectures: Vec<String>) -> Self {
        Self {
            architectures: Ok(architectures),
        }
    }

    #[must_use]
    pub fn unchecked(why: impl Into<String>) -> Self {
        Self {
            architectures: Err(why.into()),
        }
    }
}

/// The findings of one container's image.
#[must_use]
pub fn judge_image(
    container: &str,
    image: &str,
    lookup: Option<(&EcrImage, Lookup<ImageFacts>)>,
    needs: &Needs,
) -> Vec<Finding> {
    let architecture = needs.architecture;
    let finding =
        |severity, message| vec![Finding::new(severity, "image", Some(container), message)];
    let Some((ecr, lookup)) = lookup else {
        return finding(
            Severity::Note,
            format!("image `{image}` is not in a private ECR registry: not checked"),
        );
    };
    match lookup {
        Lookup::Found(facts) => match facts.architectures {
            Ok(architectures) if !architectures.iter().any(|found| found == architecture) => {
                finding(
                    Severity::Error,
                    format!(
                        "image `{image}` has no `linux/{architecture}` variant (it has {}), so its tasks cannot start",
                        list_or_none(&architectures)
                    ),
                )
            }
            Ok(_) => Vec::new(),
            Err(why) => finding(
                Severity::Note,
                format!("image `{image}`: its architecture was not checked: {why}"),
            ),
        },
        // Another account's repository (AWS's own images, a shared registry) may only be hidden
        // from this identity: ECR answers the same.
        Lookup::Missing(detail)
            if needs
                .account()
                .is_some_and(|account| account != ecr.registry) =>
        {
            finding(
                Severity::Warning,
                format!(
                    "image `{image}` not checked: ECR does not show it to this identity in account {}'s repository `{}`: {detail}",
                    ecr.registry, ecr.repository
                ),
            )
        }
        Lookup::Missing(detail) => finding(
            Severity::Error,
            format!(
                "image `{image}`: {} is not in ECR repository `{}` of account {} in {}: {detail}",
                ecr.named(),
                ecr.repository,
                ecr.registry,
                ecr.region
            ),
        ),
        other => unchecked(other, "image", Some(container), &format!("image `{image}`")),
    }
}

/// What Secrets Manager says of a secret (DescribeSecret; the value only with `--read-secrets`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretFacts {
    /// Version ID → its staging labels.
    pub versions: BTreeMap<String, Vec<String>>,
    pub scheduled_for_deletion: bool,
    /// A customer managed key's ID or ARN; `None` for the AWS managed `aws/secretsmanager`.
    pub kms_key: Option<String>,
    /// With `--read-secrets`: the top-level keys of the version's JSON value.
    pub json_keys: JsonKeys,
}

/// What reading a secret's value told of its JSON keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum JsonKeys {
    /// The value was not read (no `--read-secrets`).
    #[default]
    NotRead,
    Keys(Vec<String>),
    /// The value is there but has no keys: why.
    NotAnObject(String),
    /// The value could not be read: why.
    Unreadable(String),
}

/// The findings of one Secrets Manager reference.
#[must_use]
pub fn judge_secret(
    container: &str,
    variable: &str,
    secret: &SecretReference,
    lookup: Lookup<SecretFacts>,
) -> Vec<Finding> {
    let subject = format!("secret `{variable}` (`{}`)", secret.value_from);
    let error = |message: String| {
        Finding::new(
            Severity::Error,
            "secret",
            Some(container),
            format!("{subject}: {message}"),
        )
    };
    let facts = match lookup {
        Lookup::Found(facts) => facts,
        Lookup::Missing(detail) => {
            return vec![error(format!(
                "no such secret in {}: {detail}",
                secret.region
            ))];
        }
        other => return unchecked(other, "secret", Some(container), &subject),
    };
    let mut findings = Vec::new();
    if facts.scheduled_for_deletion {
        findings.push(error(
            "the secret is scheduled for deletion, and ECS cannot read it".to_owned(),
        ));
    }
    if let Some(id) = &secret.version_id
        && !facts.versions.contains_key(id)
    {
        findings.push(error(format!("the secret has no version `{id}`")));
    }
    if let Some(stage) = &secret.version_stage {
        let holder = facts
            .versions
            .iter()
            .find(|(_, stages)| stages.contains(stage));
        match (holder, &secret.version_id) {
            (None, _) => findings.push(error(format!(
                "no version of the secret has the staging label `{stage}`"
            ))),
            (Some((id, _)), Some(wanted)) if id != wanted => {
                findings.push(error(format!(
                    "version `{wanted}` does not have the staging label `{stage}`"
                )));
            }
            _ => {}
        }
    }
    if let Some(key) = &secret.json_key {
        match &facts.json_keys {
            JsonKeys::Keys(keys) if !keys.contains(key) => findings.push(error(format!(
                "the secret's JSON has no key `{key}` (it has {})",
                list_or_none(keys)
            ))),
            JsonKeys::NotAnObject(why) => findings.push(error(format!("JSON key `{key}` asked for, but {why}"))),
            JsonKeys::Keys(_) => {}
            JsonKeys::Unreadable(why) => findings.push(Finding::new(
                Severity::Warning,
                "secret",
                Some(container),
                format!("{subject}: JSON key `{key}` not checked: {why}"),
            )),
            JsonKeys::NotRead => findings.push(Finding::new(
                Severity::Note,
                "secret",
                Some(container),
                format!("{subject}: JSON key `{key}` not checked: that reads the value (`--read-secrets`)"),
            )),
        }
    }
    findings
}

/// The findings of one Systems Manager parameter.
#[must_use]
pub fn judge_parameter(
    container: &str,
    variable: &str,
    parameter: &ParameterReference,
    region: &str,
    lookup: Lookup<()>,
) -> Vec<Finding> {
    let subject = format!("secret `{variable}` (parameter `{}`)", parameter.value_from);
    match lookup {
        Lookup::Found(()) => Vec::new(),
        Lookup::Missing(_) => vec![Finding::new(
            Severity::Error,
            "parameter",
            Some(container),
            format!(
                "{subject}: no parameter `{}` in {}",
                parameter.name,
                parameter.region.as_deref().unwrap_or(region)
            ),
        )],
        other => unchecked(other, "parameter", Some(container), &subject),
    }
}

/// What IAM says of a role: its ARN and its trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleFacts {
    pub arn: String,
    pub trust_policy: Value,
}

/// The findings of the execution or task role: it exists and ECS tasks may assume it.
#[must_use]
pub fn judge_role(check: &'static str, role: &str, lookup: Lookup<RoleFacts>) -> Vec<Finding> {
    let kind = if check == "execution-role" {
        "execution role"
    } else {
        "task role"
    };
    match lookup {
        Lookup::Found(facts) if trusts_ecs_tasks(&facts.trust_policy) => Vec::new(),
        Lookup::Found(_) => vec![Finding::new(
            Severity::Error,
            check,
            None,
            format!(
                "{kind} `{role}` does not trust `ecs-tasks.amazonaws.com`, so ECS cannot assume it"
            ),
        )],
        Lookup::Missing(_) => vec![Finding::new(
            Severity::Error,
            check,
            None,
            format!("{kind} `{role}` does not exist"),
        )],
        other => unchecked(other, check, None, &format!("{kind} `{role}`")),
    }
}

/// Whether a trust policy lets `ecs-tasks.amazonaws.com` call sts:AssumeRole. Conditions are not
/// judged: a condition on `aws:SourceAccount` or `aws:SourceArn` is the recommended setup.
#[must_use]
pub fn trusts_ecs_tasks(policy: &Value) -> bool {
    let statements = match policy.get("Statement") {
        Some(Value::Array(statements)) => statements.iter().collect(),
        Some(statement) => vec![statement],
        None => Vec::new(),
    };
    statements.into_iter().any(|statement| {
        let allows = statement.get("Effect").and_then(Value::as_str) == Some("Allow");
        let assumes = strings(statement.get("Action")).iter().any(|action| {
            matches!(
                action.to_ascii_lowercase().as_str(),
                "sts:assumerole" | "sts:*" | "*"
            )
        });
        let principal = statement.pointer("/Principal/Service");
        allows
            && assumes
            && strings(principal)
                .iter()
                .any(|service| service == "ecs-tasks.amazonaws.com")
    })
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(ToOwned::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// One question for IAM's policy simulator: may the role do `actions` on `resources`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionQuestion {
    pub actions: Vec<&'static str>,
    pub resources: Vec<String>,
    /// What the answer is about, for the finding: e.g. "pull image `…`".
    pub purpose: String,
    /// A key policy or a resource policy can allow what the role's own policies do not, and the
    /// simulator sees only the role's: such a denial is a warning.
    pub may_be_granted_elsewhere: bool,
}

impl PermissionQuestion {
    /// The question, when there is a resource to ask about.
    fn about(
        actions: Vec<&'static str>,
        resources: Vec<String>,
        purpose: &str,
        may_be_granted_elsewhere: bool,
    ) -> Option<Self> {
        (!resources.is_empty()).then(|| Self {
            actions,
            resources,
            purpose: purpose.to_owned(),
            may_be_granted_elsewhere,
        })
    }
}

/// The permissions ECS uses the execution role for when it starts a task: pulling each ECR image,
/// reading each secret (and decrypting it with a customer managed key), and writing (or
/// creating) each log group. `account` is the task's account, from the role's ARN.
#[must_use]
pub fn execution_role_questions(
    needs: &Needs,
    region: &str,
    account: &str,
    secret_keys: &[String],
) -> Vec<PermissionQuestion> {
    let mut questions = Vec::new();
    let repositories: Vec<String> = unique(
        needs
            .images
            .iter()
            .filter_map(|(_, image)| EcrImage::parse(image))
            .map(|image| image.arn()),
    );
    if !repositories.is_empty() {
        questions.extend(PermissionQuestion::about(
            vec!["ecr:GetAuthorizationToken"],
            vec!["*".to_owned()],
            "log in to ECR",
            false,
        ));
    }
    questions.extend(PermissionQuestion::about(
        vec!["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        repositories,
        "pull the image",
        true,
    ));
    let secrets = unique(
        needs
            .secrets
            .iter()
            .filter_map(|(_, _, source)| match source {
                SecretSource::SecretsManager(secret) => Some(secret.arn.clone()),
                SecretSource::Parameter(_) => None,
            }),
    );
    questions.extend(PermissionQuestion::about(
        vec!["secretsmanager:GetSecretValue"],
        secrets,
        "read the secret",
        true,
    ));
    let parameters = unique(
        needs
            .secrets
            .iter()
            .filter_map(|(_, _, source)| match source {
                SecretSource::Parameter(parameter) => Some(format!(
                    "arn:{}:ssm:{}:{}:parameter/{}",
                    partition(parameter.region.as_deref().unwrap_or(region)),
                    parameter.region.as_deref().unwrap_or(region),
                    parameter.account.as_deref().unwrap_or(account),
                    parameter.name.trim_start_matches('/')
                )),
                SecretSource::SecretsManager(_) => None,
            }),
    );
    questions.extend(PermissionQuestion::about(
        vec!["ssm:GetParameters"],
        parameters,
        "read the parameter",
        false,
    ));
    questions.extend(PermissionQuestion::about(
        vec!["kms:Decrypt"],
        unique(secret_keys.iter().cloned()),
        "decrypt a secret with its customer managed key",
        true,
    ));
    questions.extend(log_questions(needs, region, account));
    questions
}

/// Writing each awslogs group, and creating it where `awslogs-create-group` asks for that.
fn log_questions(needs: &Needs, region: &str, account: &str) -> Vec<PermissionQuestion> {
    let log_arn = |group: &LogGroup| {
        let region = group.region.as_deref().unwrap_or(region);
        format!(
            "arn:{}:logs:{region}:{account}:log-group:{}:*",
            partition(region),
            group.name
        )
    };
    let mut questions = Vec::new();
    let groups = unique(needs.log_groups.iter().map(|(_, group)| log_arn(group)));
    questions.extend(PermissionQuestion::about(
        vec!["logs:CreateLogStream", "logs:PutLogEvents"],
        groups,
        "write the container's logs",
        false,
    ));
    let created = unique(
        needs
            .log_groups
            .iter()
            .filter(|(_, group)| group.create)
            .map(|(_, group)| log_arn(group)),
    );
    questions.extend(PermissionQuestion::about(
        vec!["logs:CreateLogGroup"],
        created,
        "create the log group (`awslogs-create-group`)",
        false,
    ));
    questions
}

/// One of the simulator's answers: `allowed`, `explicitDeny` or `implicitDeny`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: String,
    pub resource: String,
    pub decision: String,
}

/// The findings of one permission question.
#[must_use]
pub fn judge_permissions(
    role: &str,
    question: &PermissionQuestion,
    lookup: Lookup<Vec<Decision>>,
) -> Vec<Finding> {
    let decisions = match lookup {
        Lookup::Found(decisions) => decisions,
        other => {
            return unchecked(
                other,
                "execution-role",
                None,
                &format!("whether execution role `{role}` may {}", question.purpose),
            );
        }
    };
    decisions
        .into_iter()
        .filter(|decision| decision.decision != "allowed")
        .map(|decision| {
            let why = if decision.decision == "explicitDeny" { "a policy denies it" } else { "no policy of the role allows it" };
            let (severity, after) = if question.may_be_granted_elsewhere {
                (Severity::Warning, " (unless a resource or key policy grants it, which the simulator does not read)")
            } else {
                (Severity::Error, "")
            };
            Finding::new(
                severity,
                "execution-role",
                None,
                format!(
                    "execution role `{role}` may not `{}` on `{}` to {}: {why}{after}",
                    decision.action, decision.resource, question.purpose
                ),
            )
        })
        .collect()
}

/// The findings of one container's log group.
#[must_use]
pub fn judge_log_group(
    container: &str,
    group: &LogGroup,
    region: &str,
    lookup: Lookup<()>,
) -> Vec<Finding> {
    let region = group.region.as_deref().unwrap_or(region);
    match lookup {
        Lookup::Found(()) => Vec::new(),
        Lookup::Missing(_) if group.create => vec![Finding::new(
            Severity::Note,
            "log-group",
            Some(container),
            format!(
                "log group `{}` does not exist in {region} yet; `awslogs-create-group` creates it at the first start",
                group.name
            ),
        )],
        Lookup::Missing(_) => vec![Finding::new(
            Severity::Error,
            "log-group",
            Some(container),
            format!(
                "log group `{}` does not exist in {region}, and `awslogs-create-group` is not `true`: the container cannot start",
                group.name
            ),
        )],
        other => unchecked(
            other,
            "log-group",
            Some(container),
            &format!("log group `{}`", group.name),
        ),
    }
}

/// One of a service's load balancers, as DescribeServices gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTarget {
    pub target_group_arn: Option<String>,
    pub container: Option<String>,
    pub port: Option<i64>,
}

/// The findings of a service's load balancers against the task definition: the container and its
/// port exist, and the target group's health check port (from DescribeTargetGroups) is served.
#[must_use]
pub fn judge_load_balancers(
    needs: &Needs,
    targets: &[(ServiceTarget, Lookup<String>)],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (target, health_check_port) in targets {
        let (Some(container), Some(port)) = (&target.container, target.port) else {
            continue;
        };
        let group = target
            .target_group_arn
            .as_deref()
            .map_or("the load balancer", group_name);
        let error =
            |message| Finding::new(Severity::Error, "load-balancer", Some(container), message);
        let Some((_, ports)) = needs.ports.iter().find(|(name, _)| name == container) else {
            findings.push(error(format!(
                "the service sends `{group}`'s traffic to container `{container}`, which this task definition does not have"
            )));
            continue;
        };
        if !ports.contains(&port) {
            findings.push(error(format!(
                "the service sends `{group}`'s traffic to port {port}, which the container does not map (it maps {})",
                list_or_none(&ports.iter().map(ToString::to_string).collect::<Vec<_>>())
            )));
        }
        match health_check_port {
            Lookup::Found(health)
                if health != "traffic-port"
                    && health.parse::<i64>().ok() != Some(port)
                    && !health
                        .parse::<i64>()
                        .is_ok_and(|health| ports.contains(&health)) =>
            {
                findings.push(Finding::new(
                    Severity::Warning,
                    "load-balancer",
                    Some(container),
                    format!("`{group}` checks health on port {health}, which the container does not map: its targets may never be healthy"),
                ));
            }
            Lookup::Found(_) | Lookup::Missing(_) => {}
            other => findings.extend(unchecked(
                other.clone(),
                "load-balancer",
                Some(container),
                &format!("`{group}`'s health check port"),
            )),
        }
    }
    findings
}

/// A target group's name from its ARN.
fn group_name(arn: &str) -> &str {
    arn.split('/').nth(1).unwrap_or(arn)
}

/// A lookup that gave no answer: a warning naming what was not checked, and the IAM action or the
/// reason.
fn unchecked<T>(
    lookup: Lookup<T>,
    check: &'static str,
    container: Option<&str>,
    subject: &str,
) -> Vec<Finding> {
    let message = match lookup {
        Lookup::Denied(action) => {
            format!("{subject} not checked: allow `{action}` to the identity bgtool runs as")
        }
        Lookup::Failed(why) => format!("{subject} not checked: {why}"),
        Lookup::Found(_) | Lookup::Missing(_) => return Vec::new(),
    };
    vec![Finding::new(Severity::Warning, check, container, message)]
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items
            .iter()
            .map(|item| format!("`{item}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn unique(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

/// The ARN partition of a Region.
#[must_use]
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

/// The OCI and Docker platform name of an architecture in a manifest list (`amd64`, `arm64`, …).
#[must_use]
pub fn manifest_architectures(manifest: &Value) -> Option<Vec<String>> {
    let manifests = manifest.get("manifests")?.as_array()?;
    Some(unique(manifests.iter().filter_map(|entry| {
        let platform = entry.get("platform")?;
        // Build attestations sit in an index as `unknown/unknown`: not a platform to run.
        (platform.get("os").and_then(Value::as_str) == Some("linux"))
            .then(|| {
                platform
                    .get("architecture")
                    .and_then(Value::as_str)
                    .map(ToOwned::to_owned)
            })
            .flatten()
    })))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ecr_image_uris_are_split_and_others_are_not_ecr() {
        let image =
            EcrImage::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:v2").unwrap();
        assert_eq!(image.registry, "123456789012");
        assert_eq!(image.region, "eu-west-1");
        assert_eq!(image.repository, "team/web");
        assert_eq!(image.tag.as_deref(), Some("v2"));
        assert_eq!(
            image.arn(),
            "arn:aws:ecr:eu-west-1:123456789012:repository/team/web"
        );
        let pinned =
            EcrImage::parse("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web@sha256:abc")
                .unwrap();
        assert_eq!(pinned.digest.as_deref(), Some("sha256:abc"));
        assert_eq!(pinned.tag, None);
        assert_eq!(
            pinned.arn(),
            "arn:aws-cn:ecr:cn-north-1:123456789012:repository/web"
        );
        assert_eq!(
            EcrImage::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/web")
                .unwrap()
                .tag
                .as_deref(),
            Some("latest")
        );
        assert_eq!(EcrImage::parse("public.ecr.aws/nginx/nginx:1"), None);
        assert_eq!(EcrImage::parse("nginx:1.27"), None);
        assert_eq!(EcrImage::parse("localhost:5000/web:1"), None);
    }

    #[test]
    fn value_from_is_read_as_ecs_reads_it() {
        let SecretSource::SecretsManager(secret) = SecretSource::parse(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:password:AWSPREVIOUS:",
        ) else {
            panic!("a Secrets Manager ARN");
        };
        assert_eq!(
            secret.arn,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
        );
        assert_eq!(secret.json_key.as_deref(), Some("password"));
        assert_eq!(secret.version_stage.as_deref(), Some("AWSPREVIOUS"));
        assert_eq!(secret.version_id, None);
        let SecretSource::Parameter(parameter) =
            SecretSource::parse("arn:aws:ssm:eu-west-1:123456789012:parameter/app/db/url")
        else {
            panic!("a parameter ARN");
        };
        assert_eq!(parameter.name, "/app/db/url");
        assert_eq!(parameter.region.as_deref(), Some("eu-west-1"));
        let SecretSource::Parameter(bare) = SecretSource::parse("flag") else {
            panic!("a parameter name");
        };
        assert_eq!((bare.name.as_str(), bare.region), ("flag", None));
    }

    #[test]
    fn trust_policies_are_read_in_each_shape_iam_allows() {
        assert!(trusts_ecs_tasks(
            &json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        ));
        assert!(trusts_ecs_tasks(
            &json!({"Statement": {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com", "ecs-tasks.amazonaws.com"]}, "Action": ["sts:AssumeRole", "sts:TagSession"]}})
        ));
        assert!(!trusts_ecs_tasks(
            &json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        ));
        assert!(!trusts_ecs_tasks(
            &json!({"Statement": [{"Effect": "Deny", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        ));
        assert!(!trusts_ecs_tasks(&json!({})));
    }

    #[test]
    fn a_secret_version_stage_and_json_key_are_judged() {
        let SecretSource::SecretsManager(secret) = SecretSource::parse(
            "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf:username:AWSPENDING:",
        ) else {
            panic!("a Secrets Manager ARN");
        };
        let facts = SecretFacts {
            versions: BTreeMap::from([("v1".to_owned(), vec!["AWSCURRENT".to_owned()])]),
            json_keys: JsonKeys::Keys(vec!["password".to_owned()]),
            ..SecretFacts::default()
        };
        let findings = judge_secret("web", "DB_USER", &secret, Lookup::Found(facts));
        let lines: Vec<String> = findings.iter().map(Finding::line).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].contains("staging label `AWSPENDING`"), "{lines:?}");
        assert!(
            lines[1].contains("no key `username` (it has `password`)"),
            "{lines:?}"
        );
        let unread = judge_secret(
            "web",
            "DB_USER",
            &secret,
            Lookup::Found(SecretFacts {
                versions: BTreeMap::from([("v2".to_owned(), vec!["AWSPENDING".to_owned()])]),
                ..SecretFacts::default()
            }),
        );
        assert_eq!(unread.len(), 1);
        assert_eq!(unread[0].severity, Severity::Note);
    }

    #[test]
    fn questions_cover_images_secrets_parameters_keys_and_logs() {
        let needs = needs(&json!({
            "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
            "containerDefinitions": [{
                "name": "web",
                "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1",
                "secrets": [
                    {"name": "A", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf"},
                    {"name": "B", "valueFrom": "/app/b"}
                ],
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-create-group": "true"}}
            }]
        }));
        let questions = execution_role_questions(
            &needs,
            "us-east-1",
            "123456789012",
            &["arn:aws:kms:us-east-1:123456789012:key/k".to_owned()],
        );
        let asked: Vec<(&str, &str)> = questions
            .iter()
            .flat_map(|question| {
                question
                    .actions
                    .iter()
                    .map(move |action| (*action, question.resources[0].as_str()))
            })
            .collect();
        assert_eq!(
            asked,
            vec![
                ("ecr:GetAuthorizationToken", "*"),
                (
                    "ecr:BatchGetImage",
                    "arn:aws:ecr:us-east-1:123456789012:repository/web"
                ),
                (
                    "ecr:GetDownloadUrlForLayer",
                    "arn:aws:ecr:us-east-1:123456789012:repository/web"
                ),
                (
                    "secretsmanager:GetSecretValue",
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf"
                ),
                (
                    "ssm:GetParameters",
                    "arn:aws:ssm:us-east-1:123456789012:parameter/app/b"
                ),
                ("kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/k"),
                (
                    "logs:CreateLogStream",
                    "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web:*"
                ),
                (
                    "logs:PutLogEvents",
                    "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web:*"
                ),
                (
                    "logs:CreateLogGroup",
                    "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web:*"
                ),
            ]
        );
    }

    #[test]
    fn an_index_names_its_linux_architectures_and_skips_attestations() {
        let index = json!({"manifests": [
            {"platform": {"os": "linux", "architecture": "arm64"}},
            {"platform": {"os": "unknown", "architecture": "unknown"}}
        ]});
        assert_eq!(
            manifest_architectures(&index),
            Some(vec!["arm64".to_owned()])
        );
        assert_eq!(manifest_architectures(&json!({"config": {}})), None);
        let image = EcrImage::parse("1.dkr.ecr.us-east-1.amazonaws.com/web:v1").unwrap();
        let findings = judge_image(
            "web",
            &image.uri,
            Some((
                &image,
                Lookup::Found(ImageFacts::of(manifest_architectures(&index).unwrap())),
            )),
            &Needs {
                architecture: "amd64",
                ..Needs::default()
            },
        );
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0]
                .line()
                .contains("no `linux/amd64` variant (it has `arm64`)"),
            "{findings:?}"
        );
    }

    #[test]
    fn an_architecture_that_could_not_be_read_is_a_note() {
        let image = EcrImage::parse("1.dkr.ecr.us-east-1.amazonaws.com/web:v1").unwrap();
        let findings = judge_image(
            "web",
            &image.uri,
            Some((
                &image,
                Lookup::Found(ImageFacts::unchecked("its config blob could not be read")),
            )),
            &Needs {
                architecture: "amd64",
                ..Needs::default()
            },
        );
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Note);
        let single = judge_image(
            "web",
            &image.uri,
            Some((
                &image,
                Lookup::Found(ImageFacts::of(vec!["arm64".to_owned()])),
            )),
            &Needs {
                architecture: "amd64",
                ..Needs::default()
            },
        );
        assert_eq!(single[0].severity, Severity::Error);
    }

    #[test]
    fn a_missing_image_in_another_accounts_registry_is_a_warning() {
        let needs = Needs {
            architecture: "amd64",
            execution_role: Some("arn:aws:iam::123456789012:role/web-execution".to_owned()),
            ..Needs::default()
        };
        let missing = || Lookup::Missing("RepositoryNotFoundException".to_owned());
        let theirs =
            EcrImage::parse("840364872350.dkr.ecr.us-east-1.amazonaws.com/aws-appmesh-envoy:v1")
                .unwrap();
        let findings = judge_image("envoy", &theirs.uri, Some((&theirs, missing())), &needs);
        assert_eq!(findings[0].severity, Severity::Warning, "{findings:?}");
        let ours = EcrImage::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1").unwrap();
        let findings = judge_image("web", &ours.uri, Some((&ours, missing())), &needs);
        assert_eq!(findings[0].severity, Severity::Error, "{findings:?}");
    }

    #[test]
    fn load_balancers_must_name_a_mapped_container_port() {
        let needs = Needs {
            ports: vec![("web".to_owned(), vec![8080])],
            ..Needs::default()
        };
        let target = |container: &str, port| ServiceTarget {
            target_group_arn: Some(
                "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/blue/abc".to_owned(),
            ),
            container: Some(container.to_owned()),
            port: Some(port),
        };
        let findings = judge_load_balancers(
            &needs,
            &[
                (
                    target("web", 8080),
                    Lookup::Found("traffic-port".to_owned()),
                ),
                (target("web", 80), Lookup::Found("8080".to_owned())),
                (
                    target("api", 8080),
                    Lookup::Found("traffic-port".to_owned()),
                ),
                (target("web", 8080), Lookup::Found("9000".to_owned())),
            ],
        );
        let lines: Vec<String> = findings.iter().map(Finding::line).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].contains("port 80, which the container does not map (it maps `8080`)"));
        assert!(lines[1].contains("container `api`, which this task definition does not have"));
        assert!(lines[2].starts_with("warning:") && lines[2].contains("port 9000"));
    }
}
