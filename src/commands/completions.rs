//! `bgtool completions` and `bgtool man`: shell completions and the manual page, both generated
//! from the clap definition so they never drift from the real flags.

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;
use crate::config::Output;
use crate::files::write_output;

/// Prints the completion script for `shell`.
///
/// # Errors
/// When standard output cannot be written.
pub fn run(shell: clap_complete::Shell) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "bgtool", &mut script);
    write_output(&Output::Stdout, &script)
}

/// Prints the manual page.
///
/// # Errors
/// When the page cannot be rendered or standard output cannot be written.
pub fn man() -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .context("cannot render the manual page")?;
    write_output(&Output::Stdout, &page)
}
