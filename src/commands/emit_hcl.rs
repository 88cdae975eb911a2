//! `bgtool emit-hcl`: the Terraform stack, as one file on standard output or a module directory
//! that also holds the build files and the bgtool binary the build runs.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use crate::config::{BuildBinary, EmitHclSettings, Output};
use crate::diagnostics;
use crate::files::write_output;
use crate::stack::elf;
use crate::stack::hcl::{module_files, single_file};
use crate::stack::zip;

/// The binary's name in the module directory; the stack's `bgtool_binary` defaults to it.
const BINARY_NAME: &str = "bgtool";

/// The smoke-test function's code in the module directory (smoke_test.tf reads it).
const SMOKE_TEST_ARCHIVE: &str = "smoke-test.zip";

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
    // Render and read everything before touching the disk.
    let files = module_files(&settings.stack).context("rendering the Terraform templates")?;
    let binary = build_binary(&settings.build_binary)?;
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
    if let Some(bytes) = binary {
        if !settings.stack.smoke_tests.is_empty() {
            // The smoke-test function runs the same binary as its own Lambda runtime.
            let archive = zip::single_executable("bootstrap", &bytes)
                .context("the build's bgtool is too large for a zip archive")?;
            write_output(&Output::File(folder.join(SMOKE_TEST_ARCHIVE)), &archive)?;
        }
        let path = folder.join(BINARY_NAME);
        write_output(&Output::File(path.clone()), &bytes)?;
        make_executable(&path)?;
    }
    Ok(())
}

/// The bytes of the binary to put beside the module, if there is one the build can run.
fn build_binary(choice: &BuildBinary) -> Result<Option<Vec<u8>>> {
    match choice {
        BuildBinary::Url | BuildBinary::BesideTheStack => Ok(None),
        BuildBinary::File(path) => fs::read(path)
            .map(Some)
            .with_context(|| format!("cannot read `{}`", path.display())),
        BuildBinary::CurrentExecutable => Ok(current_executable_if_runnable()),
    }
}

/// This bgtool, when the build can run it: a static Linux x86_64 release build. A debug build is
/// hundreds of megabytes and slow, so it is never shipped; Terraform then refuses to plan until
/// a binary is there, and the warning says how to give one.
fn current_executable_if_runnable() -> Option<Vec<u8>> {
    let refusal = if cfg!(debug_assertions) {
        Err("this bgtool is a debug build".to_owned())
    } else {
        std::env::current_exe()
            .and_then(fs::read)
            .map_err(|error| format!("this bgtool cannot read its own file: {error}"))
            .and_then(|bytes| {
                elf::check_static_linux_x86_64(&bytes)
                    .map(|()| bytes)
                    .map_err(|problem| format!("this bgtool {problem}"))
            })
    };
    match refusal {
        Ok(bytes) => Some(bytes),
        Err(reason) => {
            diagnostics::warn_with_hint(
                &format!(
                    "the module has no `{BINARY_NAME}` for the pipeline's build: {reason}; `terraform plan` stops until there is one"
                ),
                "pass `--bgtool-binary PATH` (the static bgtool-VERSION-x86_64-linux release), or `--bgtool-url URL --bgtool-sha256 HEX`",
            );
            None
        }
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make `{}` executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<()> {
    Ok(())
}
