//! One owner per setting: the change report against what production runs (`--against-live`,
//! `--service`), `--fail-on-drop`, and the container edits (`--env`, `--secret`, …).

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::harness::{artifacts, bgtool, bgtool_on_moto, fixture, run};

const NEXT: &str = "report/web-next.json";
/// Values in the fixture that must never reach a log: environment values and secret references.
const HIDDEN: [&str; 4] = [
    "9090-changed-value",
    "new-hidden-value",
    "database-url-ROTATED",
    "token-hidden",
];

fn report_lines(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|line| line.starts_with("bgtool: report: "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Against the `web` service, whose PRIMARY task set runs web:1: every kind of change, across
/// three containers, on one line per container, with no secret or variable value printed.
#[test]
fn the_report_names_every_kind_of_change_and_no_value() {
    let folder = tempfile::tempdir().unwrap();
    let report = folder.path().join("report.json");
    let output = artifacts("taskdef").join("report-next.json");
    let result = run(bgtool_on_moto()
        .args(["taskdef", "--input"])
        .arg(fixture(NEXT))
        .args([
            "--against-live",
            "web",
            "--cluster",
            "bgtool-test",
            "--report",
            "json",
        ])
        .arg(&report)
        .arg("-o")
        .arg(&output));
    assert_eq!(result.code, 0, "{}", result.stderr);
    let lines = report_lines(&result.stderr);
    insta::assert_snapshot!("report_lines", lines);
    let json = fs::read_to_string(&report).unwrap();
    for hidden in HIDDEN {
        assert!(!result.stderr.contains(hidden), "{hidden} printed");
        assert!(!json.contains(hidden), "{hidden} in the JSON report");
    }
    let parsed: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        parsed["live"],
        "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
    );
    insta::assert_snapshot!(
        "report_json",
        serde_json::to_string_pretty(&parsed).unwrap()
    );
    assert!(
        output.exists(),
        "without --fail-on-drop the file is written"
    );
}

#[test]
fn fail_on_drop_refuses_and_leaves_the_existing_file_untouched() {
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("taskdef.json");
    fs::write(&output, "previous build\n").unwrap();
    let report = folder.path().join("report.json");
    let result = run(bgtool_on_moto()
        .args(["taskdef", "--input"])
        .arg(fixture(NEXT))
        .args([
            "--against-live",
            "web",
            "--cluster",
            "bgtool-test",
            "--fail-on-drop",
            "--report",
            "json",
        ])
        .arg(&report)
        .arg("-o")
        .arg(&output));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result.stderr.contains(
            "bgtool: error: `--fail-on-drop`: production would lose environment `FEATURE_FLAGS` of container `app`, secrets `API_KEY` of container `app`, portMappings `8080/tcp` of container `app`, container `envoy`; nothing written"
        ),
        "{}",
        result.stderr
    );
    assert!(result.stderr.contains("  hint: "), "{}", result.stderr);
    assert_eq!(fs::read_to_string(&output).unwrap(), "previous build\n");
    let parsed: Value = serde_json::from_str(&fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(parsed["drops"].as_array().unwrap().len(), 4, "{parsed}");
}

/// `--service` compares with what it read: only the image edits show; `--no-report` says nothing.
#[test]
fn with_service_the_report_shows_the_image_change_only() {
    let result = run(bgtool_on_moto().args([
        "taskdef",
        "--service",
        "web",
        "--cluster",
        "bgtool-test",
        "--image-placeholder",
        "app",
    ]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(
        report_lines(&result.stderr),
        "bgtool: report: production runs `arn:aws:ecs:us-east-1:123456789012:task-definition/web:1`; taskdef.json changes what it runs:\n\
         bgtool: report: container `app`: image `123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1` → `<IMAGE1_NAME>`"
    );
    let quiet = run(bgtool_on_moto().args([
        "taskdef",
        "--service",
        "web",
        "--cluster",
        "bgtool-test",
        "--no-report",
    ]));
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert_eq!(report_lines(&quiet.stderr), "");
}

#[test]
fn report_options_need_a_live_service() {
    for arguments in [
        vec![
            "taskdef",
            "--input",
            "examples/describe-task-definition.json",
            "--fail-on-drop",
        ],
        vec![
            "taskdef",
            "--input",
            "examples/describe-task-definition.json",
            "--report",
            "json",
            "r.json",
        ],
        vec![
            "taskdef",
            "--input",
            "examples/describe-task-definition.json",
            "--against-live",
            "web",
        ],
        vec![
            "taskdef",
            "--input",
            "examples/describe-task-definition.json",
            "--cluster",
            "main",
        ],
    ] {
        let result = run(bgtool().args(&arguments));
        assert_eq!(result.code, 2, "{arguments:?}: {}", result.stderr);
        assert_eq!(result.stdout, "");
    }
}

fn edit(arguments: &[&str], output: &Path) -> crate::harness::Run {
    run(bgtool()
        .args(["taskdef", "--input"])
        .arg(fixture("register/web.json"))
        .args(arguments)
        .arg("-o")
        .arg(output))
}

fn containers(path: &Path) -> Vec<Value> {
    let document: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    document["containerDefinitions"].as_array().unwrap().clone()
}

#[test]
fn each_container_edit_does_what_it_says() {
    let folder = tempfile::tempdir().unwrap();
    let env_file = folder.path().join("envoy.env");
    fs::write(
        &env_file,
        "# envoy settings\nENVOY_LOG_LEVEL=warn\nexport EMPTY_ONE=\n",
    )
    .unwrap();
    let output = artifacts("taskdef").join("edited.json");
    let env_file_flag = format!("envoy:{}", env_file.display());
    let result = edit(
        &[
            "--env",
            "app:PORT=9090",
            "--env",
            "app:EMPTY=",
            "--env",
            "app:NEW_ONE=x=y",
            "--unset-env",
            "app:FEATURE_FLAGS",
            "--secret",
            "app:TOKEN=arn:aws:ssm:us-east-1:123456789012:parameter/web/token",
            "--unset-secret",
            "app:API_KEY",
            "--env-file",
            &env_file_flag,
            "--exclusive-env",
            "log_router",
            "--env",
            "log_router:ONLY=this",
        ],
        &output,
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    let containers = containers(&output);
    let pairs = |container: &Value, key: &str, value_key: &str| -> Vec<(String, String)> {
        container[key]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|entry| {
                        (
                            entry["name"].as_str().unwrap().to_owned(),
                            entry[value_key].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let owned = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    };
    assert_eq!(
        pairs(&containers[0], "environment", "value"),
        owned(&[("PORT", "9090"), ("EMPTY", ""), ("NEW_ONE", "x=y")])
    );
    assert_eq!(
        pairs(&containers[0], "secrets", "valueFrom"),
        owned(&[
            (
                "DATABASE_URL",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:web/database-url-AbCdEf"
            ),
            (
                "TOKEN",
                "arn:aws:ssm:us-east-1:123456789012:parameter/web/token"
            ),
        ])
    );
    assert_eq!(
        pairs(&containers[1], "environment", "value"),
        owned(&[
            (
                "APPMESH_RESOURCE_ARN",
                "arn:aws:appmesh:us-east-1:123456789012:mesh/main/virtualNode/web"
            ),
            ("ENVOY_LOG_LEVEL", "warn"),
            ("EMPTY_ONE", ""),
        ])
    );
    assert_eq!(
        pairs(&containers[2], "environment", "value"),
        owned(&[("ONLY", "this")])
    );
}

#[test]
fn edit_mistakes_are_refused_and_nothing_is_written() {
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("taskdef.json");
    fs::write(&output, "previous build\n").unwrap();
    let env_file = folder.path().join("app.env");
    fs::write(&env_file, "PORT=1\n").unwrap();
    let env_file_flag = format!("app:{}", env_file.display());
    let cases: Vec<(Vec<&str>, i32, String)> = vec![
        (
            vec!["--env", "web:A=1"],
            1,
            "there is no container `web`; the containers are `app`, `envoy`, `log_router`".into(),
        ),
        (
            vec!["--env", "app:PORT=2", "--env-file", &env_file_flag],
            1,
            format!("`--env-file {env_file_flag} (PORT)` and `--env app:PORT=2` both set `PORT` in container `app`"),
        ),
        (
            vec!["--env", "app:API_KEY=plain-text"],
            1,
            "container `app`: `API_KEY` would be both an environment variable and a secret".into(),
        ),
        (
            vec!["--secret", "app:TOKEN=my-token"],
            2,
            "`--secret app:TOKEN=my-token`: `my-token` is not a Secrets Manager secret ARN or SSM parameter ARN".into(),
        ),
        (
            vec!["--env", "app-PORT=1"],
            2,
            "`--env app-PORT=1`: expected CONTAINER:NAME=VALUE".into(),
        ),
        (
            vec!["--env", "app:=1"],
            2,
            "is not a variable name".into(),
        ),
        (
            vec!["--env-file", "app:/nonexistent/app.env"],
            2,
            "cannot read `/nonexistent/app.env`".into(),
        ),
    ];
    for (arguments, code, expected) in cases {
        let result = edit(&arguments, &output);
        assert_eq!(result.code, code, "{arguments:?}: {}", result.stderr);
        assert!(
            result.stderr.contains(&expected),
            "{arguments:?}: {}",
            result.stderr
        );
        assert_eq!(
            fs::read_to_string(&output).unwrap(),
            "previous build\n",
            "{arguments:?}: nothing written"
        );
    }
}
