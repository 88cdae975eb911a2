//! bgtool: build-stage artifacts for Amazon ECS blue/green deployments. `run` executes one parsed
//! command line; `main.rs` only parses, reports and exits.

pub mod artifacts;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deployment;
pub mod diagnostics;
pub mod error;
pub mod exit_status;
pub mod files;
pub mod hook;
pub mod one_off;
pub mod revisions;
pub mod stack;
pub mod verify;

use cli::{Cli, Command};
use config::{
    CheckSettings, EmitHclSettings, ImageDefinitionsSettings, ImageDetailSettings,
    RenderAppspecSettings, TaskdefSettings,
};

/// Runs one command: resolves its flags into settings, then does the work.
///
/// # Errors
/// Any failure, already worded for the user; [`exit_status::ExitStatus::of`] gives its exit status.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Taskdef(args) => commands::taskdef::run(&TaskdefSettings::resolve(args)?),
        Command::RenderAppspec(args) => {
            commands::render_appspec::run(&RenderAppspecSettings::resolve(args)?)
        }
        Command::ImageDetail(args) => {
            commands::image_detail::run(&ImageDetailSettings::resolve(args)?)
        }
        Command::ImageDefinitions(args) => {
            commands::image_definitions::run(&ImageDefinitionsSettings::resolve(args)?)
        }
        Command::EmitHcl(args) => commands::emit_hcl::run(&EmitHclSettings::resolve(args)?),
        Command::Deploy(args) => {
            commands::deploy::run(&config::deploy::DeploySettings::resolve(args)?)
        }
        Command::Wait(args) => commands::wait::run(&config::deploy::WaitSettings::resolve(args)?),
        Command::Rollback(args) => {
            commands::rollback::run(&config::deploy::WaitSettings::resolve(args)?)
        }
        Command::Continue(args) => {
            let termination = args.termination;
            commands::continue_deployment::run(
                &config::deploy::WaitSettings::resolve(args.wait)?,
                termination,
            )
        }
        Command::Verify(args) => {
            commands::verify::run(&config::verify::VerifySettings::resolve(args)?)
        }
        Command::Run(args) => commands::run::run(&config::run::RunSettings::resolve(args)?),
        Command::Prune(args) => commands::prune::run(&config::prune::PruneSettings::resolve(args)?),
        Command::Hook(args) => commands::hook::run(&config::hook::HookSettings::resolve(args)?),
        Command::Check(args) => commands::check::run(&CheckSettings::resolve(args)),
        Command::Completions { shell } => commands::completions::run(shell),
        Command::Man => commands::completions::man(),
    }
}
