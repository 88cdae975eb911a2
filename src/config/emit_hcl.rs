//! `emit-hcl` settings: every value that lands in the Terraform stack, checked against the AWS rule
//! it must meet before anything is rendered.

use std::fs;
use std::path::PathBuf;

use super::{check_container_name, check_region};
use crate::artifacts::fargate;
use crate::cli::{EmitHclArgs, StrategyArg, StrategyKindArg};
use crate::error::UsageError;
use crate::stack::elf;
use crate::stack::hcl::{
    DeploymentKind, EcsNative, LIFECYCLE_STAGES, LifecycleHook, StackOptions, Strategy,
};

#[derive(Debug, Clone, PartialEq)]
pub struct EmitHclSettings {
    pub stack: StackOptions,
    pub out_dir: Option<PathBuf>,
    pub build_binary: BuildBinary,
}

/// Where the pipeline's build gets bgtool from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildBinary {
    /// `--bgtool-url`: the stack's `bgtool_url` and `bgtool_sha256` default to it.
    Url,
    /// `--bgtool-binary`, already checked to be a static Linux x86_64 executable, copied into the
    /// module directory.
    File(PathBuf),
    /// With `--out-dir` and no other choice: the running bgtool, if it is one the build can run.
    CurrentExecutable,
    /// One file on standard output: the stack looks for `bgtool` beside it.
    BesideTheStack,
}

/// The pipeline's deploy build (`bgtool deploy`) may run 480 minutes: the build timeout CodeBuild's
/// quota page and CodePipeline's quotas give (only CodeBuild's API reference says 2160). It takes
/// 70 of them for installing bgtool, starting and draining tasks, and a rollback.
pub const MAX_DEPLOYMENT_WAIT_MINUTES: u32 = 410;

/// CodeDeploy's predefined ECS deployment configurations, by their short names.
pub const DEPLOYMENT_CONFIGS: [&str; 5] = [
    "AllAtOnce",
    "Linear10PercentEvery1Minutes",
    "Linear10PercentEvery3Minutes",
    "Canary10Percent5Minutes",
    "Canary10Percent15Minutes",
];

impl EmitHclSettings {
    /// Checks every value that will land in HCL against the AWS rule it must meet.
    ///
    /// # Errors
    /// A [`UsageError`] naming the flag and the rule.
    pub fn resolve(args: EmitHclArgs) -> Result<Self, UsageError> {
        check_stack_name(&args.name)?;
        check_region(&args.region)?;
        check_commercial_partition(&args.region)?;
        if !(2..=6).contains(&args.azs) {
            return Err(UsageError::new(format!(
                "`--azs {}`: an Application Load Balancer needs at least 2 Availability Zones; at most 6 are used",
                args.azs
            )));
        }
        if let Some(arn) = &args.certificate_arn {
            check_certificate_arn(arn, &args.region)?;
        }
        check_container_name("--container-name", &args.container_name)?;
        if args.container_port == 0 {
            return Err(UsageError::new(
                "`--container-port 0`: a port is 1 to 65535",
            ));
        }
        check_fargate_size(args.cpu, args.memory)?;
        if args.desired_count > 5000 {
            return Err(UsageError::new(format!(
                "`--desired-count {}`: ECS runs at most 5000 tasks per service",
                args.desired_count
            )));
        }
        check_health_check_path(&args.health_check_path)?;
        let migrate_command = check_migrate_command(args.migrate_command.as_deref())?;
        check_github_repository(&args.github_repo)?;
        check_branch(&args.branch)?;
        let strategy = resolve_strategy(&args)?;
        let build_binary = resolve_build_binary(&args)?;
        check_smoke_tests(&args, &build_binary)?;
        Ok(Self {
            stack: StackOptions {
                strategy,
                name: args.name,
                region: args.region,
                az_count: args.azs,
                private_subnets: args.private_subnets,
                certificate_arn: args.certificate_arn,
                container_name: args.container_name,
                container_port: args.container_port,
                cpu: args.cpu,
                memory: args.memory,
                desired_count: args.desired_count,
                health_check_path: args.health_check_path,
                github_repository: args.github_repo,
                branch: args.branch,
                bgtool_url: args.bgtool_url.unwrap_or_default(),
                bgtool_sha256: args.bgtool_sha256.unwrap_or_default(),
                smoke_tests: args
                    .smoke_test
                    .iter()
                    .map(|check| check.split_whitespace().collect::<Vec<_>>().join(" "))
                    .collect(),
                migrate_command,
            },
            out_dir: args.out_dir,
            build_binary,
        })
    }
}

/// Each `--smoke-test` is a check `bgtool hook` can run, and the stack can give the function its
/// code and a way to the test listener.
fn check_smoke_tests(args: &EmitHclArgs, build_binary: &BuildBinary) -> Result<(), UsageError> {
    if args.smoke_test.is_empty() {
        return Ok(());
    }
    for text in &args.smoke_test {
        crate::hook::checks::parse(text).map_err(|reason| {
            UsageError::new(format!("`--smoke-test {text}`: {reason}")).with_hint(
                "a check as `bgtool hook --check` takes it, e.g. `/health` or `'/health status=200 requests=3'`",
            )
        })?;
    }
    if !args.private_subnets && args.certificate_arn.is_some() {
        return Err(UsageError::new(
            "`--smoke-test` with `--certificate-arn` needs `--private-subnets`: in public subnets the function reaches the load balancer at a private address, which the HTTPS test listener's certificate does not name",
        )
        .with_hint("add `--private-subnets` (the function then calls the test listener by name, through the NAT gateways)"));
    }
    if args.out_dir.is_none() || *build_binary == BuildBinary::Url {
        return Err(UsageError::new(
            "`--smoke-test` needs `--out-dir` and the build's bgtool in it: the function's code is that binary, zipped as `bootstrap` beside the module",
        )
        .with_hint("write a module directory with `--out-dir DIR`, from a release build of bgtool or with `--bgtool-binary PATH` (not `--bgtool-url`)"));
    }
    Ok(())
}

/// China, GovCloud and the isolated partitions name service principals differently and lack
/// services the stack uses (GitHub connections among them): refused rather than half-working.
fn check_commercial_partition(region: &str) -> Result<(), UsageError> {
    let other_partition = ["cn-", "us-gov-", "us-iso", "eu-isoe-"]
        .iter()
        .any(|prefix| region.starts_with(prefix));
    if other_partition {
        Err(UsageError::new(format!(
            "`--region {region}`: emit-hcl writes stacks for Regions of the commercial `aws` partition only"
        ))
        .with_hint("China, GovCloud and isolated Regions differ in service principals and have no GitHub connections; the other commands work there"))
    } else {
        Ok(())
    }
}

fn resolve_build_binary(args: &EmitHclArgs) -> Result<BuildBinary, UsageError> {
    if let (Some(url), Some(sha256)) = (&args.bgtool_url, &args.bgtool_sha256) {
        let valid_url = url.starts_with("https://")
            && url.len() > "https://".len()
            && !url
                .chars()
                .any(|character| character.is_whitespace() || character == '"');
        if !valid_url {
            return Err(UsageError::new(format!(
                "`--bgtool-url {url}`: expected an https:// URL"
            )));
        }
        let valid_sha256 = sha256.len() == 64
            && sha256
                .chars()
                .all(|character| character.is_ascii_digit() || ('a'..='f').contains(&character));
        if !valid_sha256 {
            return Err(UsageError::new(format!(
                "`--bgtool-sha256 {sha256}`: expected 64 lowercase hexadecimal digits"
            ))
            .with_hint("`sha256sum FILE` prints it"));
        }
        return Ok(BuildBinary::Url);
    }
    if let Some(path) = &args.bgtool_binary {
        let bytes = fs::read(path).map_err(|error| {
            UsageError::new(format!(
                "`--bgtool-binary {}`: cannot read it: {error}",
                path.display()
            ))
            .with_hint("give the path of the static bgtool-VERSION-x86_64-linux release file")
        })?;
        elf::check_static_linux_x86_64(&bytes).map_err(|problem| {
            UsageError::new(format!(
                "`--bgtool-binary {}`: the file {problem}, and the build runs on CodeBuild's x86_64 Linux image",
                path.display()
            ))
            .with_hint("use the bgtool-VERSION-x86_64-linux release file, or build one with `scripts/release`")
        })?;
        return Ok(BuildBinary::File(path.clone()));
    }
    Ok(if args.out_dir.is_some() {
        BuildBinary::CurrentExecutable
    } else {
        BuildBinary::BesideTheStack
    })
}

/// The deployment strategy and its settings; settings of the other strategy are refused rather
/// than ignored.
fn resolve_strategy(args: &EmitHclArgs) -> Result<Strategy, UsageError> {
    let native_flags = [
        ("--strategy-kind", args.strategy_kind.is_some()),
        ("--bake-time", args.bake_time.is_some()),
        ("--canary-percent", args.canary_percent.is_some()),
        ("--canary-bake-time", args.canary_bake_time.is_some()),
        ("--linear-step-percent", args.linear_step_percent.is_some()),
        (
            "--linear-step-bake-time",
            args.linear_step_bake_time.is_some(),
        ),
        ("--lifecycle-hook", !args.lifecycle_hook.is_empty()),
    ];
    match args.strategy {
        StrategyArg::Codedeploy => {
            if let Some((flag, _)) = native_flags.iter().find(|(_, given)| *given) {
                return Err(UsageError::new(format!(
                    "`{flag}` applies to `--strategy ecs-native` only"
                ))
                .with_hint("add `--strategy ecs-native`, or leave the flag out"));
            }
            let deployment_config = resolve_deployment_config(
                args.deployment_config.as_deref().unwrap_or("AllAtOnce"),
            )?;
            Ok(Strategy::Codedeploy { deployment_config })
        }
        StrategyArg::EcsNative => {
            if args.deployment_config.is_some() {
                return Err(UsageError::new(
                    "`--deployment-config` names a CodeDeploy configuration; with `--strategy ecs-native` use `--strategy-kind` and its settings",
                ));
            }
            let kind = args.strategy_kind.unwrap_or(StrategyKindArg::BlueGreen);
            let check = |flag: &str, given: bool, applies: bool| {
                if given && !applies {
                    Err(UsageError::new(format!(
                        "`{flag}` does not apply to `--strategy-kind {}`",
                        kind_name(kind)
                    )))
                } else {
                    Ok(())
                }
            };
            let canary = kind == StrategyKindArg::Canary;
            let linear = kind == StrategyKindArg::Linear;
            check("--canary-percent", args.canary_percent.is_some(), canary)?;
            check(
                "--canary-bake-time",
                args.canary_bake_time.is_some(),
                canary,
            )?;
            check(
                "--linear-step-percent",
                args.linear_step_percent.is_some(),
                linear,
            )?;
            check(
                "--linear-step-bake-time",
                args.linear_step_bake_time.is_some(),
                linear,
            )?;
            let kind = match kind {
                StrategyKindArg::BlueGreen => DeploymentKind::BlueGreen,
                StrategyKindArg::Canary => DeploymentKind::Canary {
                    percent: percent("--canary-percent", args.canary_percent.unwrap_or(10.0), 0.1)?,
                    bake_minutes: minutes(
                        "--canary-bake-time",
                        args.canary_bake_time.unwrap_or(5),
                    )?,
                },
                StrategyKindArg::Linear => DeploymentKind::Linear {
                    step_percent: percent(
                        "--linear-step-percent",
                        args.linear_step_percent.unwrap_or(10.0),
                        3.0,
                    )?,
                    step_bake_minutes: minutes(
                        "--linear-step-bake-time",
                        args.linear_step_bake_time.unwrap_or(1),
                    )?,
                },
            };
            let bake_time_minutes = minutes("--bake-time", args.bake_time.unwrap_or(10))?;
            check_deployment_wait(&kind, bake_time_minutes)?;
            Ok(Strategy::EcsNative(EcsNative {
                kind,
                bake_time_minutes,
                hooks: args
                    .lifecycle_hook
                    .iter()
                    .map(|value| parse_lifecycle_hook(value, &args.region))
                    .collect::<Result<_, _>>()?,
            }))
        }
    }
}

fn check_deployment_wait(kind: &DeploymentKind, bake_time_minutes: u32) -> Result<(), UsageError> {
    let wait = deployment_wait_minutes(kind, bake_time_minutes);
    if wait > MAX_DEPLOYMENT_WAIT_MINUTES {
        return Err(UsageError::new(format!(
            "the deployment would wait {wait} minutes in bake and step times; with 70 minutes for starting tasks and a rollback, the pipeline's deploy build would outlast CodeBuild's 8 hours (480 minutes)"
        ))
        .with_hint(format!(
            "keep bake and step times to {MAX_DEPLOYMENT_WAIT_MINUTES} minutes in all"
        )));
    }
    Ok(())
}

/// Minutes an ECS-native deployment waits on purpose: the canary's bake, or one step bake per
/// linear step (counted as ceil(100 / step percent)), then the bake time. The stack's Terraform
/// computes the same in `local.deployment_wait_minutes`.
#[must_use]
pub fn deployment_wait_minutes(kind: &DeploymentKind, bake_time_minutes: u32) -> u32 {
    let shifting = match kind {
        DeploymentKind::BlueGreen => 0,
        DeploymentKind::Canary { bake_minutes, .. } => *bake_minutes,
        DeploymentKind::Linear {
            step_percent,
            step_bake_minutes,
        } => {
            // 3 to 100 percent: at most 34 steps, so the cast is exact.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let steps = (100.0 / step_percent).ceil() as u32;
            steps.saturating_mul(*step_bake_minutes)
        }
    };
    shifting.saturating_add(bake_time_minutes)
}

const fn kind_name(kind: StrategyKindArg) -> &'static str {
    match kind {
        StrategyKindArg::BlueGreen => "blue-green",
        StrategyKindArg::Canary => "canary",
        StrategyKindArg::Linear => "linear",
    }
}

/// ECS accepts 0 to 1440 minutes (a day) for every bake time.
fn minutes(flag: &str, value: u32) -> Result<u32, UsageError> {
    if value <= 1440 {
        Ok(value)
    } else {
        Err(UsageError::new(format!(
            "`{flag} {value}`: ECS accepts 0 to 1440 minutes"
        )))
    }
}

fn percent(flag: &str, value: f64, smallest: f64) -> Result<f64, UsageError> {
    if (smallest..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(UsageError::new(format!(
            "`{flag} {value}`: ECS accepts {smallest} to 100 percent"
        )))
    }
}

/// `STAGE=FUNCTION_ARN`: a stage ECS knows, and the ARN of a Lambda function in the stack's Region.
fn parse_lifecycle_hook(value: &str, region: &str) -> Result<LifecycleHook, UsageError> {
    let Some((stage, arn)) = value.split_once('=') else {
        return Err(UsageError::new(format!(
            "`--lifecycle-hook {value}`: expected STAGE=FUNCTION_ARN"
        )));
    };
    if !LIFECYCLE_STAGES.contains(&stage) {
        return Err(UsageError::new(format!(
            "`--lifecycle-hook {value}`: `{stage}` is not an ECS deployment stage; use one of {}",
            LIFECYCLE_STAGES.join(", ")
        )));
    }
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    let is_lambda_arn = matches!(parts.as_slice(), [prefix, partition, "lambda", arn_region, account, "function", name]
        if *prefix == "arn"
            && partition.starts_with("aws")
            && !arn_region.is_empty()
            && account.len() == 12
            && account.chars().all(|character| character.is_ascii_digit())
            && !name.is_empty()
            && name.chars().all(|character| character.is_ascii_alphanumeric() || "-_:$".contains(character)));
    if !is_lambda_arn {
        return Err(UsageError::new(format!(
            "`--lifecycle-hook {value}`: `{arn}` is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)"
        )));
    }
    if parts[3] != region {
        return Err(UsageError::new(format!(
            "`--lifecycle-hook {value}`: the function is in `{}`, but the stack is in `{region}`; ECS invokes hooks in the service's Region",
            parts[3]
        )));
    }
    Ok(LifecycleHook {
        stage: stage.to_owned(),
        function_arn: arn.to_owned(),
    })
}

/// The stack name prefixes the load balancer (32 characters at most, letters, digits and hyphens)
/// and its target groups, which add `-green`: so 26 characters. Lowercase, because it also names
/// S3 buckets.
fn check_stack_name(name: &str) -> Result<(), UsageError> {
    let characters_valid = name.chars().all(|character| {
        character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
    });
    let problem = if name.len() < 2 || name.len() > 26 {
        Some(format!(
            "is {} characters long; it must be 2 to 26 (the target group `{name}-green` must fit AWS's 32)",
            name.len()
        ))
    } else if !characters_valid {
        Some("may hold only lowercase letters, digits and hyphens (it names load balancers and S3 buckets)".to_owned())
    } else if !name.starts_with(|character: char| character.is_ascii_lowercase()) {
        Some("must start with a letter".to_owned())
    } else if name.ends_with('-') || name.contains("--") {
        Some("must not end with a hyphen or hold two in a row".to_owned())
    } else if name.starts_with("internal-") {
        Some("must not start with `internal-` (AWS reserves it for load balancer names)".to_owned())
    } else if name.starts_with("sg-") {
        Some("must not start with `sg-` (EC2 refuses security group names that do, and the stack names two after it)".to_owned())
    } else {
        None
    };
    match problem {
        Some(problem) => Err(UsageError::new(format!(
            "`--name {name}`: the name {problem}"
        ))),
        None => Ok(()),
    }
}

fn check_certificate_arn(arn: &str, region: &str) -> Result<(), UsageError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let well_formed = matches!(parts.as_slice(), [prefix, partition, "acm", arn_region, account, resource]
    if *prefix == "arn"
        && partition.starts_with("aws")
        && !arn_region.is_empty()
        && account.len() == 12
        && account.chars().all(|character| character.is_ascii_digit())
        && resource.strip_prefix("certificate/").is_some_and(|id| {
            !id.is_empty() && id.chars().all(|character| character.is_ascii_hexdigit() || character == '-')
        }));
    if !well_formed {
        return Err(UsageError::new(format!(
            "`--certificate-arn {arn}`: expected an ACM certificate ARN, arn:aws:acm:REGION:ACCOUNT:certificate/ID"
        )));
    }
    if parts[3] != region {
        return Err(UsageError::new(format!(
            "`--certificate-arn`: the certificate is in `{}`, but the stack is in `{region}`; a load balancer can use only certificates of its own Region",
            parts[3]
        )));
    }
    Ok(())
}

fn check_fargate_size(cpu: u32, memory: u32) -> Result<(), UsageError> {
    fargate::check_size(cpu, memory)
        .map_err(|problem| UsageError::new(format!("`--cpu {cpu} --memory {memory}`: {problem}")))
}

/// The pipeline splits the command on spaces, with no shell: quotes and backslashes would reach
/// the program as they are, which no one means.
fn check_migrate_command(command: Option<&str>) -> Result<String, UsageError> {
    let Some(command) = command else {
        return Ok(String::new());
    };
    let words: Vec<&str> = command.split_whitespace().collect();
    if words.is_empty() {
        return Err(UsageError::new(
            "`--migrate-command` needs a command, got an empty string",
        ));
    }
    if let Some(found) = command.chars().find(|character| {
        matches!(character, '"' | '\'' | '\\' | '$' | '`')
            || character.is_control() && !character.is_whitespace()
    }) {
        return Err(UsageError::new(format!(
            "`--migrate-command {command}`: `{found}` would reach the program as it is, since no shell reads the command"
        ))
        .with_hint("words are split on spaces and nothing else; put anything more in a script in the image and name the script"));
    }
    Ok(words.join(" "))
}

fn check_health_check_path(path: &str) -> Result<(), UsageError> {
    let valid = path.starts_with('/')
        && path.len() <= 1024
        && path.chars().all(|character| character.is_ascii_graphic());
    if valid {
        Ok(())
    } else {
        Err(UsageError::new(format!(
            "`--health-check-path {path}`: expected a path starting with `/`, at most 1024 printable characters, no spaces"
        )))
    }
}

fn check_github_repository(repository: &str) -> Result<(), UsageError> {
    let valid = repository.split_once('/').is_some_and(|(owner, name)| {
        (1..=39).contains(&owner.len())
            && owner
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || character == '-')
            && !owner.starts_with('-')
            && (1..=100).contains(&name.len())
            && name
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || "-_.".contains(character))
            && name != "."
            && name != ".."
    });
    if valid {
        Ok(())
    } else {
        Err(UsageError::new(format!(
            "`--github-repo {repository}`: expected OWNER/NAME, as in github.com/OWNER/NAME"
        )))
    }
}

/// The parts of git's ref-name rules that matter for a branch typed on a command line.
fn check_branch(branch: &str) -> Result<(), UsageError> {
    let valid = !branch.is_empty()
        && branch.len() <= 255
        && !branch.starts_with(['-', '/'])
        && !branch.ends_with(['/', '.'])
        && !branch.contains("..")
        && !branch.contains("//")
        && !branch.contains("@{")
        && !branch.to_ascii_lowercase().ends_with(".lock")
        && branch
            .chars()
            .all(|character| character.is_ascii_graphic() && !"~^:?*[\\".contains(character));
    if valid {
        Ok(())
    } else {
        Err(UsageError::new(format!(
            "`--branch {branch}`: not a valid git branch name"
        )))
    }
}

fn resolve_deployment_config(config: &str) -> Result<String, UsageError> {
    let short = config
        .strip_prefix("CodeDeployDefault.ECS")
        .unwrap_or(config);
    if DEPLOYMENT_CONFIGS.contains(&short) {
        Ok(format!("CodeDeployDefault.ECS{short}"))
    } else {
        Err(UsageError::new(format!(
            "`--deployment-config {config}`: not an ECS deployment configuration; use one of {}",
            DEPLOYMENT_CONFIGS.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_migrate_command_is_words_with_nothing_a_shell_would_have_read() {
        assert_eq!(check_migrate_command(None).unwrap(), "");
        assert_eq!(
            check_migrate_command(Some(" bin/rails   db:migrate ")).unwrap(),
            "bin/rails db:migrate"
        );
        for refused in [
            "sh -c 'x'",
            "echo \"x\"",
            "echo $HOME",
            "a\\b",
            "echo `id`",
            "  ",
        ] {
            assert!(check_migrate_command(Some(refused)).is_err(), "{refused}");
        }
    }

    #[test]
    fn stack_names_follow_the_load_balancer_and_bucket_rules() {
        assert!(check_stack_name("bgtool-demo").is_ok());
        assert!(check_stack_name(&"a".repeat(26)).is_ok());
        for bad in [
            "a",
            "Web",
            "1web",
            "web-",
            "we--b",
            "web_app",
            "internal-web",
            &"a".repeat(27),
        ] {
            assert!(check_stack_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn certificates_must_be_acm_arns_in_the_stack_region() {
        let arn =
            "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
        assert!(check_certificate_arn(arn, "eu-west-1").is_ok());
        assert!(
            check_certificate_arn(arn, "us-east-1")
                .unwrap_err()
                .message
                .contains("own Region")
        );
        assert!(
            check_certificate_arn(
                "arn:aws:iam::123456789012:server-certificate/x",
                "eu-west-1"
            )
            .is_err()
        );
    }

    #[test]
    fn deployment_configs_take_short_and_full_names() {
        assert_eq!(
            resolve_deployment_config("AllAtOnce").unwrap(),
            "CodeDeployDefault.ECSAllAtOnce"
        );
        assert_eq!(
            resolve_deployment_config("CodeDeployDefault.ECSCanary10Percent5Minutes").unwrap(),
            "CodeDeployDefault.ECSCanary10Percent5Minutes"
        );
        assert!(resolve_deployment_config("Linear").is_err());
    }

    #[test]
    fn repositories_and_branches_are_checked() {
        assert!(check_github_repository("my-org/my.app_1").is_ok());
        assert!(check_github_repository("my-org").is_err());
        assert!(check_github_repository("a/b/c").is_err());
        assert!(check_github_repository("org/\"${x}\"").is_err());
        assert!(check_branch("release/2026.11").is_ok());
        // Git allows these; emit-hcl escapes them as literal HCL text.
        assert!(check_branch("a\"${b}").is_ok());
        for bad in ["", "a..b", "-x", "a b", "x.lock", "a:b", "a\\b", "a@{b"] {
            assert!(check_branch(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lifecycle_hooks_need_a_known_stage_and_a_lambda_arn_in_the_region() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test";
        let hook =
            parse_lifecycle_hook(&format!("POST_TEST_TRAFFIC_SHIFT={arn}"), "us-east-1").unwrap();
        assert_eq!(hook.stage, "POST_TEST_TRAFFIC_SHIFT");
        assert!(
            parse_lifecycle_hook(&format!("AFTER_TRAFFIC={arn}"), "us-east-1")
                .unwrap_err()
                .message
                .contains("not an ECS deployment stage")
        );
        assert!(
            parse_lifecycle_hook("PRE_SCALE_UP=smoke-test", "us-east-1")
                .unwrap_err()
                .message
                .contains("not a Lambda function ARN")
        );
        assert!(
            parse_lifecycle_hook(
                "PRE_SCALE_UP=arn:aws:sns:us-east-1:123456789012:topic",
                "us-east-1"
            )
            .is_err()
        );
        assert!(
            parse_lifecycle_hook(&format!("PRE_SCALE_UP={arn}"), "eu-west-1")
                .unwrap_err()
                .message
                .contains("Region")
        );
    }

    #[test]
    fn ecs_bake_times_and_percents_are_bounded() {
        assert!(minutes("--bake-time", 1440).is_ok());
        assert!(minutes("--bake-time", 1441).is_err());
        assert!(percent("--canary-percent", 0.1, 0.1).is_ok());
        assert!(percent("--canary-percent", 0.05, 0.1).is_err());
        assert!(percent("--linear-step-percent", 2.0, 3.0).is_err());
        assert!(percent("--linear-step-percent", 100.5, 3.0).is_err());
    }
}
