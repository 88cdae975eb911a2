//! The command line as clap sees it: every subcommand and flag, with the help text users read.
//! Raw values only; `config` turns them into checked settings before any work starts.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success
  1  failure: bad input, an AWS error, a file that could not be written
  2  usage: the command line itself is wrong";

/// Build-stage artifacts for Amazon ECS blue/green deployments: taskdef.json, appspec.yaml,
/// imageDetail.json.
#[derive(Debug, Parser)]
#[command(name = "bgtool", version, after_help = EXIT_STATUS_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
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

    /// Write imageDetail.json for CodePipeline's CodeDeployToECS action.
    #[command(after_help = EXIT_STATUS_HELP)]
    ImageDetail(ImageDetailArgs),
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

    /// The cluster of --service: a name or an ARN.
    #[arg(long, value_name = "NAME", requires = "service")]
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

    #[command(flatten)]
    pub aws: AwsArgs,
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
