//! The CodeDeploy AppSpec for Amazon ECS: serde structs for the files bgtool generates, and the
//! validation applied to every AppSpec it writes or checks (generated, rendered from a template,
//! or existing). Pure: documents come in parsed, problems go out as sentences.

use serde::Serialize;
use serde_norway::{Mapping, Value};

/// What CodePipeline's CodeDeployToECS action replaces with the registered task definition's ARN.
pub const TASK_DEFINITION_PLACEHOLDER: &str = "<TASK_DEFINITION>";

/// The lifecycle hooks of an ECS deployment, in the order they run.
pub const HOOK_PHASES: [&str; 5] = [
    "BeforeInstall",
    "AfterInstall",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
];

// ---------------------------------------------------------------------------------------------
// The document, for generation.

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppSpec {
    pub version: f64,
    #[serde(rename = "Resources")]
    pub resources: Vec<Resource>,
    #[serde(rename = "Hooks", skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<Hook>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    pub target_service: TargetService,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetService {
    #[serde(rename = "Type")]
    pub kind: String,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Properties {
    pub task_definition: String,
    pub load_balancer_info: LoadBalancerInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<NetworkConfiguration>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<CapacityProviderItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoadBalancerInfo {
    pub container_name: String,
    pub container_port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkConfiguration {
    pub awsvpc_configuration: AwsvpcConfiguration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
/// All three settings or none: the AppSpec reference says "All or none of the settings under
/// NetworkConfiguration must be specified", and CodeDeploy fails the deployment otherwise.
pub struct AwsvpcConfiguration {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CapacityProviderItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<u32>,
    pub capacity_provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

/// One `- PHASE: FUNCTION` item of `Hooks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub phase: String,
    pub function: String,
}

impl Serialize for Hook {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(&self.phase, &self.function)?;
        map.end()
    }
}

impl AppSpec {
    /// An AppSpec with the one target service CodeDeploy deploys.
    #[must_use]
    pub fn new(properties: Properties, hooks: Vec<Hook>) -> Self {
        Self {
            version: 0.0,
            resources: vec![Resource {
                target_service: TargetService {
                    kind: "AWS::ECS::Service".to_owned(),
                    properties,
                },
            }],
            hooks,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validation.

/// The outcome of validating one AppSpec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validation {
    /// What CodeDeploy would reject. Any one makes the file invalid.
    pub problems: Vec<String>,
    /// What is allowed but likely wrong.
    pub warnings: Vec<String>,
    /// The load balancer target, when it could be read, for the task-definition cross-check.
    pub target: Option<LoadBalancerTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerTarget {
    pub container_name: String,
    pub container_port: u64,
}

impl Validation {
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

const TOP_KEYS: &[&str] = &["version", "Resources", "Hooks"];
const RESOURCE_KEYS: &[&str] = &["TargetService"];
const TARGET_SERVICE_KEYS: &[&str] = &["Type", "Properties"];
const PROPERTIES_KEYS: &[&str] = &[
    "TaskDefinition",
    "LoadBalancerInfo",
    "PlatformVersion",
    "NetworkConfiguration",
    "CapacityProviderStrategy",
];
const LOAD_BALANCER_KEYS: &[&str] = &["ContainerName", "ContainerPort"];
const NETWORK_KEYS: &[&str] = &["AwsvpcConfiguration"];
const AWSVPC_KEYS: &[&str] = &["Subnets", "SecurityGroups", "AssignPublicIp"];
const CAPACITY_PROVIDER_KEYS: &[&str] = &["Base", "CapacityProvider", "Weight"];

/// Keys of EC2/on-premises AppSpec files, which users paste into ECS ones.
const EC2_KEYS: &[&str] = &["os", "files", "permissions"];

struct Checker {
    validation: Validation,
}

impl Checker {
    fn problem(&mut self, path: &str, message: impl AsRef<str>) {
        self.validation
            .problems
            .push(format!("`{path}`: {}", message.as_ref()));
    }

    fn warning(&mut self, path: &str, message: impl AsRef<str>) {
        self.validation
            .warnings
            .push(format!("`{path}`: {}", message.as_ref()));
    }

    /// The mapping at `path`, with every key checked against `allowed`.
    fn mapping<'a>(
        &mut self,
        path: &str,
        value: &'a Value,
        allowed: &[&str],
    ) -> Option<&'a Mapping> {
        let Some(mapping) = value.as_mapping() else {
            self.problem(
                path,
                format!("expected a mapping, found {}", kind_of(value)),
            );
            return None;
        };
        for key in mapping.keys() {
            let Some(key) = key.as_str() else {
                self.problem(path, format!("key {} is not a string", render(key)));
                continue;
            };
            if !allowed.contains(&key) {
                let message = unknown_key_message(key, allowed);
                self.problem(&join(path, key), message);
            }
        }
        Some(mapping)
    }

    fn required<'a>(&mut self, path: &str, mapping: &'a Mapping, key: &str) -> Option<&'a Value> {
        let value = mapping.get(key);
        if value.is_none() {
            self.problem(&join(path, key), "is required");
        }
        value
    }

    fn non_empty_string<'a>(&mut self, path: &str, value: &'a Value) -> Option<&'a str> {
        match value.as_str() {
            Some(text) if !text.trim().is_empty() => Some(text),
            Some(_) => {
                self.problem(path, "is empty");
                None
            }
            None => {
                self.problem(path, format!("expected a string, found {}", kind_of(value)));
                None
            }
        }
    }

    fn integer(&mut self, path: &str, value: &Value, minimum: u64, maximum: u64) -> Option<u64> {
        match value.as_u64() {
            Some(number) if (minimum..=maximum).contains(&number) => Some(number),
            Some(number) => {
                self.problem(
                    path,
                    format!("{number} is out of range {minimum}–{maximum}"),
                );
                None
            }
            None => {
                self.problem(
                    path,
                    format!("expected a whole number, found {}", kind_of(value)),
                );
                None
            }
        }
    }

    fn string_list(&mut self, path: &str, value: &Value, required_non_empty: bool) {
        let Some(items) = value.as_sequence() else {
            self.problem(path, format!("expected a list, found {}", kind_of(value)));
            return;
        };
        if required_non_empty && items.is_empty() {
            self.problem(path, "is empty; give at least one");
        }
        for (index, item) in items.iter().enumerate() {
            self.non_empty_string(&format!("{path}[{index}]"), item);
        }
    }
}

/// Validates a parsed AppSpec against the rules CodeDeploy applies to ECS deployments.
#[must_use]
pub fn validate(document: &Value) -> Validation {
    let mut checker = Checker {
        validation: Validation::default(),
    };
    let Some(top) = checker.mapping("$", document, TOP_KEYS) else {
        return checker.validation;
    };
    match top.get("version") {
        None => checker.problem("version", "is required; an ECS AppSpec has `version: 0.0`"),
        Some(version) if is_version_zero(version) => {}
        Some(other) => checker.problem("version", format!("must be 0.0, found {}", render(other))),
    }
    if let Some(resources) = checker.required("$", top, "Resources") {
        validate_resources(&mut checker, resources);
    }
    if let Some(hooks) = top.get("Hooks") {
        validate_hooks(&mut checker, hooks);
    }
    checker.validation
}

fn is_version_zero(value: &Value) -> bool {
    match value {
        Value::Number(number) => number.is_f64() && number.as_f64() == Some(0.0),
        Value::String(text) => text == "0.0",
        _ => false,
    }
}

fn validate_resources(checker: &mut Checker, resources: &Value) {
    let Some(items) = resources.as_sequence() else {
        checker.problem(
            "Resources",
            format!("expected a list, found {}", kind_of(resources)),
        );
        return;
    };
    if items.len() != 1 {
        checker.problem(
            "Resources",
            format!(
                "must hold exactly one entry (the target service), found {}",
                items.len()
            ),
        );
    }
    let Some(first) = items.first() else { return };
    let Some(resource) = checker.mapping("Resources[0]", first, RESOURCE_KEYS) else {
        return;
    };
    let Some(target) = checker.required("Resources[0]", resource, "TargetService") else {
        return;
    };
    let path = "Resources[0].TargetService";
    let Some(target) = checker.mapping(path, target, TARGET_SERVICE_KEYS) else {
        return;
    };
    if let Some(kind) = checker.required(path, target, "Type") {
        match kind.as_str() {
            Some("AWS::ECS::Service") => {}
            _ => checker.problem(
                &join(path, "Type"),
                format!("must be `AWS::ECS::Service`, found {}", render(kind)),
            ),
        }
    }
    if let Some(properties) = checker.required(path, target, "Properties") {
        validate_properties(checker, properties);
    }
}

fn validate_properties(checker: &mut Checker, properties: &Value) {
    let path = "Resources[0].TargetService.Properties";
    let Some(properties) = checker.mapping(path, properties, PROPERTIES_KEYS) else {
        return;
    };
    if let Some(task_definition) = checker.required(path, properties, "TaskDefinition") {
        let key = join(path, "TaskDefinition");
        if let Some(text) = checker.non_empty_string(&key, task_definition)
            && text != TASK_DEFINITION_PLACEHOLDER
            && !is_task_definition_revision_arn(text)
        {
            checker.warning(
                &key,
                format!(
                    "`{text}` is neither `{TASK_DEFINITION_PLACEHOLDER}` (for CodePipeline) nor a full task definition ARN with a revision; CodeDeploy needs one of them"
                ),
            );
        }
    }
    if let Some(info) = checker.required(path, properties, "LoadBalancerInfo") {
        validate_load_balancer_info(checker, info);
    }
    if let Some(platform) = properties.get("PlatformVersion") {
        checker.non_empty_string(&join(path, "PlatformVersion"), platform);
    }
    if let Some(network) = properties.get("NetworkConfiguration") {
        validate_network(checker, network);
    }
    if let Some(strategy) = properties.get("CapacityProviderStrategy") {
        validate_capacity_providers(checker, strategy);
    }
}

fn validate_load_balancer_info(checker: &mut Checker, info: &Value) {
    let path = "Resources[0].TargetService.Properties.LoadBalancerInfo";
    let Some(info) = checker.mapping(path, info, LOAD_BALANCER_KEYS) else {
        return;
    };
    let name = checker
        .required(path, info, "ContainerName")
        .and_then(|name| checker.non_empty_string(&join(path, "ContainerName"), name))
        .map(str::to_owned);
    let port = checker.required(path, info, "ContainerPort").and_then(|port| {
        let key = join(path, "ContainerPort");
        match port {
            Value::String(text) => {
                if let Ok(number @ 1..=65535) = text.trim().parse::<u64>() {
                    checker.warning(
                        &key,
                        format!("`\"{text}\"` is a quoted number; write it unquoted: `ContainerPort: {number}`"),
                    );
                    Some(number)
                } else {
                    checker.problem(&key, format!("expected a port number 1–65535, found `\"{text}\"`"));
                    None
                }
            }
            other => checker.integer(&key, other, 1, 65535),
        }
    });
    if let (Some(container_name), Some(container_port)) = (name, port) {
        checker.validation.target = Some(LoadBalancerTarget {
            container_name,
            container_port,
        });
    }
}

fn validate_network(checker: &mut Checker, network: &Value) {
    let path = "Resources[0].TargetService.Properties.NetworkConfiguration";
    let Some(network) = checker.mapping(path, network, NETWORK_KEYS) else {
        return;
    };
    let Some(awsvpc) = checker.required(path, network, "AwsvpcConfiguration") else {
        return;
    };
    let path = join(path, "AwsvpcConfiguration");
    let Some(awsvpc) = checker.mapping(&path, awsvpc, AWSVPC_KEYS) else {
        return;
    };
    // All or none (AppSpec reference); a missing one is how an unset build variable usually shows.
    for key in AWSVPC_KEYS {
        if !awsvpc.contains_key(key) {
            checker.problem(
                &join(&path, key),
                "is required: the AppSpec takes all of Subnets, SecurityGroups and AssignPublicIp, or no NetworkConfiguration at all",
            );
        }
    }
    if let Some(subnets) = awsvpc.get("Subnets") {
        checker.string_list(&join(&path, "Subnets"), subnets, true);
    }
    if let Some(groups) = awsvpc.get("SecurityGroups") {
        checker.string_list(&join(&path, "SecurityGroups"), groups, true);
    }
    if let Some(assign) = awsvpc.get("AssignPublicIp") {
        match assign.as_str() {
            Some("ENABLED" | "DISABLED") => {}
            _ => checker.problem(
                &join(&path, "AssignPublicIp"),
                format!("must be `ENABLED` or `DISABLED`, found {}", render(assign)),
            ),
        }
    }
}

fn validate_capacity_providers(checker: &mut Checker, strategy: &Value) {
    let path = "Resources[0].TargetService.Properties.CapacityProviderStrategy";
    let Some(items) = strategy.as_sequence() else {
        checker.problem(
            path,
            format!("expected a list, found {}", kind_of(strategy)),
        );
        return;
    };
    for (index, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{index}]");
        let Some(item) = checker.mapping(&item_path, item, CAPACITY_PROVIDER_KEYS) else {
            continue;
        };
        if let Some(name) = checker.required(&item_path, item, "CapacityProvider") {
            checker.non_empty_string(&join(&item_path, "CapacityProvider"), name);
        }
        if let Some(base) = item.get("Base") {
            checker.integer(&join(&item_path, "Base"), base, 0, 100_000);
        }
        if let Some(weight) = item.get("Weight") {
            checker.integer(&join(&item_path, "Weight"), weight, 0, 1000);
        }
    }
}

fn validate_hooks(checker: &mut Checker, hooks: &Value) {
    let Some(items) = hooks.as_sequence() else {
        checker.problem(
            "Hooks",
            format!(
                "expected a list of `- PHASE: FUNCTION` items, found {}",
                kind_of(hooks)
            ),
        );
        return;
    };
    for (index, item) in items.iter().enumerate() {
        let path = format!("Hooks[{index}]");
        let Some(mapping) = checker.mapping(&path, item, &HOOK_PHASES) else {
            continue;
        };
        if mapping.len() != 1 {
            checker.problem(
                &path,
                format!(
                    "must hold exactly one `PHASE: FUNCTION`, found {}",
                    mapping.len()
                ),
            );
        }
        for (phase, function) in mapping {
            let Some(phase) = phase.as_str().filter(|phase| HOOK_PHASES.contains(phase)) else {
                continue;
            };
            let key = join(&path, phase);
            if let Some(function) = checker.non_empty_string(&key, function)
                && function.chars().any(char::is_whitespace)
            {
                checker.problem(
                    &key,
                    format!("`{function}` is not a Lambda function name or ARN"),
                );
            }
        }
    }
}

/// `arn:PARTITION:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION`.
#[must_use]
pub fn is_task_definition_revision_arn(text: &str) -> bool {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts.as_slice() else {
        return false;
    };
    let Some((family, revision)) = resource
        .strip_prefix("task-definition/")
        .and_then(|rest| rest.split_once(':'))
    else {
        return false;
    };
    *arn == "arn"
        && partition.starts_with("aws")
        && *service == "ecs"
        && !region.is_empty()
        && account.len() == 12
        && account.chars().all(|character| character.is_ascii_digit())
        && !family.is_empty()
        && family.len() <= 255
        && family.chars().all(|character| {
            character.is_ascii_alphanumeric() || character == '-' || character == '_'
        })
        && !revision.is_empty()
        && revision.chars().all(|character| character.is_ascii_digit())
}

/// Checks the AppSpec's load balancer target against the task definition's containers.
///
/// # Errors
/// A sentence naming what the task definition has instead.
pub fn cross_check(
    target: &LoadBalancerTarget,
    containers: &[(String, Vec<u64>)],
) -> Result<(), String> {
    let Some((_, ports)) = containers
        .iter()
        .find(|(name, _)| *name == target.container_name)
    else {
        let names: Vec<String> = containers
            .iter()
            .map(|(name, _)| format!("`{name}`"))
            .collect();
        return Err(format!(
            "`ContainerName` `{}` is not a container of the task definition; its containers are {}",
            target.container_name,
            names.join(", ")
        ));
    };
    if ports.contains(&target.container_port) {
        return Ok(());
    }
    let ports: Vec<String> = ports.iter().map(|port| format!("`{port}`")).collect();
    Err(if ports.is_empty() {
        format!(
            "`ContainerPort` {}: container `{}` has no `portMappings`",
            target.container_port, target.container_name
        )
    } else {
        format!(
            "`ContainerPort` {} is not a `containerPort` of container `{}`; its ports are {}",
            target.container_port,
            target.container_name,
            ports.join(", ")
        )
    })
}

fn unknown_key_message(key: &str, allowed: &[&str]) -> String {
    let valid = allowed
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let ec2 = if EC2_KEYS.contains(&key) {
        " (it belongs to EC2/on-premises AppSpec files, not ECS ones)"
    } else {
        ""
    };
    match closest(key, allowed) {
        Some(suggestion) => {
            format!("unknown key{ec2}; did you mean `{suggestion}`? valid keys here: {valid}")
        }
        None => format!("unknown key{ec2}; valid keys here: {valid}"),
    }
}

/// The allowed key nearest to `key`, when it is near enough to be a likely typo: a few edits
/// away, or a shortening of it (`TaskDef` for `TaskDefinition`).
fn closest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let lower = key.to_ascii_lowercase();
    let shortened = allowed.iter().find(|candidate| {
        let candidate = candidate.to_ascii_lowercase();
        lower.len() >= 4 && (candidate.starts_with(&lower) || lower.starts_with(&candidate))
    });
    if let Some(candidate) = shortened {
        return Some(candidate);
    }
    allowed
        .iter()
        .map(|candidate| {
            (
                edit_distance(&lower, &candidate.to_ascii_lowercase()),
                *candidate,
            )
        })
        .filter(|(distance, candidate)| *distance <= (candidate.len().max(key.len()) / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over characters.
fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (row, left_character) in left.chars().enumerate() {
        let mut current = vec![row + 1; right.len() + 1];
        for (column, right_character) in right.iter().enumerate() {
            let substitution = previous[column] + usize::from(left_character != *right_character);
            current[column + 1] = substitution
                .min(previous[column + 1] + 1)
                .min(current[column] + 1);
        }
        previous = current;
    }
    previous[right.len()]
}

fn join(path: &str, key: &str) -> String {
    if path == "$" {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

const fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

fn render(value: &Value) -> String {
    match value {
        Value::String(text) => format!("`\"{text}\"`"),
        Value::Number(number) => format!("`{number}`"),
        Value::Bool(flag) => format!("`{flag}`"),
        other => kind_of(other).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml: &str) -> Validation {
        validate(&serde_norway::from_str(yaml).unwrap())
    }

    const VALID: &str = "\
version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: <TASK_DEFINITION>
        LoadBalancerInfo:
          ContainerName: app
          ContainerPort: 8080
        PlatformVersion: LATEST
        NetworkConfiguration:
          AwsvpcConfiguration:
            Subnets: [subnet-1, subnet-2]
            SecurityGroups: [sg-1]
            AssignPublicIp: DISABLED
        CapacityProviderStrategy:
          - CapacityProvider: FARGATE_SPOT
            Base: 0
            Weight: 3
Hooks:
  - BeforeInstall: arn:aws:lambda:us-east-1:123456789012:function:before
  - AfterAllowTestTraffic: smoke-test
";

    #[test]
    fn a_complete_appspec_is_valid() {
        let validation = check(VALID);
        assert_eq!(validation.problems, Vec::<String>::new());
        assert_eq!(validation.warnings, Vec::<String>::new());
        assert_eq!(
            validation.target,
            Some(LoadBalancerTarget {
                container_name: "app".into(),
                container_port: 8080
            })
        );
    }

    #[test]
    fn generated_documents_pass_their_own_validation() {
        let spec = AppSpec::new(
            Properties {
                task_definition: TASK_DEFINITION_PLACEHOLDER.into(),
                load_balancer_info: LoadBalancerInfo {
                    container_name: "app".into(),
                    container_port: 80,
                },
                platform_version: Some("LATEST".into()),
                network_configuration: None,
                capacity_provider_strategy: vec![],
            },
            vec![Hook {
                phase: "AfterAllowTestTraffic".into(),
                function: "smoke".into(),
            }],
        );
        let text = serde_norway::to_string(&spec).unwrap();
        assert!(text.starts_with("version: 0.0\n"), "{text}");
        assert!(check(&text).is_valid());
    }

    #[test]
    fn each_common_mistake_is_named() {
        for (broken, expected) in [
            (
                VALID.replace("version: 0.0", "version: 1"),
                "`version`: must be 0.0, found `1`",
            ),
            (
                VALID.replace("version: 0.0", "version: 0.0\nos: linux"),
                "`os`: unknown key (it belongs to EC2/on-premises AppSpec files, not ECS ones)",
            ),
            (
                VALID.replace("TaskDefinition: <TASK_DEFINITION>", "TaskDefinitionArn: x"),
                "`Resources[0].TargetService.Properties.TaskDefinitionArn`: unknown key; did you mean `TaskDefinition`?",
            ),
            (
                VALID.replace("Type: AWS::ECS::Service", "Type: AWS::Lambda::Function"),
                "must be `AWS::ECS::Service`",
            ),
            (
                VALID.replace("ContainerName: app", "ContainerName: \"\""),
                "`Resources[0].TargetService.Properties.LoadBalancerInfo.ContainerName`: is empty",
            ),
            (
                VALID.replace("ContainerPort: 8080", "ContainerPort: 70000"),
                "70000 is out of range 1–65535",
            ),
            (
                VALID.replace("Subnets: [subnet-1, subnet-2]", "Subnets: []"),
                "`Resources[0].TargetService.Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets`: is empty",
            ),
            (
                VALID.replace("            AssignPublicIp: DISABLED\n", ""),
                "`Resources[0].TargetService.Properties.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp`: is required: the AppSpec takes all of Subnets, SecurityGroups and AssignPublicIp",
            ),
            (
                VALID.replace("            SecurityGroups: [sg-1]\n", ""),
                "`Resources[0].TargetService.Properties.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups`: is required",
            ),
            (
                VALID.replace("SecurityGroups: [sg-1]", "SecurityGroups: []"),
                "`Resources[0].TargetService.Properties.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups`: is empty",
            ),
            (
                VALID.replace("AssignPublicIp: DISABLED", "AssignPublicIp: \"yes\""),
                "must be `ENABLED` or `DISABLED`, found `\"yes\"`",
            ),
            (
                VALID.replace("Weight: 3", "Weight: \"3\""),
                "`Resources[0].TargetService.Properties.CapacityProviderStrategy[0].Weight`: expected a whole number, found a string",
            ),
            (
                VALID.replace("BeforeInstall:", "BeforeInstal:"),
                "`Hooks[0].BeforeInstal`: unknown key; did you mean `BeforeInstall`?",
            ),
            (
                VALID.replace(
                    "  - AfterAllowTestTraffic: smoke-test",
                    "  - AfterAllowTestTraffic: \"\"",
                ),
                "`Hooks[1].AfterAllowTestTraffic`: is empty",
            ),
            (
                VALID.replace("Resources:", "resources:"),
                "`resources`: unknown key; did you mean `Resources`?",
            ),
        ] {
            let validation = check(&broken);
            assert!(
                validation
                    .problems
                    .iter()
                    .any(|problem| problem.contains(expected)),
                "expected {expected:?} in {:?}",
                validation.problems
            );
        }
    }

    #[test]
    fn a_second_resource_is_refused() {
        let doubled = VALID.replace("Resources:\n", "Resources:\n  - TargetService: {}\n");
        let validation = check(&doubled);
        assert!(
            validation.problems[0].contains("exactly one entry"),
            "{:?}",
            validation.problems
        );
    }

    #[test]
    fn quoted_ports_and_family_names_are_warnings() {
        let validation = check(
            &VALID
                .replace("ContainerPort: 8080", "ContainerPort: \"8080\"")
                .replace("<TASK_DEFINITION>", "web"),
        );
        assert!(validation.is_valid(), "{:?}", validation.problems);
        assert_eq!(validation.warnings.len(), 2, "{:?}", validation.warnings);
        assert!(validation.warnings[0].contains("neither `<TASK_DEFINITION>`"));
        assert!(validation.warnings[1].contains("quoted number"));
    }

    #[test]
    fn revision_arns_are_recognised() {
        assert!(is_task_definition_revision_arn(
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web:12"
        ));
        assert!(is_task_definition_revision_arn(
            "arn:aws-cn:ecs:cn-north-1:123456789012:task-definition/web_x-1:1"
        ));
        assert!(!is_task_definition_revision_arn(
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web"
        ));
        assert!(!is_task_definition_revision_arn(
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web:*"
        ));
        assert!(!is_task_definition_revision_arn("web:12"));
    }

    #[test]
    fn the_cross_check_names_what_exists() {
        let containers = vec![
            ("app".to_owned(), vec![8080, 9090]),
            ("envoy".to_owned(), vec![]),
        ];
        let target = |name: &str, port| LoadBalancerTarget {
            container_name: name.into(),
            container_port: port,
        };
        assert_eq!(cross_check(&target("app", 9090), &containers), Ok(()));
        assert_eq!(
            cross_check(&target("web", 80), &containers).unwrap_err(),
            "`ContainerName` `web` is not a container of the task definition; its containers are `app`, `envoy`"
        );
        assert_eq!(
            cross_check(&target("app", 80), &containers).unwrap_err(),
            "`ContainerPort` 80 is not a `containerPort` of container `app`; its ports are `8080`, `9090`"
        );
        assert!(
            cross_check(&target("envoy", 80), &containers)
                .unwrap_err()
                .contains("no `portMappings`")
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::validate;

        proptest! {
            #[test]
            fn any_yaml_validates_or_reports_without_panicking(text in "[a-zA-Z0-9 :\\-\\[\\]{},.\n]{0,300}") {
                if let Ok(document) = serde_norway::from_str::<serde_norway::Value>(&text) {
                    let validation = validate(&document);
                    prop_assert!(validation.is_valid() == validation.problems.is_empty());
                }
            }

            #[test]
            fn valid_documents_always_name_their_target(port in 1_u16.., name in "[a-z][a-z0-9_-]{0,20}") {
                let text = format!(
                    "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: \"{name}\"\n          ContainerPort: {port}\n"
                );
                let validation = validate(&serde_norway::from_str(&text).unwrap());
                prop_assert!(validation.is_valid(), "{:?}", validation.problems);
                let target = validation.target.unwrap();
                prop_assert_eq!(target.container_name, name);
                prop_assert_eq!(target.container_port, u64::from(port));
            }
        }
    }

    #[test]
    fn typos_find_their_key_and_nonsense_does_not() {
        assert_eq!(closest("Subnet", AWSVPC_KEYS), Some("Subnets"));
        assert_eq!(
            closest("securitygroups", AWSVPC_KEYS),
            Some("SecurityGroups")
        );
        assert_eq!(closest("files", TOP_KEYS), None);
        assert_eq!(closest("TaskDef", PROPERTIES_KEYS), Some("TaskDefinition"));
        assert_eq!(
            closest("LoadBalancerInfos", PROPERTIES_KEYS),
            Some("LoadBalancerInfo")
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
