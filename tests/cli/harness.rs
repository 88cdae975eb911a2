//! Running the built binary the way a user's shell would, minus the user's environment.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// bgtool with an empty environment, so no `AWS_*` variable or profile of the host leaks in.
pub fn bgtool() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bgtool"));
    command.env_clear().current_dir(repository());
    command
}

/// bgtool pointed at the moto server that `scripts/test` started, with dummy credentials.
pub fn bgtool_on_moto() -> Command {
    bgtool_on(&moto_endpoint())
}

/// The binary against the AWS stand-in at `endpoint`, with dummy credentials and no AWS files.
pub fn bgtool_on(endpoint: &str) -> Command {
    let mut command = bgtool();
    command
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/bgtool-test/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/bgtool-test/credentials",
        );
    command
}

/// The moto endpoint. Its absence fails the test: these tests are never skipped.
pub fn moto_endpoint() -> String {
    std::env::var("BGTOOL_TEST_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("BGTOOL_TEST_MOTO_ENDPOINT is not set: run the tests with `scripts/test`, which starts and seeds moto")
    })
}

/// The pinned AWS CLI against moto, as the tests' other side.
pub fn aws_on_moto(arguments: &[&str]) -> Run {
    run(Command::new(aws_cli())
        .env_clear()
        .env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .args(arguments))
}

/// The pinned AWS CLI `scripts/test` installs. Its absence fails the test, as moto's does.
pub fn aws_cli() -> PathBuf {
    PathBuf::from(std::env::var("BGTOOL_TEST_AWS_CLI").unwrap_or_else(|_| {
        panic!("BGTOOL_TEST_AWS_CLI is not set: run the tests with `scripts/test`, which installs the AWS CLI")
    }))
}

pub fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(relative: &str) -> PathBuf {
    repository().join("tests/fixtures").join(relative)
}

/// A folder kept after the run, `target/test-artifacts/KIND`: `.ci/run` checks every file the
/// tests write there with the oracles. A fixed place, whatever the target triple or folder.
pub fn artifacts(kind: &str) -> PathBuf {
    let folder = repository().join("target/test-artifacts").join(kind);
    fs::create_dir_all(&folder).expect("artifact folder can be created");
    folder
}

/// A minimal static x86_64 ELF file (header and one loadable segment, no interpreter): what
/// `emit-hcl --bgtool-binary` and the stack's plan-time check accept, without copying a real
/// binary into every module folder of the test matrix.
pub fn static_binary_fixture() -> PathBuf {
    elf_fixture("bgtool-static-x86_64", 0x3E, &[1])
}

/// An ELF header for `machine` with program headers of the given types (3 = interpreter).
/// Tests run in parallel and share the file: it is written to a temporary file and renamed into
/// place, so a test reading it never sees it half written.
pub fn elf_fixture(name: &str, machine: u16, program_header_types: &[u32]) -> PathBuf {
    let folder = artifacts("fixtures");
    let path = folder.join(name);
    let mut temporary = tempfile::NamedTempFile::new_in(&folder).expect("fixture can be created");
    temporary
        .write_all(&bgtool::stack::elf::minimal_elf(
            machine,
            program_header_types,
        ))
        .expect("fixture can be written");
    temporary.persist(&path).expect("fixture can be renamed");
    path
}

/// Keeps the task definition an AppSpec artifact was cross-checked against, beside it as
/// `NAME.taskdef.json`, so that `.ci/run` repeats the cross-check with the oracle.
pub fn keep_cross_check_pair(appspec: &Path, taskdef: &Path) {
    let stem = appspec
        .file_stem()
        .expect("artifact has a name")
        .to_string_lossy();
    fs::copy(
        taskdef,
        appspec.with_file_name(format!("{stem}.taskdef.json")),
    )
    .expect("taskdef can be kept");
}

/// What a finished run left.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(command: &mut Command) -> Run {
    run_with_stdin(command, None)
}

pub fn run_with_stdin(command: &mut Command, stdin: Option<&[u8]>) -> Run {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("bgtool starts");
    if let Some(bytes) = stdin {
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(bytes)
            .expect("stdin can be written");
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("bgtool finishes");
    Run {
        code: status
            .code()
            .expect("bgtool exits normally, not by a signal"),
        stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
    }
}

/// Asserts a failed run: the exit code, one `error:` line, and no output on stdout.
#[track_caller]
pub fn assert_failed(run: &Run, code: i32) {
    assert_eq!(run.code, code, "exit code; stderr:\n{}", run.stderr);
    assert_eq!(run.stdout, "", "a failed run prints no data");
    if code == 1 {
        let errors = run
            .stderr
            .lines()
            .filter(|line| line.starts_with("bgtool: error: "))
            .count();
        assert_eq!(errors, 1, "exactly one error line; stderr:\n{}", run.stderr);
    }
    assert!(!run.stderr.contains("panicked"), "stderr:\n{}", run.stderr);
}

/// The names of the files in a folder, sorted.
pub fn file_names(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .expect("folder is readable")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}
