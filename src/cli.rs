//! The command line as clap sees it: every subcommand and flag, with the help text users read.
//! Raw values only; `config` turns them into checked settings before any work starts.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success
  1  failure: bad input, an AWS error, a file that could not be written
  2  usage: the command line itself is wrong";

const DEPLOY_EXIT_STATUS_HELP: &str = "\
Exit status:
  0    the deployment completed (or, with --no-wait or --dry-run, was started or shown)
  1    failure: bad input, an AWS error, a deployment that failed or ran out of time (then
       rolled back)
  2    usage: the command line itself is wrong
  130  interrupted (SIGINT or SIGTERM): the deployment was rolled back";

const RUN_EXIT_STATUS_HELP: &str = "\
Exit status:
  0    the command exited 0
  N    the command exited N (its code modulo 256; 1 for a multiple of 256)
  1    failure: bad input, an AWS error, a task that never ran the command, or --timeout
  2    usage: the command line itself is wrong
  130  interrupted (SIGINT or SIGTERM): the task was stopped";

/// Build-stage artifacts for Amazon ECS blue/green deployments: taskdef.json, appspec.yaml,
/// imageDetail.json.
#[derive(Debug, Parser)]
#[command(name = "bgtool", version = env!("BGTOOL_LONG_VERSION"), after_help = EXIT_STATUS_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The process's command line. Run with no argument where AWS_LAMBDA_RUNTIME_API is set (the
    /// binary as a Lambda function's `bootstrap`), it is `bgtool hook --lambda`.
    #[must_use]
    pub fn from_process() -> Self {
        let mut arguments: Vec<std::ffi::OsString> = std::env::args_os().collect();
        if arguments.len() == 1 && std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
            arguments.extend(["hook".into(), "--lambda".into()]);
        }
        Self::parse_from(arguments)
    }
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once per process")]
pub enum Command {
    /// Write a registerable taskdef.json from a live or saved task definition.
    ///
    /// Read-only fields that RegisterTaskDefinition rejects are removed, null values are dropped,
    /// the task definition's tags are moved into the document, and everything else is kept
    /// exactly as ECS returned it, in ECS's order.
    #[command(after_help = EXIT_STATUS_HELP)]
    Taskdef(TaskdefArgs),

    /// Write a validated appspec.yaml, from a template or from flags.
    ///
    /// With --template, `$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR-default}` are replaced from
    /// the environment, --env-file and --set (later ones win); `$$` is a literal `$`. A variable
    /// that is not set and has no default is an error: nothing is written. Without --template the
    /// AppSpec is generated from the flags, or from a live service with --from-service. Either way
    /// the result is validated before it is written.
    #[command(after_help = EXIT_STATUS_HELP)]
    RenderAppspec(RenderAppspecArgs),

    /// Write imageDetail.json for CodePipeline's CodeDeployToECS action.
    #[command(after_help = EXIT_STATUS_HELP)]
    ImageDetail(ImageDetailArgs),

    /// Write imagedefinitions.json for CodePipeline's standard ECS deploy action.
    #[command(after_help = EXIT_STATUS_HELP)]
    ImageDefinitions(ImageDefinitionsArgs),

    /// Write the whole blue/green stack as Terraform: VPC, load balancer, ECS, IAM, ECR,
    /// CodeBuild, CodeDeploy and CodePipeline.
    ///
    /// For Terraform 1.5 or newer and the hashicorp/aws provider: 5.100 or newer for the CodeDeploy
    /// strategy, 6.21 or newer for the ECS-native one. By default one file on standard
    /// output (`bgtool emit-hcl > main.tf`); with --out-dir a module directory, with the
    /// buildspec.yml and appspec_template.yaml the stack expects. Every value is checked against
    /// AWS's naming rules before anything is written.
    #[command(after_help = EXIT_STATUS_HELP)]
    EmitHcl(EmitHclArgs),

    /// Register a task definition and deploy it to an ECS service, watched to the end.
    ///
    /// Registers taskdef.json exactly as written (images from --image; an `<IMAGEn_NAME>`
    /// placeholder left over is an error), then deploys it the way the service is deployed: with
    /// the ECS controller (rolling, or ECS's own blue/green, linear and canary), UpdateService;
    /// with CODE_DEPLOY, a CodeDeploy deployment of an AppSpec naming the new revision. Prints
    /// each change of state until the deployment ends; a failure is explained (the reason, failed
    /// lifecycle hooks, the stopped tasks' reasons and exit codes). When the wait runs out, or on
    /// SIGINT/SIGTERM, the deployment is rolled back and bgtool waits until the service is back.
    /// No task definition is ever deregistered. Prints the registered ARN on standard output.
    #[command(after_help = DEPLOY_EXIT_STATUS_HELP)]
    Deploy(DeployArgs),

    /// Wait for a service's deployment in progress to end, printing each change of state.
    ///
    /// Exit 0 when it completes, 1 when it fails or the wait runs out. Stopping the wait (SIGINT,
    /// SIGTERM) leaves the deployment running; `bgtool rollback` stops it.
    #[command(after_help = DEPLOY_EXIT_STATUS_HELP)]
    Wait(WaitArgs),

    /// Roll back a service's deployment in progress (StopServiceDeployment with ROLLBACK) and
    /// wait until the service runs its previous revision again.
    #[command(after_help = DEPLOY_EXIT_STATUS_HELP)]
    Rollback(WaitArgs),

    /// Give a held CodeDeploy deployment its go-ahead (ContinueDeployment): move traffic to the
    /// replacement task set now, when the deployment group waits for one (`deployment_ready_option`
    /// with STOP_DEPLOYMENT), or with `--termination`, end the original task set's termination wait.
    ///
    /// Returns once CodeDeploy has accepted it; `bgtool wait` follows the deployment on.
    #[command(after_help = EXIT_STATUS_HELP)]
    Continue(ContinueArgs),

    /// Run a command in a one-off task beside a service (a database migration, say) and exit
    /// with its exit code.
    ///
    /// Registers --taskdef (or takes --task-definition), starts one task placed as the service
    /// places its own (network configuration, capacity provider strategy or launch type, platform
    /// version), with the command after `--` in place of the container's, run as given: no shell.
    /// Prints the container's log lines on standard output while it runs (awslogs), waits until
    /// the task stops, and exits with the container's exit code. A task that never runs the
    /// command (image pull, secrets, network, capacity) exits 1 with ECS's reasons. SIGINT,
    /// SIGTERM and --timeout stop the task (StopTask) before bgtool exits.
    #[command(after_help = RUN_EXIT_STATUS_HELP)]
    Run(RunArgs),

    /// Deregister a task definition family's old revisions, never one still in use.
    ///
    /// Keeps the --keep newest ACTIVE revisions, those named by --keep-revision, and every
    /// revision something in the searched clusters uses: a service's own revision, each of its
    /// deployments' and task sets' (what a rollback returns to, since UpdateService refuses an
    /// INACTIVE revision), and each running or pending task's. Prints each kept revision with
    /// why, then deregisters the rest oldest first, printing each as ECS accepts it: a rerun after
    /// a failure or an interruption continues where it stopped. With --delete-inactive-after,
    /// INACTIVE revisions deregistered at least that many days ago are deleted too
    /// (DeleteTaskDefinitions), under the same rules. --dry-run prints the plan and changes
    /// nothing. A throttled call is tried up to 10 times, with backoff (unless
    /// AWS_MAX_ATTEMPTS or AWS_RETRY_MODE say otherwise).
    ///
    /// Uses outside ECS are not seen (an EventBridge schedule or a Step Functions state naming a
    /// revision, the revision in Terraform's state): keep those with --keep-revision.
    #[command(after_help = EXIT_STATUS_HELP)]
    Prune(PruneArgs),

    /// Check a task definition against AWS before it is deployed, reading nothing secret.
    ///
    /// Each ECR image exists (DescribeImages) and, for a multi-platform image, has the task's
    /// architecture; each secret exists (DescribeSecret), with the version stage or ID it names,
    /// and its JSON key with --read-secrets (which reads the value); each SSM parameter exists
    /// (DescribeParameters); the execution and task roles exist and trust
    /// ecs-tasks.amazonaws.com, and IAM's policy simulator says the execution role may pull each
    /// image, read each secret and parameter, decrypt with each customer managed key and write
    /// each log group; each awslogs group exists or is created by the driver. With --service,
    /// the load balancers' container and port exist and each target group's health check port
    /// is one the container maps. Prints one line per finding (error, warning, note) and a
    /// summary; exit 1 on any error. A check the identity may not make is a warning naming the
    /// IAM action. Images outside ECR are noted, not checked.
    #[command(after_help = EXIT_STATUS_HELP)]
    Verify(VerifyArgs),

    /// Smoke-test a release over HTTP: from a shell against any URL, or as the Lambda function of
    /// a CodeDeploy or ECS lifecycle hook.
    ///
    /// Each --check is `[METHOD] PATH|URL [status=CODES] [contains=TEXT] [within=DURATION]
    /// [requests=N] [may-fail=K]`: by default one GET that must answer 2xx within 5 s (e.g.
    /// `--check '/health status=200 requests=5 may-fail=1'`). Prints one line per check; exit 1
    /// when any fails. A request that cannot be sent fails its check.
    ///
    /// As a Lambda function (the static binary as `bootstrap` on provided.al2023, where
    /// AWS_LAMBDA_RUNTIME_API is set and no argument is given, or with --lambda), the checks come
    /// from BGTOOL_HOOK_CHECKS (one per line, or separated by `;`) and BGTOOL_HOOK_BASE_URL, or
    /// from an ECS hook's `hookDetails` (`{"baseUrl": …, "checks": […]}`). A CodeDeploy hook's
    /// result goes to PutLifecycleEventHookExecutionStatus; an ECS hook gets `hookStatus`. With no
    /// check to run, or one that cannot run, the hook fails: it never reports success untested.
    #[command(after_help = EXIT_STATUS_HELP)]
    Hook(HookArgs),

    /// Validate existing appspec and taskdef files; exit 1 on any problem.
    #[command(after_help = EXIT_STATUS_HELP)]
    Check(CheckArgs),

    /// Print a shell completion script, e.g. `bgtool completions bash > /etc/bash_completion.d/bgtool`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Print the manual page (roff), e.g. `bgtool man > /usr/local/share/man/man1/bgtool.1`.
    Man,
}

#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("source")
        .required(true)
        .args(["task_definition", "service", "input"]),
))]
pub struct TaskdefArgs {
    /// Describe this task definition: FAMILY (its latest ACTIVE revision), FAMILY:REVISION or a
    /// full ARN.
    #[arg(long, value_name = "REFERENCE")]
    pub task_definition: Option<String>,

    /// Use the task definition this ECS service runs now (with --cluster). For the CODE_DEPLOY
    /// deployment controller that is the PRIMARY task set's.
    #[arg(long, value_name = "NAME", requires = "cluster")]
    pub service: Option<String>,

    /// The cluster of --service or --against-live: a name or an ARN.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,

    /// Read a saved `aws ecs describe-task-definition` output (with or without its
    /// `taskDefinition` wrapper) instead of calling AWS; `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// Set a container's image: CONTAINER=URI. A bare URI is allowed when the task definition has
    /// exactly one container. Repeatable.
    #[arg(long, value_name = "[CONTAINER=]URI")]
    pub image: Vec<String>,

    /// Write a placeholder as this container's image, for CodeDeployToECS to fill in:
    /// `<IMAGE1_NAME>` for the first container named, `<IMAGE2_NAME>` for a second, up to four.
    #[arg(long, value_name = "CONTAINER")]
    pub image_placeholder: Vec<String>,

    /// Write to FILE (atomically: complete or not at all) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Set an environment variable of a container (added, or replaced where it stands). `""` is
    /// a value. Repeatable.
    #[arg(
        long = "env",
        value_name = "CONTAINER:NAME=VALUE",
        help_heading = "Container edits (all applied, or nothing written)"
    )]
    pub environment: Vec<String>,

    /// Set a container's environment variables from a dotenv file: NAME=VALUE lines, `#`
    /// comments, optional `export` and quotes. Repeatable.
    #[arg(
        long = "env-file",
        value_name = "CONTAINER:FILE",
        help_heading = "Container edits (all applied, or nothing written)"
    )]
    pub environment_file: Vec<String>,

    /// Remove an environment variable from a container. Repeatable.
    #[arg(
        long = "unset-env",
        value_name = "CONTAINER:NAME",
        help_heading = "Container edits (all applied, or nothing written)"
    )]
    pub unset_environment: Vec<String>,

    /// Set a container's secret to a Secrets Manager secret ARN or SSM parameter ARN (its
    /// `valueFrom`). Repeatable.
    #[arg(
        long,
        value_name = "CONTAINER:NAME=ARN",
        help_heading = "Container edits (all applied, or nothing written)"
    )]
    pub secret: Vec<String>,

    /// Remove a secret from a container. Repeatable.
    #[arg(
        long,
        value_name = "CONTAINER:NAME",
        help_heading = "Container edits (all applied, or nothing written)"
    )]
    pub unset_secret: Vec<String>,

    /// The container's environment becomes exactly what --env and --env-file give it; every
    /// other variable is removed. Repeatable.
    #[arg(
        long = "exclusive-env",
        value_name = "CONTAINER",
        help_heading = "Container edits (all applied, or nothing written)"
    )]
    pub exclusive_environment: Vec<String>,

    /// Compare with the task definition this service runs now (with --cluster) when the source is
    /// a family, a revision or a saved file: the change report. With --service it compares with
    /// that service.
    #[arg(
        long,
        value_name = "SERVICE",
        conflicts_with = "service",
        help_heading = "Change report"
    )]
    pub against_live: Option<String>,

    /// Refuse to write when production would lose an environment variable, secret, container or
    /// port (exit 1, nothing written).
    #[arg(long, help_heading = "Change report")]
    pub fail_on_drop: bool,

    /// Also write the change report to FILE as FORMAT (json), for CI annotations; written even
    /// when --fail-on-drop refuses.
    #[arg(
        long,
        num_args = 2,
        value_names = ["FORMAT", "FILE"],
        help_heading = "Change report"
    )]
    pub report: Vec<String>,

    /// No change report, even with --service.
    #[arg(
        long,
        conflicts_with_all = ["fail_on_drop", "report", "against_live"],
        help_heading = "Change report"
    )]
    pub no_report: bool,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("generated")
        .multiple(true)
        .args([
            "container_name", "container_port", "task_definition", "platform_version", "subnets",
            "security_groups", "assign_public_ip", "capacity_provider", "hook", "from_service", "format",
        ]),
))]
pub struct RenderAppspecArgs {
    /// Render this template (YAML or JSON; `-` reads standard input). Its comments and layout are
    /// kept.
    #[arg(long, value_name = "FILE", conflicts_with = "generated")]
    pub template: Option<PathBuf>,

    /// Read variables from FILE: `KEY=VALUE` lines, `#` comments. Wins over the environment.
    #[arg(long, value_name = "FILE", requires = "template")]
    pub env_file: Option<PathBuf>,

    /// Set a variable; wins over the environment and --env-file. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", requires = "template")]
    pub set: Vec<String>,

    /// Cross-check against this taskdef.json: the container must exist and expose the port.
    #[arg(long, value_name = "FILE")]
    pub taskdef: Option<PathBuf>,

    /// Write to FILE (atomically) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The container the load balancer sends traffic to.
    #[arg(long, value_name = "NAME", help_heading = "Generated AppSpec")]
    pub container_name: Option<String>,

    /// That container's port, 1-65535.
    #[arg(long, value_name = "PORT", help_heading = "Generated AppSpec")]
    pub container_port: Option<String>,

    /// The task definition to deploy: a full ARN with a revision, or CodePipeline's placeholder.
    #[arg(
        long,
        value_name = "ARN",
        help_heading = "Generated AppSpec",
        default_value = "<TASK_DEFINITION>"
    )]
    pub task_definition: String,

    /// Fargate platform version, e.g. LATEST or 1.4.0.
    #[arg(long, value_name = "VERSION", help_heading = "Generated AppSpec")]
    pub platform_version: Option<String>,

    /// Subnets for the tasks, comma-separated.
    #[arg(long, value_name = "ID,ID", help_heading = "Generated AppSpec")]
    pub subnets: Option<String>,

    /// Security groups for the tasks, comma-separated.
    #[arg(long, value_name = "ID,ID", help_heading = "Generated AppSpec")]
    pub security_groups: Option<String>,

    /// Give the tasks public IP addresses: ENABLED or DISABLED.
    #[arg(
        long,
        value_name = "ENABLED|DISABLED",
        help_heading = "Generated AppSpec"
    )]
    pub assign_public_ip: Option<String>,

    /// A capacity provider: NAME[:BASE[:WEIGHT]]. Repeatable.
    #[arg(
        long,
        value_name = "NAME[:BASE[:WEIGHT]]",
        help_heading = "Generated AppSpec"
    )]
    pub capacity_provider: Vec<String>,

    /// A lifecycle hook: PHASE=FUNCTION, PHASE one of BeforeInstall, AfterInstall,
    /// AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic. Repeatable.
    #[arg(
        long,
        value_name = "PHASE=FUNCTION",
        help_heading = "Generated AppSpec"
    )]
    pub hook: Vec<String>,

    /// Read container, port, network configuration, platform version and capacity providers from
    /// this live ECS service (with --cluster); flags given as well win.
    #[arg(
        long,
        value_name = "NAME",
        requires = "cluster",
        help_heading = "Generated AppSpec"
    )]
    pub from_service: Option<String>,

    /// The cluster of --from-service.
    #[arg(
        long,
        value_name = "NAME",
        requires = "from_service",
        help_heading = "Generated AppSpec"
    )]
    pub cluster: Option<String>,

    /// Output format of a generated AppSpec.
    #[arg(long, value_enum, default_value_t = Format::Yaml, help_heading = "Generated AppSpec")]
    pub format: Format,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("files").required(true).multiple(true).args(["appspec", "taskdef"])))]
pub struct CheckArgs {
    /// An appspec.yaml or appspec.json to validate.
    #[arg(long, value_name = "FILE")]
    pub appspec: Option<PathBuf>,

    /// A taskdef.json to validate as RegisterTaskDefinition input (and, with --appspec, to
    /// cross-check the container and port against). Also lints it: plaintext secrets, `valueFrom`
    /// in `environment`, no essential container, Fargate sizes Fargate does not offer, untagged or
    /// `latest` images, containers without logs, duplicate names, awsvpc host ports.
    #[arg(long, value_name = "FILE")]
    pub taskdef: Option<PathBuf>,

    /// Treat lint findings as errors (exit 1) instead of warnings.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct EmitHclArgs {
    /// Name of the application; prefixes every resource. 2 to 26 lowercase letters, digits and
    /// hyphens (the load balancer's target groups add -blue and -green within AWS's 32).
    #[arg(long, value_name = "NAME", default_value = "bgtool-demo")]
    pub name: String,

    /// AWS Region of the stack.
    #[arg(long, value_name = "REGION", default_value = "us-east-1")]
    pub region: String,

    /// Number of Availability Zones (2 to 6).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub azs: u8,

    /// Run the tasks in private subnets behind NAT gateways, with no public IPs.
    #[arg(long)]
    pub private_subnets: bool,

    /// ACM certificate for HTTPS: listeners on 443 (and 8443 for tests) with a TLS 1.3 policy, and
    /// port 80 redirected. Without it, the listeners serve HTTP.
    #[arg(long, value_name = "ARN")]
    pub certificate_arn: Option<String>,

    /// Name of the application container.
    #[arg(long, value_name = "NAME", default_value = "app")]
    pub container_name: String,

    /// Port the application container listens on.
    #[arg(long, value_name = "PORT", default_value_t = 80)]
    pub container_port: u16,

    /// Fargate task CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384.
    #[arg(long, value_name = "UNITS", default_value_t = 256)]
    pub cpu: u32,

    /// Fargate task memory in MiB, a size Fargate offers for the CPU.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    pub memory: u32,

    /// Number of tasks.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub desired_count: u32,

    /// Path the target groups' health checks request.
    #[arg(long, value_name = "PATH", default_value = "/")]
    pub health_check_path: String,

    /// A command the pipeline runs before each deployment in a one-off task of the new revision,
    /// in the application container, beside the service (a database migration, e.g.
    /// `bin/rails db:migrate`); the deployment goes ahead only if it exits 0. Words are split on
    /// spaces and passed as they are: no shell. Sets the stack's `migrate_command`.
    #[arg(long, value_name = "COMMAND")]
    pub migrate_command: Option<String>,

    /// GitHub repository the pipeline builds, OWNER/NAME.
    #[arg(long, value_name = "OWNER/NAME", default_value = "my-org/my-app")]
    pub github_repo: String,

    /// Branch that triggers the pipeline.
    #[arg(long, value_name = "BRANCH", default_value = "main")]
    pub branch: String,

    /// Who runs the blue/green deployment: CodeDeploy (CodeDeployToECS pipeline action), or ECS
    /// itself (deployment strategy on the service; the pipeline's Deploy stage runs `bgtool
    /// deploy` in CodeBuild).
    #[arg(long, value_enum, default_value_t = StrategyArg::Codedeploy)]
    pub strategy: StrategyArg,

    /// With --strategy codedeploy, how CodeDeploy shifts traffic: AllAtOnce,
    /// Linear10PercentEvery1Minutes, Linear10PercentEvery3Minutes, Canary10Percent5Minutes or
    /// Canary10Percent15Minutes (or the full CodeDeployDefault.ECS… name) [default: AllAtOnce].
    #[arg(long, value_name = "CONFIG")]
    pub deployment_config: Option<String>,

    /// With --strategy ecs-native, how ECS shifts traffic [default: blue-green].
    #[arg(
        long,
        value_enum,
        value_name = "KIND",
        help_heading = "ECS-native deployments"
    )]
    pub strategy_kind: Option<StrategyKindArg>,

    /// Minutes ECS keeps the old tasks after production traffic has moved, for a fast rollback
    /// (0-1440) [default: 10].
    #[arg(long, value_name = "MINUTES", help_heading = "ECS-native deployments")]
    pub bake_time: Option<u32>,

    /// Canary: percent of production traffic the new version gets first (0.1-100) [default: 10].
    #[arg(long, value_name = "PERCENT", help_heading = "ECS-native deployments")]
    pub canary_percent: Option<f64>,

    /// Canary: minutes before the rest of the traffic moves (0-1440) [default: 5].
    #[arg(long, value_name = "MINUTES", help_heading = "ECS-native deployments")]
    pub canary_bake_time: Option<u32>,

    /// Linear: percent of production traffic moved per step (3-100) [default: 10].
    #[arg(long, value_name = "PERCENT", help_heading = "ECS-native deployments")]
    pub linear_step_percent: Option<f64>,

    /// Linear: minutes between steps (0-1440) [default: 1].
    #[arg(long, value_name = "MINUTES", help_heading = "ECS-native deployments")]
    pub linear_step_bake_time: Option<u32>,

    /// A Lambda function ECS calls at a deployment stage: STAGE=FUNCTION_ARN, STAGE one of
    /// RECONCILE_SERVICE, PRE_SCALE_UP, POST_SCALE_UP, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT,
    /// PRODUCTION_TRAFFIC_SHIFT, POST_PRODUCTION_TRAFFIC_SHIFT. Repeatable.
    #[arg(
        long,
        value_name = "STAGE=ARN",
        help_heading = "ECS-native deployments"
    )]
    pub lifecycle_hook: Vec<String>,

    /// A smoke test of every release on the test listener, before production traffic (repeatable):
    /// a `bgtool hook` check such as `/health` or `'/api/version status=200 contains=1.'`. Adds
    /// the hook's Lambda function (the build's bgtool as `bootstrap`, in the tasks' subnets),
    /// its log group and least-privilege role, and wires it as the AfterAllowTestTraffic AppSpec
    /// hook (CodeDeploy) or the POST_TEST_TRAFFIC_SHIFT lifecycle hook (ECS-native): a release
    /// that fails it is rolled back. In public subnets it reaches the load balancer inside the
    /// VPC, through interface endpoints for EC2 (and CodeDeploy). Needs --out-dir; with
    /// --certificate-arn, --private-subnets too.
    #[arg(long, value_name = "CHECK")]
    pub smoke_test: Vec<String>,

    /// Write a module directory (created if missing) instead of one file on standard output. It
    /// holds the build's bgtool too: this binary when it is a static Linux x86_64 release build,
    /// or --bgtool-binary.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// The bgtool binary the pipeline's build runs, copied into the module directory as `bgtool`
    /// and uploaded by Terraform: a static Linux x86_64 executable, such as the
    /// bgtool-VERSION-x86_64-linux release file.
    #[arg(
        long,
        value_name = "PATH",
        requires = "out_dir",
        conflicts_with = "bgtool_url",
        help_heading = "The build's bgtool"
    )]
    pub bgtool_binary: Option<PathBuf>,

    /// Instead of a binary in the module, the build downloads bgtool from this HTTPS URL (a
    /// release you host) and checks it against --bgtool-sha256.
    #[arg(
        long,
        value_name = "URL",
        requires = "bgtool_sha256",
        help_heading = "The build's bgtool"
    )]
    pub bgtool_url: Option<String>,

    /// SHA-256 of the binary at --bgtool-url, 64 hexadecimal digits.
    #[arg(
        long,
        value_name = "HEX",
        requires = "bgtool_url",
        help_heading = "The build's bgtool"
    )]
    pub bgtool_sha256: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StrategyArg {
    Codedeploy,
    EcsNative,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StrategyKindArg {
    BlueGreen,
    Canary,
    Linear,
}

#[derive(Debug, Args)]
pub struct ImageDefinitionsArgs {
    /// A container and the image it runs: NAME=URI. Repeatable, one per container to update.
    #[arg(long, value_name = "NAME=URI", required = true)]
    pub container: Vec<String>,

    /// Write to FILE (atomically) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImageDetailArgs {
    /// The image that was built and pushed, e.g. ACCOUNT.dkr.ecr.REGION.amazonaws.com/app:TAG.
    #[arg(long, value_name = "URI")]
    pub image_uri: String,

    /// Write to FILE (atomically) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// How to reach AWS. Credentials come from the SDK's default chain: environment, profiles, SSO,
/// CodeBuild/ECS container credentials, EC2 instance metadata.
#[derive(Debug, Args)]
#[command(next_help_heading = "AWS")]
pub struct AwsArgs {
    /// AWS Region [default: AWS_REGION, then the profile's region].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Named profile from the AWS config files [default: AWS_PROFILE, then `default`].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Seconds to wait for a connection to AWS.
    #[arg(long, value_name = "SECONDS", default_value = "5")]
    pub connect_timeout: String,

    /// Seconds the whole AWS operation may take, retries included (retries follow
    /// AWS_MAX_ATTEMPTS and AWS_RETRY_MODE).
    #[arg(long, value_name = "SECONDS", default_value = "60")]
    pub timeout: String,

    /// Report every attempt of every AWS call on standard error (retries included).
    #[arg(long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each is one independent switch of the command line"
)]
pub struct DeployArgs {
    /// The cluster of the service.
    #[arg(long, value_name = "NAME")]
    pub cluster: String,

    /// The service to deploy to (ECS or CODE_DEPLOY deployment controller).
    #[arg(long, value_name = "NAME")]
    pub service: String,

    /// The task definition to register: a taskdef.json as `bgtool taskdef` writes it, or a saved
    /// DescribeTaskDefinition output; `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub taskdef: PathBuf,

    /// Set a container's image: CONTAINER=URI (fills an `<IMAGEn_NAME>` placeholder too). A bare
    /// URI is allowed when the task definition has exactly one container. Repeatable.
    #[arg(long, value_name = "[CONTAINER=]URI")]
    pub image: Vec<String>,

    /// Return once the deployment has started, without watching it.
    #[arg(long)]
    pub no_wait: bool,

    /// If a deployment of the service is already in progress, wait for it to end, then deploy
    /// [default: refuse, naming it].
    #[arg(long)]
    pub wait_for_running: bool,

    /// Register nothing and deploy nothing: print what production would gain and lose, and the
    /// task definition (ECS) or AppSpec (CodeDeploy) that would be sent.
    #[arg(long)]
    pub dry_run: bool,

    /// Skip the checks of `bgtool verify`, which otherwise run first: a task definition with an
    /// error (an image that is not in ECR, a missing secret or log group, an execution role ECS
    /// cannot assume or that may not read a secret) is never registered or deployed.
    #[arg(long)]
    pub no_verify: bool,

    /// Seconds the whole command may take: waiting for an earlier deployment
    /// (`--wait-for-running`), this deployment and its rollback all end within them. The last
    /// third (at most 30 minutes) is kept for a rollback; the watches are cut to fit the rest.
    /// Give less than the CI job's own time limit, so bgtool, not the CI, decides what happens
    /// at the end. With `--no-wait`, only an earlier deployment's wait is bounded [default: no
    /// overall bound].
    #[arg(long, value_name = "SECONDS")]
    pub deadline: Option<String>,

    /// CodeDeploy services: the AppSpec to send, YAML or JSON; its TaskDefinition is set to the
    /// registered revision [default: generated from the service, as `render-appspec
    /// --from-service` does].
    #[arg(long, value_name = "FILE", help_heading = "CodeDeploy services")]
    pub appspec: Option<PathBuf>,

    /// A command that decides whether the deployment goes on, run (with `sh -c`) while the
    /// deployment holds with test traffic on the new version: CodeDeploy's ready wait (a group
    /// whose `deployment_ready_option` is STOP_DEPLOYMENT), or an ECS PAUSE lifecycle hook. Exit
    /// 0 continues the deployment (ContinueDeployment, ContinueServiceDeployment); anything else
    /// rolls it back. It gets BGTOOL_CLUSTER, BGTOOL_SERVICE and BGTOOL_DEPLOYMENT_ID; its output
    /// goes to standard error.
    #[arg(long, value_name = "COMMAND")]
    pub gate: Option<String>,

    /// During a canary or linear shift, while both versions take production traffic, compare
    /// the new version's target group (green) with the old one's (blue) once a minute: requests,
    /// 5xx answers and p99 latency from CloudWatch (GetMetricData), printed each time. Green
    /// worse than blue by the rule of the `--compare-*` flags rolls the deployment back.
    #[arg(long, help_heading = "Comparing green with blue")]
    pub compare: bool,

    /// Fewer requests than this on either target group over the split is not enough data.
    #[arg(
        long,
        value_name = "COUNT",
        default_value = "100",
        requires = "compare",
        help_heading = "Comparing green with blue"
    )]
    pub compare_min_requests: String,

    /// Green is worse when its 5xx rate is more than this many percentage points above blue's
    /// (and past `--compare-error-factor`).
    #[arg(
        long,
        value_name = "POINTS",
        default_value = "1",
        requires = "compare",
        help_heading = "Comparing green with blue"
    )]
    pub compare_error_margin: String,

    /// Green is worse when its 5xx rate is more than this many times blue's (and past
    /// `--compare-error-margin`).
    #[arg(
        long,
        value_name = "FACTOR",
        default_value = "2",
        requires = "compare",
        help_heading = "Comparing green with blue"
    )]
    pub compare_error_factor: String,

    /// Green is worse when its p99 latency is more than this many milliseconds above blue's (and
    /// past `--compare-latency-factor`).
    #[arg(
        long,
        value_name = "MILLISECONDS",
        default_value = "100",
        requires = "compare",
        help_heading = "Comparing green with blue"
    )]
    pub compare_latency_margin: String,

    /// Green is worse when its p99 latency is more than this many times blue's (and past
    /// `--compare-latency-margin`).
    #[arg(
        long,
        value_name = "FACTOR",
        default_value = "1.5",
        requires = "compare",
        help_heading = "Comparing green with blue"
    )]
    pub compare_latency_factor: String,

    /// When the split ends without enough data to judge (too little traffic, metrics that could
    /// not be read) or green and blue cannot be told apart: go on (the alarms still judge the
    /// deployment) or roll back.
    #[arg(
        long,
        value_name = "WHAT",
        default_value = "continue",
        requires = "compare",
        help_heading = "Comparing green with blue"
    )]
    pub compare_without_data: WithoutDataArg,

    /// CodeDeploy services: a lifecycle hook in the generated AppSpec, PHASE=FUNCTION (as
    /// `render-appspec --hook`), e.g. the stack's smoke test
    /// `AfterAllowTestTraffic=NAME-smoke-test` (its `deploy_arguments` output names it).
    /// Repeatable.
    #[arg(
        long,
        value_name = "PHASE=FUNCTION",
        conflicts_with = "appspec",
        help_heading = "CodeDeploy services"
    )]
    pub hook: Vec<String>,

    /// CodeDeploy services: the deployment configuration for this deployment only, e.g.
    /// CodeDeployDefault.ECSCanary10Percent5Minutes [default: the deployment group's].
    #[arg(long, value_name = "NAME", help_heading = "CodeDeploy services")]
    pub deployment_config: Option<String>,

    /// Before deploying, run the command after `--` in this container of the revision being
    /// deployed, in a one-off task beside the service (as `bgtool run` does: its network, its
    /// log lines on standard output), and deploy only if it exits 0: a database migration.
    #[arg(long, value_name = "CONTAINER")]
    pub run_first: Option<String>,

    /// Seconds the --run-first task may run; then it is stopped and nothing is deployed.
    #[arg(long, value_name = "SECONDS", default_value = "3600")]
    pub run_first_timeout: String,

    #[command(flatten)]
    pub watch: WatchArgs,

    /// The --run-first command and its arguments, after `--`, run as given (no shell).
    #[arg(last = true, value_name = "COMMAND", requires = "run_first")]
    pub run_command: Vec<String>,
}

/// `deploy --compare-without-data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WithoutDataArg {
    Continue,
    RollBack,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The cluster of the service.
    #[arg(long, value_name = "NAME")]
    pub cluster: String,

    /// The service whose deployment to follow.
    #[arg(long, value_name = "NAME")]
    pub service: String,

    /// The deployment to follow: `ecs-svc/…` (ECS) or `d-…` (CodeDeploy) [default: the one in
    /// progress].
    #[arg(long, value_name = "ID")]
    pub deployment: Option<String>,

    #[command(flatten)]
    pub watch: WatchArgs,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    /// A check (repeatable): `[METHOD] PATH|URL [status=CODES] [contains=TEXT]
    /// [within=DURATION] [requests=N] [may-fail=K]`.
    #[arg(
        long = "check",
        value_name = "CHECK",
        required_unless_present = "lambda"
    )]
    pub checks: Vec<String>,

    /// Where the checks' paths are requested: the release's test listener, e.g.
    /// `http://internal-web-123.eu-west-1.elb.amazonaws.com:8080`.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// Serve lifecycle hook invocations through the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API).
    #[arg(long, conflicts_with_all = ["checks", "base_url"])]
    pub lambda: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("revision").required(true).args(["taskdef", "task_definition"])))]
pub struct RunArgs {
    /// The cluster of the service.
    #[arg(long, value_name = "NAME")]
    pub cluster: String,

    /// The service whose network configuration, capacity provider strategy or launch type, and
    /// platform version the task gets.
    #[arg(long, value_name = "NAME")]
    pub service: String,

    /// A task definition to register and run: a taskdef.json as `bgtool taskdef` writes it, or a
    /// saved DescribeTaskDefinition output; `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub taskdef: Option<PathBuf>,

    /// With --taskdef, set a container's image: CONTAINER=URI, or a bare URI when there is one
    /// container. Repeatable.
    #[arg(long, value_name = "[CONTAINER=]URI", requires = "taskdef")]
    pub image: Vec<String>,

    /// A registered revision to run: `family:revision`, a family (its newest ACTIVE revision),
    /// or an ARN.
    #[arg(long, value_name = "REVISION")]
    pub task_definition: Option<String>,

    /// The container the command runs in [default: the only container, or the only essential
    /// one].
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,

    /// Seconds the task may run; then it is stopped and bgtool exits 1.
    #[arg(long, value_name = "SECONDS", default_value = "3600")]
    pub timeout: String,

    /// Seconds between looks at the task and its log stream.
    #[arg(long, value_name = "SECONDS", default_value = "5")]
    pub poll_interval: String,

    /// AWS Region [default: AWS_REGION, then the profile's region].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Named profile from the AWS config files [default: AWS_PROFILE, then `default`].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Seconds to wait for a connection to AWS.
    #[arg(long, value_name = "SECONDS", default_value = "5")]
    pub connect_timeout: String,

    /// Report every attempt of every AWS call on standard error (retries included).
    #[arg(long)]
    pub verbose: bool,

    /// The command and its arguments, after `--`: e.g. `-- bin/rails db:migrate`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A task definition file: a taskdef.json as `bgtool taskdef` writes it, or a saved
    /// DescribeTaskDefinition output; `-` reads standard input.
    #[arg(long, value_name = "FILE", conflicts_with = "task_definition")]
    pub taskdef: Option<PathBuf>,

    /// With --taskdef, set a container's image: CONTAINER=URI, or a bare URI when there is one
    /// container. Repeatable.
    #[arg(long, value_name = "[CONTAINER=]URI", requires = "taskdef")]
    pub image: Vec<String>,

    /// A registered revision: `family:revision`, a family (its newest ACTIVE revision), or an ARN.
    #[arg(long, value_name = "REVISION")]
    pub task_definition: Option<String>,

    /// The service's cluster, with --service.
    #[arg(long, value_name = "NAME", requires = "service")]
    pub cluster: Option<String>,

    /// Check against this service's load balancers too; without --taskdef or
    /// --task-definition, check the revision the service runs.
    #[arg(long, value_name = "NAME", requires = "cluster")]
    pub service: Option<String>,

    /// Read each Secrets Manager secret whose JSON key is named, to check that the key exists
    /// (GetSecretValue). Values are never printed.
    #[arg(long)]
    pub read_secrets: bool,

    /// `text` (one line per finding, then a summary) or `json`.
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub output: String,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The task definition family, e.g. `web` (no revision).
    #[arg(long, value_name = "NAME")]
    pub family: String,

    /// How many of the newest ACTIVE revisions to keep, at least 1 (the build reads the newest).
    #[arg(long, value_name = "N")]
    pub keep: String,

    /// Also keep this revision, e.g. the one Terraform's state names (deregistering it makes the
    /// next `terraform plan` register it again). Repeatable.
    #[arg(long = "keep-revision", value_name = "REVISION")]
    pub keep_revisions: Vec<String>,

    /// A cluster to search for services and tasks that use the family's revisions. Repeatable
    /// [default: every cluster in the Region (ListClusters)].
    #[arg(long = "cluster", value_name = "NAME")]
    pub clusters: Vec<String>,

    /// Also delete the family's INACTIVE revisions that were deregistered at least DAYS days
    /// ago and that nothing uses. A deleted revision cannot be described again.
    #[arg(long, value_name = "DAYS")]
    pub delete_inactive_after: Option<String>,

    /// Print the plan (`keep`, `would deregister`, `would delete` lines) and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct ContinueArgs {
    /// End the original task set's termination wait instead (TERMINATION_WAIT): it is terminated
    /// now, and a rollback to it is no longer possible.
    #[arg(long)]
    pub termination: bool,

    #[command(flatten)]
    pub wait: WaitArgs,
}

/// How to reach AWS, and how long and how often to look while a deployment runs.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// AWS Region [default: AWS_REGION, then the profile's region].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Named profile from the AWS config files [default: AWS_PROFILE, then `default`].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Seconds to wait for a connection to AWS.
    #[arg(long, value_name = "SECONDS", default_value = "5")]
    pub connect_timeout: String,

    /// Seconds the deployment may take before it is rolled back [default: 30 minutes plus the
    /// bake times of the service's deployment strategy].
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<String>,

    /// Seconds between looks at the service (one DescribeServices call each).
    #[arg(long, value_name = "SECONDS", default_value = "10")]
    pub poll_interval: String,

    /// Seconds without a change after which a line says the deployment is still running, so a
    /// long bake does not look hung and CI that stops silent steps (CircleCI's default: 10
    /// minutes) lets it run.
    #[arg(long, value_name = "SECONDS", default_value = "300")]
    pub still_running_every: String,

    /// Report every attempt of every AWS call on standard error (retries included).
    #[arg(long)]
    pub verbose: bool,

    /// CodeDeploy services: the application [default: found from the service].
    #[arg(long, value_name = "NAME", help_heading = "CodeDeploy services")]
    pub application: Option<String>,

    /// CodeDeploy services: the deployment group [default: found from the service].
    #[arg(long, value_name = "NAME", help_heading = "CodeDeploy services")]
    pub deployment_group: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
