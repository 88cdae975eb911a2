//! `bgtool emit-hcl`: the Terraform stack, as one file on standard output or a module directory.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use crate::config::{EmitHclSettings, Output};
use crate::files::write_output;
use crate::hcl::{module_files, single_file};

/// Renders the stack and writes it. Every value was checked when the settings were resolved, so
/// rendering itself cannot fail on user input.
///
/// # Errors
/// When the output folder or a file in it cannot be written.
pub fn run(settings: &EmitHclSettings) -> Result<()> {
    match &settings.out_dir {
        None => {
            let text = single_file(&settings.stack).context("rendering the Terraform templates")?;
            write_output(&Output::Stdout, text.as_bytes())
        }
        Some(folder) => write_module(folder, settings),
    }
}

fn write_module(folder: &Path, settings: &EmitHclSettings) -> Result<()> {
    // Render everything before touching the disk.
    let files = module_files(&settings.stack).context("rendering the Terraform templates")?;
    if folder.exists() && !folder.is_dir() {
        anyhow::bail!("`--out-dir {}` is a file, not a folder", folder.display());
    }
    fs::create_dir_all(folder)
        .with_context(|| format!("cannot create folder `{}`", folder.display()))?;
    for file in &files {
        write_output(
            &Output::File(folder.join(file.name)),
            file.contents.as_bytes(),
        )?;
    }
    Ok(())
}
