//! Settings: the command line resolved and checked, so that a command never starts work on flags
//! that cannot make sense together. Every failure here is a usage error (exit status 2).

use std::path::PathBuf;
use std::time::Duration;

use crate::artifacts::appspec::{CapacityProviderItem, HOOK_PHASES, Hook};
use crate::artifacts::image;
use crate::artifacts::taskdef::{ImageEdit, ImageTarget, ImageValue, MAX_IMAGE_PLACEHOLDERS};
use crate::cli::{
    AwsArgs, CheckArgs, Format, ImageDefinitionsArgs, ImageDetailArgs, RenderAppspecArgs,
    TaskdefArgs,
};
use crate::error::UsageError;

pub mod deploy;
mod emit_hcl;
pub mod hook;
pub mod prune;
pub mod run;
mod taskdef;
pub mod verify;

pub use emit_hcl::{BuildBinary, DEPLOYMENT_CONFIGS, EmitHclSettings, MAX_DEPLOYMENT_WAIT_MINUTES};
pub use taskdef::{LiveService, ReportSettings};

/// Where input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    fn from_path(path: PathBuf) -> Self {
        if path.as_os_str() == "-" {
            Self::Stdin
        } else {
            Self::File(path)
        }
    }

    /// How messages name this input.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Stdin => "standard input".to_owned(),
            Self::File(path) => format!("`{}`", path.display()),
        }
    }
}

/// Where output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Stdout,
    File(PathBuf),
}

impl Output {
    fn from_option(path: Option<PathBuf>) -> Self {
        match path {
            Some(path) if path.as_os_str() != "-" => Self::File(path),
            _ => Self::Stdout,
        }
    }
}

/// How to reach AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub verbose: bool,
    /// Standard retries with this many attempts, unless AWS_MAX_ATTEMPTS or AWS_RETRY_MODE is
    /// set: for commands that make many calls in a row (`prune`). `None` keeps the SDK's
    /// default (standard, 3 attempts).
    pub patient_attempts: Option<u32>,
}

/// Where `taskdef` reads the task definition from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskdefSource {
    /// Ask ECS.
    Live(LiveTaskdef),
    /// A saved DescribeTaskDefinition output; no network.
    Saved(Input),
}

/// The task definitions bgtool asks ECS for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveTaskdef {
    Describe { reference: String },
    Service { cluster: String, service: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskdefSettings {
    pub source: TaskdefSource,
    pub image_edits: Vec<ImageEdit>,
    pub container_edits: Vec<crate::artifacts::edits::ContainerEdit>,
    pub report: Option<ReportSettings>,
    pub output: Output,
    pub aws: AwsSettings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageDetailSettings {
    pub image_uri: String,
    pub output: Output,
}

/// The containers and images of `image-definitions`, checked like `image-detail`'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageDefinitionsSettings {
    pub containers: Vec<(String, String)>,
    pub output: Output,
}

impl ImageDefinitionsSettings {
    /// Checks each `--container NAME=URI`.
    ///
    /// # Errors
    /// A [`UsageError`] for a value that is not NAME=URI, a bad name or image, or a container
    /// named twice.
    pub fn resolve(args: ImageDefinitionsArgs) -> Result<Self, UsageError> {
        let mut containers: Vec<(String, String)> = Vec::with_capacity(args.container.len());
        for value in &args.container {
            let Some((name, uri)) = value.split_once('=') else {
                return Err(UsageError::new(format!(
                    "`--container {value}`: expected NAME=URI"
                )));
            };
            check_container_name("--container", name)?;
            image::check_reference(uri)
                .map_err(|problem| UsageError::new(format!("`--container {value}`: {problem}")))?;
            if containers.iter().any(|(existing, _)| existing == name) {
                return Err(UsageError::new(format!(
                    "container `{name}` is given more than once"
                )));
            }
            containers.push((name.to_owned(), uri.to_owned()));
        }
        Ok(Self {
            containers,
            output: Output::from_option(args.output),
        })
    }
}

/// Where `render-appspec` gets its AppSpec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppspecSource {
    Template {
        input: Input,
        env_file: Option<PathBuf>,
        /// `--set` values, in order; later ones win.
        set: Vec<(String, String)>,
    },
    Generated {
        flags: GeneratedAppspec,
        from_service: Option<ServiceReference>,
        format: Format,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceReference {
    pub cluster: String,
    pub service: String,
}

/// The generated-mode flags, each `None` or empty when not given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedAppspec {
    pub container_name: Option<String>,
    pub container_port: Option<u16>,
    pub task_definition: String,
    pub platform_version: Option<String>,
    pub subnets: Option<Vec<String>>,
    pub security_groups: Option<Vec<String>>,
    pub assign_public_ip: Option<String>,
    pub capacity_providers: Vec<CapacityProviderItem>,
    pub hooks: Vec<Hook>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderAppspecSettings {
    pub source: AppspecSource,
    pub taskdef: Option<Input>,
    pub output: Output,
    pub aws: AwsSettings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSettings {
    pub appspec: Option<Input>,
    pub taskdef: Option<Input>,
    pub strict: bool,
}

impl RenderAppspecSettings {
    /// Checks the `render-appspec` flags.
    ///
    /// # Errors
    /// A [`UsageError`] naming the flag whose value cannot be used.
    pub fn resolve(args: RenderAppspecArgs) -> Result<Self, UsageError> {
        let source = if let Some(template) = args.template {
            let set = args
                .set
                .iter()
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair.as_str(), ""));
                    if pair.contains('=') && is_variable_name(key) {
                        Ok((key.to_owned(), value.to_owned()))
                    } else {
                        Err(UsageError::new(format!(
                            "`--set {pair}`: expected KEY=VALUE with a variable name as KEY"
                        )))
                    }
                })
                .collect::<Result<_, _>>()?;
            AppspecSource::Template {
                input: Input::from_path(template),
                env_file: args.env_file,
                set,
            }
        } else {
            let from_service = match (args.from_service, args.cluster) {
                (Some(service), Some(cluster)) => {
                    non_empty("--from-service", &service)?;
                    non_empty("--cluster", &cluster)?;
                    Some(ServiceReference { cluster, service })
                }
                _ => None,
            };
            if from_service.is_none()
                && (args.container_name.is_none() || args.container_port.is_none())
            {
                return Err(UsageError::new(
                    "an AppSpec needs `--container-name` and `--container-port` (or `--from-service` with `--cluster`), or a `--template`",
                )
                .with_hint("e.g. `bgtool render-appspec --container-name app --container-port 8080`"));
            }
            let flags = GeneratedAppspec {
                container_name: args
                    .container_name
                    .map(|name| check_container_name("--container-name", &name).map(|()| name))
                    .transpose()?,
                container_port: args.container_port.as_deref().map(parse_port).transpose()?,
                task_definition: {
                    non_empty("--task-definition", &args.task_definition)?;
                    args.task_definition
                },
                platform_version: args
                    .platform_version
                    .map(|version| non_empty("--platform-version", &version).map(|()| version))
                    .transpose()?,
                subnets: args
                    .subnets
                    .as_deref()
                    .map(|list| split_list("--subnets", list))
                    .transpose()?,
                security_groups: args
                    .security_groups
                    .as_deref()
                    .map(|list| split_list("--security-groups", list))
                    .transpose()?,
                assign_public_ip: args
                    .assign_public_ip
                    .as_deref()
                    .map(parse_assign_public_ip)
                    .transpose()?,
                capacity_providers: args
                    .capacity_provider
                    .iter()
                    .map(|value| parse_capacity_provider(value))
                    .collect::<Result<_, _>>()?,
                hooks: args
                    .hook
                    .iter()
                    .map(|value| parse_hook(value))
                    .collect::<Result<_, _>>()?,
            };
            AppspecSource::Generated {
                flags,
                from_service,
                format: args.format,
            }
        };
        Ok(Self {
            source,
            taskdef: args.taskdef.map(Input::from_path),
            output: Output::from_option(args.output),
            aws: AwsSettings::resolve(args.aws)?,
        })
    }
}

impl CheckSettings {
    /// Checks the `check` flags (clap requires at least one file).
    #[must_use]
    pub fn resolve(args: CheckArgs) -> Self {
        Self {
            appspec: args.appspec.map(Input::from_path),
            taskdef: args.taskdef.map(Input::from_path),
            strict: args.strict,
        }
    }
}

fn is_variable_name(text: &str) -> bool {
    let mut characters = text.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
}

fn parse_port(text: &str) -> Result<u16, UsageError> {
    match text.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(UsageError::new(format!(
            "`--container-port`: `{text}` is not a port number 1-65535"
        ))),
    }
}

fn split_list(flag: &str, list: &str) -> Result<Vec<String>, UsageError> {
    let items: Vec<String> = list.split(',').map(|item| item.trim().to_owned()).collect();
    if items.iter().any(String::is_empty) {
        return Err(UsageError::new(format!(
            "`{flag} {list}`: expected IDs separated by commas, with none empty"
        )));
    }
    if let Some(bad) = items
        .iter()
        .find(|item| item.chars().any(char::is_whitespace))
    {
        return Err(UsageError::new(format!("`{flag}`: `{bad}` is not an ID")));
    }
    Ok(items)
}

fn parse_assign_public_ip(text: &str) -> Result<String, UsageError> {
    match text.to_ascii_uppercase().as_str() {
        value @ ("ENABLED" | "DISABLED") => Ok(value.to_owned()),
        _ => Err(UsageError::new(format!(
            "`--assign-public-ip`: `{text}` must be ENABLED or DISABLED"
        ))),
    }
}

fn parse_capacity_provider(value: &str) -> Result<CapacityProviderItem, UsageError> {
    let mut parts = value.split(':');
    let name = parts.next().unwrap_or_default();
    let number = |part: Option<&str>, what: &str| -> Result<Option<u32>, UsageError> {
        part.filter(|text| !text.is_empty())
            .map(|text| {
                text.parse::<u32>().map_err(|_| {
                    UsageError::new(format!(
                        "`--capacity-provider {value}`: {what} `{text}` is not a whole number"
                    ))
                })
            })
            .transpose()
    };
    let base = number(parts.next(), "BASE")?;
    let weight = number(parts.next(), "WEIGHT")?;
    if name.is_empty() || parts.next().is_some() {
        return Err(UsageError::new(format!(
            "`--capacity-provider {value}`: expected NAME[:BASE[:WEIGHT]]"
        )));
    }
    Ok(CapacityProviderItem {
        base,
        capacity_provider: name.to_owned(),
        weight,
    })
}

pub(crate) fn parse_hook(value: &str) -> Result<Hook, UsageError> {
    let Some((phase, function)) = value.split_once('=') else {
        return Err(UsageError::new(format!(
            "`--hook {value}`: expected PHASE=FUNCTION"
        )));
    };
    if !HOOK_PHASES.contains(&phase) {
        return Err(UsageError::new(format!(
            "`--hook {value}`: `{phase}` is not an ECS lifecycle hook; use one of {}",
            HOOK_PHASES.join(", ")
        )));
    }
    if function.is_empty() || function.chars().any(char::is_whitespace) {
        return Err(UsageError::new(format!(
            "`--hook {value}`: `{function}` is not a Lambda function name or ARN"
        )));
    }
    Ok(Hook {
        phase: phase.to_owned(),
        function: function.to_owned(),
    })
}

impl TaskdefSettings {
    /// Checks the `taskdef` flags.
    ///
    /// # Errors
    /// A [`UsageError`] naming the flag whose value cannot be used.
    pub fn resolve(args: TaskdefArgs) -> Result<Self, UsageError> {
        let container_edits = taskdef::resolve_container_edits(&args)?;
        if let Some(cluster) = &args.cluster {
            non_empty("--cluster", cluster)?;
            if args.service.is_none() && args.against_live.is_none() {
                return Err(UsageError::new(
                    "`--cluster` names the cluster of `--service` or `--against-live`, and neither is given",
                ));
            }
        }
        let report = taskdef::resolve_report(&args, args.cluster.as_deref())?;
        let source = match (args.task_definition, args.service, args.input) {
            (Some(reference), None, None) => {
                non_empty("--task-definition", &reference)?;
                TaskdefSource::Live(LiveTaskdef::Describe { reference })
            }
            (None, Some(service), None) => {
                non_empty("--service", &service)?;
                let Some(cluster) = args.cluster else {
                    return Err(UsageError::new("`--service` needs `--cluster`"));
                };
                TaskdefSource::Live(LiveTaskdef::Service { cluster, service })
            }
            (None, None, Some(path)) => TaskdefSource::Saved(Input::from_path(path)),
            // clap's argument group and `requires` rules make every other combination unreachable.
            _ => {
                return Err(UsageError::new(
                    "give exactly one of `--task-definition`, `--service` with `--cluster`, or `--input`",
                ));
            }
        };
        let image_edits = resolve_image_edits(&args.image, &args.image_placeholder)?;
        Ok(Self {
            source,
            image_edits,
            container_edits,
            report,
            // `-o` may name the `--input` file: the input is read whole before the atomic write.
            output: Output::from_option(args.output),
            aws: AwsSettings::resolve(args.aws)?,
        })
    }
}

impl ImageDetailSettings {
    /// Checks the `image-detail` flags.
    ///
    /// # Errors
    /// A [`UsageError`] when the image URI is not a valid image reference.
    pub fn resolve(args: ImageDetailArgs) -> Result<Self, UsageError> {
        image::check_reference(&args.image_uri)
            .map_err(|problem| UsageError::new(format!("`--image-uri`: {problem}")))?;
        Ok(Self {
            image_uri: args.image_uri,
            output: Output::from_option(args.output),
        })
    }
}

impl AwsSettings {
    fn resolve(args: AwsArgs) -> Result<Self, UsageError> {
        if let Some(region) = &args.region {
            check_region(region)?;
        }
        if let Some(profile) = &args.profile {
            non_empty("--profile", profile)?;
        }
        Ok(Self {
            region: args.region,
            profile: args.profile,
            connect_timeout: parse_seconds("--connect-timeout", &args.connect_timeout)?,
            timeout: parse_seconds("--timeout", &args.timeout)?,
            verbose: args.verbose,
            patient_attempts: None,
        })
    }
}

fn non_empty(flag: &str, value: &str) -> Result<(), UsageError> {
    if value.trim().is_empty() {
        Err(UsageError::new(format!(
            "`{flag}` needs a value, got an empty string"
        )))
    } else {
        Ok(())
    }
}

pub(crate) fn check_region(region: &str) -> Result<(), UsageError> {
    let valid = !region.is_empty()
        && region.len() <= 64
        && region.chars().all(|character| {
            character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
        });
    if valid {
        Ok(())
    } else {
        Err(
            UsageError::new(format!("`--region`: `{region}` is not an AWS Region name"))
                .with_hint("Region names look like `us-east-1` or `eu-west-3`"),
        )
    }
}

/// Seconds as a whole or decimal number, more than 0 and at most one hour.
fn parse_seconds(flag: &str, text: &str) -> Result<Duration, UsageError> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| UsageError::new(format!("`{flag}`: `{text}` is not a number of seconds")))?;
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err(UsageError::new(format!(
            "`{flag}`: `{text}` is out of range; give more than 0 and at most 3600 seconds"
        )));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Turns `--image` and `--image-placeholder` values into edits, refusing any container named twice.
fn resolve_image_edits(
    images: &[String],
    placeholders: &[String],
) -> Result<Vec<ImageEdit>, UsageError> {
    let mut edits = Vec::with_capacity(images.len() + placeholders.len());
    for value in images {
        let (target, uri) = match split_image_assignment(value) {
            Some((container, uri)) => {
                check_container_name("--image", container)?;
                (ImageTarget::Container(container.to_owned()), uri)
            }
            None => (ImageTarget::OnlyContainer, value.as_str()),
        };
        image::check_reference(uri)
            .map_err(|problem| UsageError::new(format!("`--image {value}`: {problem}")))?;
        edits.push(ImageEdit {
            target,
            value: ImageValue::Uri(uri.to_owned()),
        });
    }
    if placeholders.len() > MAX_IMAGE_PLACEHOLDERS {
        return Err(UsageError::new(format!(
            "`--image-placeholder` was given {} times; CodeDeployToECS fills at most {MAX_IMAGE_PLACEHOLDERS} images",
            placeholders.len()
        )));
    }
    for (index, container) in placeholders.iter().enumerate() {
        check_container_name("--image-placeholder", container)?;
        edits.push(ImageEdit {
            target: ImageTarget::Container(container.clone()),
            value: ImageValue::Placeholder(index + 1),
        });
    }
    let bare = edits
        .iter()
        .filter(|edit| edit.target == ImageTarget::OnlyContainer)
        .count();
    if bare > 0 && edits.len() > 1 {
        return Err(UsageError::new(
            "a bare `--image URI` cannot be combined with other image flags",
        )
        .with_hint("name the container: `--image CONTAINER=URI`"));
    }
    for (index, edit) in edits.iter().enumerate() {
        if let ImageTarget::Container(name) = &edit.target
            && edits[..index]
                .iter()
                .any(|earlier| earlier.target == edit.target)
        {
            return Err(UsageError::new(format!(
                "container `{name}` is given an image more than once"
            )));
        }
    }
    Ok(edits)
}

/// Splits `CONTAINER=URI`. An image reference never holds `=`, so a value with one is always an
/// assignment; the container part must then be a valid container name.
fn split_image_assignment(value: &str) -> Option<(&str, &str)> {
    value.split_once('=')
}

pub(crate) fn check_container_name(flag: &str, name: &str) -> Result<(), UsageError> {
    let valid = !name.is_empty()
        && name.len() <= 255
        && name.chars().all(|character| {
            character.is_ascii_alphanumeric() || character == '-' || character == '_'
        });
    if valid {
        Ok(())
    } else {
        Err(UsageError::new(format!(
            "`{flag} {name}`: a container name is 1 to 255 letters, digits, hyphens and underscores"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edits(images: &[&str], placeholders: &[&str]) -> Result<Vec<ImageEdit>, UsageError> {
        let images: Vec<String> = images.iter().map(|value| (*value).to_owned()).collect();
        let placeholders: Vec<String> = placeholders
            .iter()
            .map(|value| (*value).to_owned())
            .collect();
        resolve_image_edits(&images, &placeholders)
    }

    #[test]
    fn named_and_placeholder_images_resolve_in_order() {
        let resolved = edits(&["app=repo/app:1"], &["envoy", "log_router"]).unwrap();
        assert_eq!(
            resolved,
            vec![
                ImageEdit {
                    target: ImageTarget::Container("app".into()),
                    value: ImageValue::Uri("repo/app:1".into()),
                },
                ImageEdit {
                    target: ImageTarget::Container("envoy".into()),
                    value: ImageValue::Placeholder(1),
                },
                ImageEdit {
                    target: ImageTarget::Container("log_router".into()),
                    value: ImageValue::Placeholder(2),
                },
            ]
        );
    }

    #[test]
    fn a_bare_image_stands_alone() {
        assert_eq!(
            edits(&["repo/app:1"], &[]).unwrap()[0].target,
            ImageTarget::OnlyContainer
        );
        let error = edits(&["repo/app:1", "app=repo/app:2"], &[]).unwrap_err();
        assert!(error.message.contains("bare `--image URI`"), "{error:?}");
    }

    #[test]
    fn a_container_named_twice_is_refused() {
        let error = edits(&["app=repo/app:1"], &["app"]).unwrap_err();
        assert_eq!(
            error.message,
            "container `app` is given an image more than once"
        );
    }

    #[test]
    fn bad_container_names_and_uris_are_refused() {
        assert!(edits(&["app x=repo/app"], &[]).is_err());
        assert!(edits(&["app="], &[]).is_err());
        assert!(edits(&[], &["bad name"]).is_err());
        assert!(edits(&[], &["a", "b", "c", "d", "e"]).is_err());
    }

    #[test]
    fn seconds_parse_within_bounds() {
        assert_eq!(
            parse_seconds("--timeout", "1.5").unwrap(),
            Duration::from_millis(1500)
        );
        assert!(parse_seconds("--timeout", "0").is_err());
        assert!(parse_seconds("--timeout", "-3").is_err());
        assert!(parse_seconds("--timeout", "NaN").is_err());
        assert!(parse_seconds("--timeout", "3601").is_err());
        assert!(parse_seconds("--timeout", "soon").is_err());
    }

    #[test]
    fn generated_appspec_values_are_parsed() {
        assert_eq!(
            parse_capacity_provider("FARGATE_SPOT:1:4").unwrap(),
            CapacityProviderItem {
                base: Some(1),
                capacity_provider: "FARGATE_SPOT".into(),
                weight: Some(4)
            }
        );
        assert_eq!(parse_capacity_provider("FARGATE").unwrap().base, None);
        assert_eq!(
            parse_capacity_provider("FARGATE_SPOT::3").unwrap().weight,
            Some(3)
        );
        assert!(parse_capacity_provider("FARGATE:x").is_err());
        assert!(parse_capacity_provider("A:1:2:3").is_err());
        assert!(parse_capacity_provider(":1").is_err());
        assert_eq!(
            parse_hook("AfterAllowTestTraffic=smoke").unwrap().function,
            "smoke"
        );
        assert!(
            parse_hook("AfterTraffic=smoke")
                .unwrap_err()
                .message
                .contains("not an ECS lifecycle hook")
        );
        assert!(parse_hook("BeforeInstall=").is_err());
        assert_eq!(split_list("--subnets", "a, b").unwrap(), ["a", "b"]);
        assert!(split_list("--subnets", "a,,b").is_err());
        assert_eq!(parse_assign_public_ip("enabled").unwrap(), "ENABLED");
        assert!(parse_assign_public_ip("yes").is_err());
        assert!(parse_port("0").is_err());
        assert!(parse_port("65536").is_err());
        assert_eq!(parse_port("8080").unwrap(), 8080);
    }

    #[test]
    fn regions_are_checked() {
        assert!(check_region("eu-west-3").is_ok());
        assert!(check_region("EU WEST").is_err());
    }
}
