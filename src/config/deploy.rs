//! Settings of `deploy`, `wait` and `rollback`, checked before any AWS call.

use std::time::Duration;

use super::Input;
use super::{AwsSettings, check_region, non_empty, parse_seconds, resolve_image_edits};
use crate::artifacts::appspec::Hook;
use crate::artifacts::taskdef::ImageEdit;
use crate::cli::{AwsArgs, DeployArgs, WaitArgs, WatchArgs, WithoutDataArg};
use crate::deployment::compare::{CompareRule, WithoutData};
use crate::error::UsageError;

/// Each AWS call on its own, retries included; the deployment as a whole has `timeout`.
pub(super) const CALL_TIMEOUT: &str = "60";

/// The longest `--timeout` taken: a day is more than any ECS strategy's bake times add up to.
const LONGEST_WAIT_SECONDS: f64 = 24.0 * 3600.0;

/// How to reach AWS and how to watch a deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchSettings {
    pub aws: AwsSettings,
    /// `deploy --deadline`: the one bound of the whole command.
    pub deadline: Option<Deadline>,
    /// `None`: derived from the service's deployment strategy.
    pub timeout: Option<Duration>,
    pub poll_interval: Duration,
    /// With no line printed for this long, the watch says the deployment is still running.
    pub still_running_every: Duration,
    /// `--application` and `--deployment-group`, for CODE_DEPLOY services.
    pub deployment_group: Option<(String, String)>,
    /// `deploy --gate`: the command that decides, while the deployment holds, whether it goes on.
    pub gate: Option<String>,
    /// `deploy --compare`: the rule green is judged against blue by during a canary or linear shift.
    pub compare: Option<CompareRule>,
}

impl WatchSettings {
    /// The same, for watching a deployment that is not this command's own (an earlier one):
    /// the gate and the comparison are for the deployment `deploy` starts.
    #[must_use]
    pub fn for_an_earlier_deployment(&self) -> Self {
        Self {
            gate: None,
            compare: None,
            ..self.clone()
        }
    }
}

/// When a `deploy` must have ended, whatever it meets, and how much of that time a rollback keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    pub at: std::time::Instant,
    pub rollback_reserve: Duration,
}

/// The most a rollback keeps of `--deadline`: as long as a rollback is given without one.
pub const LONGEST_ROLLBACK: Duration = Duration::from_mins(30);

#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each is one independent switch of the command line"
)]
pub struct DeploySettings {
    pub cluster: String,
    pub service: String,
    pub taskdef: Input,
    pub image_edits: Vec<ImageEdit>,
    pub wait: bool,
    pub wait_for_running: bool,
    pub dry_run: bool,
    /// Run `verify`'s checks before registering anything.
    pub verify: bool,
    /// CODE_DEPLOY services: the AppSpec to send [default: generated from the service].
    pub appspec: Option<Input>,
    /// CODE_DEPLOY services: lifecycle hooks of the generated AppSpec.
    pub hooks: Vec<Hook>,
    pub deployment_config: Option<String>,
    /// `--run-first`: a command that must exit 0, in a task of the new revision, before deploying.
    pub run_first: Option<RunFirst>,
    pub watch: WatchSettings,
}

/// A one-off command of `deploy --run-first`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFirst {
    pub container: String,
    pub command: Vec<String>,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WaitSettings {
    pub cluster: String,
    pub service: String,
    pub deployment: Option<String>,
    pub watch: WatchSettings,
}

impl DeploySettings {
    /// Checks the `deploy` flags.
    ///
    /// # Errors
    /// A [`UsageError`] naming the flag whose value cannot be used.
    pub fn resolve(args: DeployArgs) -> Result<Self, UsageError> {
        non_empty("--cluster", &args.cluster)?;
        non_empty("--service", &args.service)?;
        let compare = args.compare.then(|| compare_rule(&args)).transpose()?;
        if args.no_wait && args.dry_run {
            return Err(UsageError::new(
                "`--no-wait` and `--dry-run` together: a dry run starts nothing to wait for",
            ));
        }
        let deadline = args
            .deadline
            .as_deref()
            .map(|text| {
                let total = parse_bounded_seconds("--deadline", text)?;
                Ok::<_, UsageError>(Deadline {
                    at: std::time::Instant::now() + total,
                    rollback_reserve: LONGEST_ROLLBACK.min(total / 3),
                })
            })
            .transpose()?;
        let mut watch = WatchSettings::resolve(args.watch)?;
        watch.deadline = deadline;
        watch.gate = args
            .gate
            .map(|command| non_empty("--gate", &command).map(|()| command))
            .transpose()?;
        if watch.gate.is_some() && args.no_wait {
            return Err(UsageError::new(
                "`--gate` runs while bgtool watches the deployment; `--no-wait` does not watch",
            ));
        }
        if compare.is_some() && args.no_wait {
            return Err(UsageError::new(
                "`--compare` runs while bgtool watches the deployment; `--no-wait` does not watch",
            ));
        }
        watch.compare = compare;
        Ok(Self {
            cluster: args.cluster,
            service: args.service,
            taskdef: Input::from_path(args.taskdef),
            image_edits: resolve_image_edits(&args.image, &[])?,
            wait: !args.no_wait,
            wait_for_running: args.wait_for_running,
            dry_run: args.dry_run,
            verify: !args.no_verify,
            appspec: args.appspec.map(Input::from_path),
            hooks: args
                .hook
                .iter()
                .map(|value| super::parse_hook(value))
                .collect::<Result<_, _>>()?,
            deployment_config: args
                .deployment_config
                .map(|name| non_empty("--deployment-config", &name).map(|()| name))
                .transpose()?,
            run_first: match args.run_first {
                Some(container) => {
                    non_empty("--run-first", &container)?;
                    if args.run_command.first().is_none_or(String::is_empty) {
                        return Err(UsageError::new(
                            "`--run-first` needs the command to run, after `--`",
                        )
                        .with_hint("e.g. `--run-first app -- bin/rails db:migrate`"));
                    }
                    Some(RunFirst {
                        container,
                        command: args.run_command,
                        timeout: parse_bounded_seconds(
                            "--run-first-timeout",
                            &args.run_first_timeout,
                        )?,
                    })
                }
                None => None,
            },
            watch,
        })
    }
}

impl WaitSettings {
    /// Checks the `wait` and `rollback` flags.
    ///
    /// # Errors
    /// A [`UsageError`] naming the flag whose value cannot be used.
    pub fn resolve(args: WaitArgs) -> Result<Self, UsageError> {
        non_empty("--cluster", &args.cluster)?;
        non_empty("--service", &args.service)?;
        if let Some(deployment) = &args.deployment {
            non_empty("--deployment", deployment)?;
        }
        Ok(Self {
            cluster: args.cluster,
            service: args.service,
            deployment: args.deployment,
            watch: WatchSettings::resolve(args.watch)?,
        })
    }
}

impl WatchSettings {
    fn resolve(args: WatchArgs) -> Result<Self, UsageError> {
        if let Some(region) = &args.region {
            check_region(region)?;
        }
        let timeout = args
            .timeout
            .as_deref()
            .map(|text| parse_bounded_seconds("--timeout", text))
            .transpose()?;
        let deployment_group = match (args.application, args.deployment_group) {
            (Some(application), Some(group)) => {
                non_empty("--application", &application)?;
                non_empty("--deployment-group", &group)?;
                Some((application, group))
            }
            (None, None) => None,
            _ => {
                return Err(UsageError::new(
                    "`--application` and `--deployment-group` go together",
                )
                .with_hint("give both, or neither to find the group that deploys the service"));
            }
        };
        let aws = AwsSettings::resolve(AwsArgs {
            region: args.region,
            profile: args.profile,
            connect_timeout: args.connect_timeout,
            timeout: CALL_TIMEOUT.to_owned(),
            verbose: args.verbose,
        })?;
        Ok(Self {
            aws,
            deadline: None,
            timeout,
            poll_interval: parse_seconds("--poll-interval", &args.poll_interval)?,
            still_running_every: parse_seconds("--still-running-every", &args.still_running_every)?,
            deployment_group,
            gate: None,
            compare: None,
        })
    }
}

/// The `--compare-*` flags, each a number in its range.
fn compare_rule(args: &DeployArgs) -> Result<CompareRule, UsageError> {
    let number = |flag: &str, text: &str, least: f64| {
        let value: f64 = text
            .trim()
            .parse()
            .map_err(|_| UsageError::new(format!("`{flag}`: `{text}` is not a number")))?;
        if value.is_finite() && value >= least {
            Ok(value)
        } else {
            Err(UsageError::new(format!(
                "`{flag}`: `{text}` is out of range; give {least} or more"
            )))
        }
    };
    let min_requests = args
        .compare_min_requests
        .trim()
        .parse::<u64>()
        .map_err(|_| {
            UsageError::new(format!(
                "`--compare-min-requests`: `{}` is not a whole number of requests",
                args.compare_min_requests
            ))
        })?;
    Ok(CompareRule {
        min_requests: min_requests.max(1),
        error_rate_margin: number("--compare-error-margin", &args.compare_error_margin, 0.0)?,
        error_rate_factor: number("--compare-error-factor", &args.compare_error_factor, 1.0)?,
        latency_margin_milliseconds: number(
            "--compare-latency-margin",
            &args.compare_latency_margin,
            0.0,
        )?,
        latency_factor: number(
            "--compare-latency-factor",
            &args.compare_latency_factor,
            1.0,
        )?,
        without_data: match args.compare_without_data {
            WithoutDataArg::Continue => WithoutData::Continue,
            WithoutDataArg::RollBack => WithoutData::RollBack,
        },
    })
}

/// A number of seconds above 0 and at most a day.
pub(super) fn parse_bounded_seconds(flag: &str, text: &str) -> Result<Duration, UsageError> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| UsageError::new(format!("`{flag}`: `{text}` is not a number of seconds")))?;
    if seconds > 0.0 && seconds <= LONGEST_WAIT_SECONDS {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(UsageError::new(format!(
            "`{flag}`: `{text}` is out of range; give more than 0 and at most {LONGEST_WAIT_SECONDS} seconds"
        )))
    }
}
