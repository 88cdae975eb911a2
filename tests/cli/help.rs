//! The help text: what users read first, and where the exit statuses are documented.

use crate::harness::{bgtool, run};

#[test]
fn top_level_help_lists_commands_and_exit_statuses() {
    let run = run(bgtool().arg("--help"));
    assert_eq!(run.code, 0);
    insta::assert_snapshot!("help", run.stdout);
}

#[test]
fn taskdef_help_documents_every_flag() {
    let run = run(bgtool().args(["taskdef", "--help"]));
    assert_eq!(run.code, 0);
    insta::assert_snapshot!("taskdef_help", run.stdout);
}

#[test]
fn version_is_printed() {
    let run = run(bgtool().arg("--version"));
    assert_eq!(run.code, 0);
    assert!(
        run.stdout
            .starts_with(concat!("bgtool ", env!("CARGO_PKG_VERSION"))),
        "{}",
        run.stdout
    );
}
