//! Entry point: parse the command line, run it, report any error, exit with a documented status.

use std::process::ExitCode;

use bgtool::cli::Cli;
use bgtool::exit_status::ExitStatus;

fn main() -> ExitCode {
    let cli = Cli::from_process();
    match bgtool::run(cli) {
        Ok(()) => ExitStatus::Success.into(),
        Err(error) => {
            bgtool::diagnostics::report(&error);
            ExitStatus::of(&error).into()
        }
    }
}
