//! `bgtool render-appspec`: a validated appspec.yaml, from a template or generated from flags and
//! optionally a live service.

use std::collections::HashMap;

use anyhow::{Context, Result};

use crate::artifacts::appspec::{
    AppSpec, AwsvpcConfiguration, CapacityProviderItem, LoadBalancerInfo, NetworkConfiguration,
    Properties,
};
use crate::artifacts::checks;
use crate::artifacts::substitute::{SubstituteError, parse_env_file, substitute};
use crate::aws::{self, Ecs};
use crate::cli::Format;
use crate::config::{
    AppspecSource, GeneratedAppspec, Input, RenderAppspecSettings, ServiceReference,
};
use crate::deployment::service::Placement;
use crate::error::{Hinted, UsageError};
use crate::files::{read_input, write_output};

/// Renders or generates the AppSpec, validates it (and cross-checks it with `--taskdef`), then
/// writes it. Nothing is written when any step fails.
///
/// # Errors
/// Unset variables, an invalid AppSpec, a mismatch with the task definition, AWS errors with
/// `--from-service`, or an output that cannot be written.
pub fn run(settings: &RenderAppspecSettings) -> Result<()> {
    // Read the task definition first: a bad --taskdef should fail before any AWS call.
    let containers = settings
        .taskdef
        .as_ref()
        .map(checks::taskdef_containers)
        .transpose()?;
    let (text, origin) = match &settings.source {
        AppspecSource::Template {
            input,
            env_file,
            set,
        } => (render(input, env_file.as_deref(), set)?, input.describe()),
        AppspecSource::Generated {
            flags,
            from_service,
            format,
        } => {
            let placement = match from_service {
                Some(reference) => Some(service_placement(settings, reference)?),
                None => None,
            };
            let spec = generate(flags, placement.as_ref())?;
            (
                serialize(&spec, *format)?,
                "the generated AppSpec".to_owned(),
            )
        }
    };
    checks::appspec(&text, &origin, containers.as_deref())?;
    write_output(&settings.output, text.as_bytes())
}

/// Substitutes the template's variables: `--set` wins over `--env-file`, which wins over the
/// environment.
fn render(
    input: &Input,
    env_file: Option<&std::path::Path>,
    set: &[(String, String)],
) -> Result<String> {
    let bytes = read_input(input)?;
    let template = String::from_utf8(bytes).map_err(|error| {
        anyhow::anyhow!(
            "{} is not UTF-8 text (invalid byte at offset {})",
            input.describe(),
            error.utf8_error().valid_up_to()
        )
    })?;
    let mut overrides: HashMap<String, String> = HashMap::new();
    if let Some(path) = env_file {
        let env_input = Input::File(path.to_owned());
        let text = String::from_utf8(read_input(&env_input)?)
            .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", env_input.describe()))?;
        let pairs = parse_env_file(&text).with_context(|| env_input.describe())?;
        overrides.extend(pairs);
    }
    overrides.extend(set.iter().cloned());
    substitute(&template, |name| {
        overrides.get(name).cloned().or_else(|| std::env::var(name).ok())
    })
    .map_err(|error| match error {
        SubstituteError::Unset(_) => Hinted::new(
            format!("{}: {error}", input.describe()),
            "set each in the environment, in `--env-file`, or with `--set NAME=VALUE`; `${NAME:-default}` gives a default",
        )
        .into(),
        SubstituteError::Malformed { .. } => anyhow::anyhow!("{}: {error}", input.describe()),
    })
}

fn service_placement(
    settings: &RenderAppspecSettings,
    reference: &ServiceReference,
) -> Result<Placement> {
    let description = aws::with_ecs(&settings.aws, async |ecs| {
        ecs.describe_service(&reference.cluster, &reference.service)
            .await
    })?;
    Ok(description.effective_placement())
}

/// The AppSpec from flags, with the service's placement filling what the flags leave out.
pub(crate) fn generate(flags: &GeneratedAppspec, service: Option<&Placement>) -> Result<AppSpec> {
    let load_balancer = service.and_then(|placement| placement.load_balancers.first());
    let container_name = flags
        .container_name
        .clone()
        .or_else(|| load_balancer.and_then(|balancer| balancer.container_name.clone()));
    let container_port = flags
        .container_port
        .or_else(|| load_balancer.and_then(|balancer| balancer.container_port));
    let (Some(container_name), Some(container_port)) = (container_name, container_port) else {
        return Err(UsageError::new(
            "the service has no load balancer with a container name and port",
        )
        .with_hint("pass `--container-name` and `--container-port`")
        .into());
    };
    let service_network = service
        .and_then(|placement| placement.network_configuration.as_ref())
        .and_then(|network| network.awsvpc_configuration.as_ref());
    let subnets = flags.subnets.clone().or_else(|| {
        service_network
            .map(|network| network.subnets.clone())
            .filter(|subnets| !subnets.is_empty())
    });
    let security_groups = flags
        .security_groups
        .clone()
        .or_else(|| service_network.map(|network| network.security_groups.clone()))
        .filter(|groups| !groups.is_empty());
    let assign_public_ip = flags
        .assign_public_ip
        .clone()
        .or_else(|| service_network.and_then(|network| network.assign_public_ip.clone()));
    // The AppSpec reference: all or none of the AwsvpcConfiguration settings.
    let network_configuration = match (subnets, security_groups, assign_public_ip) {
        (Some(subnets), Some(security_groups), Some(assign_public_ip)) => {
            Some(NetworkConfiguration {
                awsvpc_configuration: AwsvpcConfiguration {
                    subnets,
                    security_groups,
                    assign_public_ip,
                },
            })
        }
        (None, None, None) => None,
        (subnets, security_groups, assign_public_ip) => {
            let missing: Vec<&str> = [
                ("--subnets", subnets.is_none()),
                ("--security-groups", security_groups.is_none()),
                ("--assign-public-ip", assign_public_ip.is_none()),
            ]
            .into_iter()
            .filter_map(|(flag, is_missing)| is_missing.then_some(flag))
            .collect();
            return Err(UsageError::new(format!(
                "the network configuration is incomplete: missing {}",
                missing
                    .iter()
                    .map(|flag| format!("`{flag}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .with_hint(
                "the AppSpec takes all of --subnets, --security-groups and --assign-public-ip, or none (CodeDeploy then keeps the service's own)",
            )
            .into());
        }
    };
    let capacity_provider_strategy = if flags.capacity_providers.is_empty() {
        service
            .map(|placement| {
                placement
                    .capacity_provider_strategy
                    .iter()
                    .map(|item| CapacityProviderItem {
                        base: item.base,
                        capacity_provider: item.capacity_provider.clone(),
                        weight: item.weight,
                    })
                    .collect()
            })
            .unwrap_or_default()
    } else {
        flags.capacity_providers.clone()
    };
    Ok(AppSpec::new(
        Properties {
            task_definition: flags.task_definition.clone(),
            load_balancer_info: LoadBalancerInfo {
                container_name,
                container_port,
            },
            platform_version: flags
                .platform_version
                .clone()
                .or_else(|| service.and_then(|placement| placement.platform_version.clone())),
            network_configuration,
            capacity_provider_strategy,
        },
        flags.hooks.clone(),
    ))
}

pub(crate) fn serialize(spec: &AppSpec, format: Format) -> Result<String> {
    Ok(match format {
        Format::Yaml => {
            serde_norway::to_string(spec).context("cannot render the AppSpec as YAML")?
        }
        Format::Json => {
            let mut text =
                serde_json::to_string_pretty(spec).context("cannot render the AppSpec as JSON")?;
            text.push('\n');
            text
        }
    })
}
