//! The reference buildspec files: their bgtool lines run, as CodeBuild would run them, against
//! moto, so the references cannot rot.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::harness::{artifacts, keep_cross_check_pair, moto_endpoint, repository, run};

/// Every command line of the buildspec's phases that calls bgtool, in order.
fn bgtool_lines(buildspec: &str) -> Vec<String> {
    let text = fs::read_to_string(repository().join(buildspec)).unwrap();
    let buildspec: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let phases = buildspec["phases"]
        .as_mapping()
        .expect("buildspec has phases");
    phases
        .values()
        .flat_map(|phase| phase["commands"].as_sequence().cloned().unwrap_or_default())
        .filter_map(|command| command.as_str().map(str::to_owned))
        .filter(|command| command.starts_with("bgtool "))
        .collect()
}

/// Runs `line` with bash, as CodeBuild would, with the variables the emitted CodeBuild project
/// sets and the moto endpoint standing in for AWS.
fn run_build_line(line: &str, workspace: &Path) {
    let binary_folder = Path::new(env!("CARGO_BIN_EXE_bgtool")).parent().unwrap();
    let result = run(Command::new("bash")
        .args(["-euo", "pipefail", "-c", line])
        .env_clear()
        .current_dir(workspace)
        .env("PATH", format!("{}:/usr/bin:/bin", binary_folder.display()))
        .env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env(
            "REPOSITORY_URI",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web",
        )
        .env("IMAGE_TAG", "3f2a1c9d8e7b")
        .env("CLUSTER_NAME", "bgtool-test")
        .env("SERVICE_NAME", "web")
        .env("CONTAINER_NAME", "app")
        .env("CONTAINER_PORT", "8080")
        .env("SUBNETS", "subnet-0a1b2c3d,subnet-4e5f6a7b")
        .env("SECURITY_GROUPS", "sg-0123456789abcdef0"));
    assert_eq!(result.code, 0, "`{line}` failed:\n{}", result.stderr);
}

#[test]
fn the_buildspec_bgtool_lines_write_three_valid_files() {
    let lines = bgtool_lines("buildspec.yml");
    assert_eq!(lines.len(), 4, "{lines:?}");
    let workspace = tempfile::tempdir().unwrap();
    fs::copy(
        repository().join("appspec_template.yaml"),
        workspace.path().join("appspec_template.yaml"),
    )
    .unwrap();
    for line in &lines {
        run_build_line(line, workspace.path());
    }
    let taskdef = fs::read_to_string(workspace.path().join("taskdef.json")).unwrap();
    assert!(
        taskdef.contains("\"image\": \"<IMAGE1_NAME>\""),
        "{taskdef}"
    );
    let image_detail = fs::read_to_string(workspace.path().join("imageDetail.json")).unwrap();
    assert_eq!(
        image_detail,
        "{\n  \"ImageURI\": \"123456789012.dkr.ecr.us-east-1.amazonaws.com/web:3f2a1c9d8e7b\"\n}\n"
    );
    let appspec = fs::read_to_string(workspace.path().join("appspec.yaml")).unwrap();
    insta::assert_snapshot!("buildspec_appspec", appspec);
    // Kept for the oracles: check-taskdef, and check-appspec with --taskdef.
    let kept_taskdef = artifacts("taskdef").join("buildspec.json");
    fs::write(&kept_taskdef, taskdef).unwrap();
    let kept_appspec = artifacts("appspec").join("buildspec.yaml");
    fs::write(&kept_appspec, appspec).unwrap();
    keep_cross_check_pair(&kept_appspec, &kept_taskdef);
}

#[test]
fn the_ecs_native_buildspec_writes_image_definitions() {
    let lines = bgtool_lines("templates/buildspec-ecs-native.yml");
    assert_eq!(lines.len(), 2, "{lines:?}");
    let workspace = tempfile::tempdir().unwrap();
    for line in &lines {
        run_build_line(line, workspace.path());
    }
    assert_eq!(
        fs::read_to_string(workspace.path().join("imagedefinitions.json")).unwrap(),
        "[\n  {\n    \"name\": \"app\",\n    \"imageUri\": \"123456789012.dkr.ecr.us-east-1.amazonaws.com/web:3f2a1c9d8e7b\"\n  }\n]\n"
    );
}
