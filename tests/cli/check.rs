//! `bgtool check`: validating files a pipeline keeps itself.

use crate::harness::{assert_failed, bgtool, fixture, run};

#[test]
fn valid_files_pass() {
    let both = run(bgtool()
        .args(["check", "--appspec"])
        .arg(fixture("appspec/valid.yaml"))
        .arg("--taskdef")
        .arg(fixture("appspec/taskdef-web.json")));
    assert_eq!(both.code, 0, "{}", both.stderr);
    assert_eq!(both.stdout.lines().count(), 2, "{}", both.stdout);
    assert!(
        both.stdout.lines().all(|line| line.ends_with(": ok")),
        "a lint-clean task definition has no warnings: {}",
        both.stdout
    );
    assert_eq!(both.stderr, "");

    let json = run(bgtool()
        .args(["check", "--appspec"])
        .arg(fixture("appspec/valid.json")));
    assert_eq!(json.code, 0, "{}", json.stderr);
}

#[test]
fn describe_output_is_not_a_taskdef() {
    let run = run(bgtool().args([
        "check",
        "--taskdef",
        "examples/describe-task-definition.json",
    ]));
    assert_failed(&run, 1);
    insta::assert_snapshot!("check_describe_output", run.stderr);
}

#[test]
fn read_only_keys_and_nulls_are_named() {
    let folder = tempfile::tempdir().unwrap();
    let read_only = folder.path().join("read-only.json");
    std::fs::write(&read_only, r#"{"family": "web", "revision": 3, "status": "ACTIVE", "containerDefinitions": [{"name": "a"}]}"#).unwrap();
    let run_read_only = run(bgtool().args(["check", "--taskdef"]).arg(&read_only));
    assert_failed(&run_read_only, 1);
    assert!(
        run_read_only
            .stderr
            .contains("read-only keys that RegisterTaskDefinition rejects: `revision`, `status`"),
        "{}",
        run_read_only.stderr
    );

    let nulls = folder.path().join("nulls.json");
    std::fs::write(
        &nulls,
        r#"{"family": "web", "containerDefinitions": [{"name": "a", "user": null}]}"#,
    )
    .unwrap();
    let run_nulls = run(bgtool().args(["check", "--taskdef"]).arg(&nulls));
    assert_failed(&run_nulls, 1);
    assert!(
        run_nulls
            .stderr
            .contains("`containerDefinitions[0].user` is null"),
        "{}",
        run_nulls.stderr
    );
}

#[test]
fn a_mismatch_between_appspec_and_taskdef_fails() {
    let run = run(bgtool()
        .args(["check", "--appspec"])
        .arg(fixture("appspec/valid.yaml"))
        .arg("--taskdef")
        .arg(fixture("register/single.json")));
    assert_failed(&run, 1);
    assert!(run.stderr.contains("`ContainerName` `web` is not a container of the task definition; its containers are `app`"), "{}", run.stderr);
}

#[test]
fn nothing_to_check_is_a_usage_error() {
    let run = run(bgtool().arg("check"));
    assert_eq!(run.code, 2);
}

#[test]
fn lints_are_warnings_unless_strict() {
    let folder = tempfile::tempdir().unwrap();
    let taskdef = folder.path().join("taskdef.json");
    std::fs::write(
        &taskdef,
        r#"{
  "family": "web",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "256",
  "memory": "4096",
  "containerDefinitions": [
    {
      "name": "app",
      "image": "repo/app:latest",
      "essential": false,
      "portMappings": [{"containerPort": 8080, "hostPort": 80}],
      "environment": [
        {"name": "DB_PASSWORD", "value": "hunter2"},
        {"name": "API_TOKEN", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/token"}
      ]
    },
    {"name": "app", "image": "repo/sidecar", "essential": false, "logConfiguration": {"logDriver": "awslogs"}}
  ]
}
"#,
    )
    .unwrap();
    let lenient = run(bgtool()
        .args(["check", "--taskdef"])
        .arg(&taskdef)
        .current_dir(folder.path()));
    assert_eq!(lenient.code, 0, "{}", lenient.stderr);
    assert!(
        lenient.stdout.ends_with(": ok (9 warnings)\n"),
        "{}",
        lenient.stdout
    );
    let stderr = lenient
        .stderr
        .replace(&folder.path().display().to_string(), "TMP");
    insta::assert_snapshot!("lint_warnings", stderr);

    let strict = run(bgtool()
        .args(["check", "--strict", "--taskdef"])
        .arg(&taskdef));
    assert_failed(&strict, 1);
    assert!(
        strict.stderr.contains("has 9 lint findings (`--strict`)"),
        "{}",
        strict.stderr
    );
}
