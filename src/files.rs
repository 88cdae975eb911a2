//! Reading inputs and writing outputs. Output files are written atomically: a temporary file in
//! the same folder, flushed, then renamed over the target, so a reader sees the old file or the
//! complete new one, and an error leaves no partial file behind.

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::config::{Input, Output};
use crate::error::Hinted;

/// Larger inputs are refused before parsing: the biggest real input (a task definition) is 64 KiB.
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a whole input.
///
/// # Errors
/// When the input cannot be read, is a folder, or is larger than [`MAX_INPUT_BYTES`].
pub fn read_input(input: &Input) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let read = match input {
        Input::Stdin => io::stdin()
            .lock()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes),
        Input::File(path) => {
            if path.is_dir() {
                bail!("`{}` is a folder, not a file", path.display());
            }
            let file = fs::File::open(path)
                .with_context(|| format!("cannot open `{}`", path.display()))?;
            file.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes)
        }
    };
    read.with_context(|| format!("cannot read {}", input.describe()))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        bail!(
            "{} is larger than {} MiB, too large to be a task definition or template",
            input.describe(),
            MAX_INPUT_BYTES / 1024 / 1024
        );
    }
    Ok(bytes)
}

/// Parses JSON, naming the input, line and column when it is malformed.
///
/// # Errors
/// When `bytes` is not one valid JSON value.
pub fn parse_json(bytes: &[u8], input: &Input) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|error| {
        let what = match error.classify() {
            serde_json::error::Category::Eof => "ends before the JSON is complete",
            _ => "is not valid JSON",
        };
        // serde_json puts " at line L column C" at the end; bgtool says it in its own order.
        let reason = error.to_string();
        let reason = reason.split(" at line ").next().unwrap_or_default().to_owned();
        anyhow::Error::new(Hinted::new(
            format!(
                "{} {what}: line {}, column {}: {reason}",
                input.describe(),
                error.line(),
                error.column()
            ),
            "the input must be the JSON that `aws ecs describe-task-definition` prints, or the task definition inside it",
        ))
    })
}

/// Renders JSON as bgtool writes it: two-space indentation and a final newline.
///
/// # Panics
/// Never: a `Value` has only string keys, the one thing serde_json cannot render.
#[must_use]
pub fn json_text(value: &Value) -> String {
    let mut text =
        serde_json::to_string_pretty(value).expect("a serde_json::Value always serializes");
    text.push('\n');
    text
}

/// Writes `contents` to standard output, or atomically to a file.
///
/// # Errors
/// When the file cannot be written; the target is then left as it was.
pub fn write_output(output: &Output, contents: &[u8]) -> Result<()> {
    match output {
        Output::Stdout => write_stdout(contents),
        Output::File(path) => write_atomically(path, contents),
    }
}

fn write_stdout(contents: &[u8]) -> Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(contents).and_then(|()| stdout.flush()) {
        // A reader that stopped early (`| head`) is not a failure of ours.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    if path.is_dir() {
        bail!("cannot write `{}`: it is a folder", path.display());
    }
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(Hinted::new(
            format!(
                "cannot write `{}`: folder `{}` does not exist",
                path.display(),
                folder.display()
            ),
            "create the folder first; bgtool does not create folders for single files",
        )
        .into());
    }
    let mut temporary = tempfile::Builder::new()
        .prefix(".bgtool-")
        .suffix(".tmp")
        .tempfile_in(folder)
        .with_context(|| format!("cannot write in folder `{}`", folder.display()))?;
    // No fsync: the rename is what makes the write atomic for every reader and on every error;
    // an fsync would add milliseconds to each build step to survive a kernel crash, after which
    // a build re-runs anyway.
    temporary
        .write_all(contents)
        .and_then(|()| temporary.flush())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    // tempfile creates files readable by the owner only; an artifact should have the usual mode,
    // or keep the mode of the file it replaces.
    let permissions = match fs::metadata(path) {
        Ok(existing) => Some(existing.permissions()),
        Err(_) => default_permissions(),
    };
    if let Some(permissions) = permissions {
        fs::set_permissions(temporary.path(), permissions)
            .with_context(|| format!("cannot set permissions on `{}`", path.display()))?;
    }
    temporary
        .persist(path)
        .map_err(|error| error.error)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

#[cfg(unix)]
#[allow(
    clippy::unnecessary_wraps,
    reason = "the same signature as the other platforms', where there is no mode to set"
)]
fn default_permissions() -> Option<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(fs::Permissions::from_mode(0o644))
}

/// Elsewhere the temporary file's own permissions are the platform's usual ones.
#[cfg(not(unix))]
fn default_permissions() -> Option<fs::Permissions> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_names_input_line_and_column() {
        let input = Input::File("saved.json".into());
        let error = parse_json(b"{\n  \"a\": 1,\n  \"b\" 2\n}", &input).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`saved.json` is not valid JSON: line 3, column 7: expected `:`"
        );
        let truncated = parse_json(b"{\"a\": [1,", &input).unwrap_err();
        assert!(
            truncated
                .to_string()
                .contains("ends before the JSON is complete"),
            "{truncated}"
        );
    }

    #[test]
    fn an_atomic_write_replaces_the_file_whole_and_leaves_no_temporary_file() {
        let folder = tempfile::tempdir().unwrap();
        let target = folder.path().join("taskdef.json");
        fs::write(&target, "old").unwrap();
        write_output(&Output::File(target.clone()), b"new\n").unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "new\n");
        assert_eq!(fs::read_dir(folder.path()).unwrap().count(), 1);
    }

    #[test]
    fn writing_into_a_missing_folder_fails_cleanly() {
        let folder = tempfile::tempdir().unwrap();
        let target = folder.path().join("missing").join("taskdef.json");
        let error = write_output(&Output::File(target), b"x").unwrap_err();
        assert!(error.to_string().contains("does not exist"), "{error}");
    }

    #[test]
    fn writing_over_a_folder_fails_and_keeps_it() {
        let folder = tempfile::tempdir().unwrap();
        let error = write_output(&Output::File(folder.path().to_owned()), b"x").unwrap_err();
        assert!(error.to_string().contains("it is a folder"), "{error}");
        assert!(folder.path().is_dir());
    }
}
