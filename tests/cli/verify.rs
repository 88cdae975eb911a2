//! `bgtool verify` against moto, which models ECR images, Secrets Manager, SSM parameters, IAM
//! roles, CloudWatch Logs groups and target groups: a task definition that passes, one with each
//! kind of problem, `--output json`, and `deploy` refusing to register what fails. moto has no
//! IAM policy simulator (SimulatePrincipalPolicy answers HTTP 500), so the execution role's
//! permissions are judged against the scripted endpoint in `deploy.rs`.

use std::path::PathBuf;

use serde_json::Value;

use crate::harness::{Run, assert_failed, aws_on_moto, bgtool, bgtool_on_moto, fixture, run};

/// A secret in moto holding `{"password": …}`, created once per name; its ARN.
fn secret(name: &str) -> String {
    let created = aws_on_moto(&[
        "secretsmanager",
        "create-secret",
        "--name",
        name,
        "--secret-string",
        r#"{"password":"not-printed"}"#,
        "--output",
        "json",
    ]);
    let described = if created.code == 0 {
        created
    } else {
        aws_on_moto(&[
            "secretsmanager",
            "describe-secret",
            "--secret-id",
            name,
            "--output",
            "json",
        ])
    };
    assert_eq!(described.code, 0, "{}", described.stderr);
    let body: Value = serde_json::from_str(&described.stdout).unwrap();
    body["ARN"].as_str().unwrap().to_owned()
}

/// The SSM parameter the fixture reads, created once.
fn parameter() {
    let _ = aws_on_moto(&[
        "ssm",
        "put-parameter",
        "--name",
        "/verify/flags",
        "--value",
        "on",
        "--type",
        "String",
    ]);
}

/// tests/fixtures/verify/taskdef.json with its secret's ARN filled in and `edit` applied.
fn taskdef(secret_arn: &str, edit: impl FnOnce(&mut Value)) -> (tempfile::TempDir, PathBuf) {
    let text = std::fs::read_to_string(fixture("verify/taskdef.json"))
        .unwrap()
        .replace("SECRET_ARN", secret_arn);
    let mut document: Value = serde_json::from_str(&text).unwrap();
    edit(&mut document);
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("taskdef.json");
    std::fs::write(&path, document.to_string()).unwrap();
    (folder, path)
}

/// moto's random six-character secret suffix, masked for the snapshots.
fn mask(text: &str, secret_arn: &str) -> String {
    let suffix = secret_arn.rsplit('-').next().unwrap();
    text.replace(suffix, "XXXXXX")
}

/// `verify --read-secrets` of `path` against service `rolling`: moto keeps a CODE_DEPLOY
/// service's load balancers nowhere, and `rolling` (ECS) has one: target group `rolling`,
/// container `app`, port 8080.
fn verify_against_rolling(path: &std::path::Path) -> Run {
    run(bgtool_on_moto().args([
        "verify",
        "--taskdef",
        path.to_str().unwrap(),
        "--cluster",
        "bgtool-test",
        "--service",
        "rolling",
        "--read-secrets",
    ]))
}

#[test]
fn a_task_definition_that_exists_in_aws_passes() {
    let arn = secret("verify/passes");
    parameter();
    let (_folder, path) = taskdef(&arn, |_| {});
    let result = verify_against_rolling(&path);
    assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
    let stdout = mask(&result.stdout, &arn).replace(path.to_str().unwrap(), "taskdef.json");
    insta::assert_snapshot!("verify_passes", stdout);
    assert!(
        !result.stdout.contains("not-printed"),
        "a secret's value is never printed"
    );
}

#[test]
fn each_problem_is_one_line_naming_the_container_and_exit_1() {
    let arn = secret("verify/broken");
    parameter();
    let (_folder, path) = taskdef(&arn, |document| {
        let app = &mut document["containerDefinitions"][0];
        app["image"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/classic:never-pushed".into();
        app["secrets"][0]["valueFrom"] = format!("{arn}:username::").into();
        app["secrets"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"name": "GONE", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:verify/gone-AbCdEf"}));
        app["secrets"][1]["valueFrom"] = "/verify/missing".into();
        app["logConfiguration"]["options"]["awslogs-group"] = "/ecs/never-created".into();
        app["portMappings"][0]["containerPort"] = 9090.into();
        document["taskRoleArn"] = "arn:aws:iam::123456789012:role/verify-missing-task".into();
    });
    let result = verify_against_rolling(&path);
    assert_eq!(result.code, 1, "{}\n{}", result.stdout, result.stderr);
    let stdout = mask(&result.stdout, &arn).replace(path.to_str().unwrap(), "taskdef.json");
    insta::assert_snapshot!("verify_broken", stdout);
    let stderr = result
        .stderr
        .replace(path.to_str().unwrap(), "taskdef.json");
    assert!(
        stderr.starts_with("bgtool: error: `taskdef.json` failed 7 of verify's checks\n  hint: "),
        "{stderr}"
    );

    let json = run(bgtool_on_moto().args([
        "verify",
        "--taskdef",
        path.to_str().unwrap(),
        "--output",
        "json",
    ]));
    assert_eq!(json.code, 1, "{}", json.stderr);
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    // Without --service, the load balancer's port is not judged; without --read-secrets, the
    // JSON key is a note.
    assert_eq!(report["errors"], 5, "{report:#}");
    let checks: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["severity"].as_str().unwrap(),
                finding["check"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(checks.contains(&("note", "secret")), "{checks:?}");
    assert!(checks.contains(&("error", "log-group")), "{checks:?}");
    assert!(
        !checks.iter().any(|(_, check)| *check == "load-balancer"),
        "{checks:?}"
    );
}

#[test]
fn the_revision_a_service_runs_is_verified_by_default() {
    let result =
        run(bgtool_on_moto().args(["verify", "--cluster", "bgtool-test", "--service", "classic"]));
    // classic:1 pulls from ECR Public (noted, not checked) and writes to `/ecs/classic`.
    assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
    assert!(
        result
            .stdout
            .ends_with("classic:1`: 0 errors, 1 warning, 1 note\n")
            || result
                .stdout
                .contains(":task-definition/classic:1: 0 errors, 1 warning, 1 note"),
        "{}",
        result.stdout
    );
}

#[test]
fn deploy_registers_nothing_when_verify_finds_an_error() {
    let families_before = aws_on_moto(&[
        "ecs",
        "list-task-definitions",
        "--family-prefix",
        "classic",
        "--output",
        "json",
    ]);
    let taskdef = fixture("register/classic.json");
    let result = run(bgtool_on_moto().args([
        "deploy",
        "--cluster",
        "bgtool-test",
        "--service",
        "classic",
        "--taskdef",
        taskdef.to_str().unwrap(),
        "--image",
        "app=123456789012.dkr.ecr.us-east-1.amazonaws.com/classic:never-pushed",
        "--no-wait",
    ]));
    assert_failed(&result, 1);
    assert!(
        result.stderr.contains("bgtool: verify: error: container `app`: image `123456789012.dkr.ecr.us-east-1.amazonaws.com/classic:never-pushed`: tag `never-pushed` is not in ECR repository `classic`"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("bgtool: error: the task definition failed 1 of verify's checks (above); nothing was registered\n  hint: fix them, or pass `--no-verify` to deploy anyway"),
        "{}",
        result.stderr
    );
    let families_after = aws_on_moto(&[
        "ecs",
        "list-task-definitions",
        "--family-prefix",
        "classic",
        "--output",
        "json",
    ]);
    assert_eq!(
        families_before.stdout, families_after.stdout,
        "nothing registered"
    );
}

#[test]
fn nothing_to_verify_is_a_usage_error() {
    let result = run(bgtool().args(["verify"]));
    assert_failed(&result, 2);
    assert!(
        result.stderr.contains("nothing to verify"),
        "{}",
        result.stderr
    );
    let result = run(bgtool().args(["verify", "--service", "web"]));
    assert_failed(&result, 2);
}
