//! `bgtool taskdef` against moto's ECS on loopback, through the real AWS SDK, and against
//! endpoints that refuse or never answer.

use std::fs;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{artifacts, assert_failed, bgtool, bgtool_on_moto, moto_endpoint, run};

fn images(stdout: &str) -> Vec<String> {
    let document: Value = serde_json::from_str(stdout).expect("stdout is JSON");
    document["containerDefinitions"]
        .as_array()
        .expect("containers")
        .iter()
        .map(|container| container["image"].as_str().expect("image").to_owned())
        .collect()
}

#[test]
fn a_family_gives_its_latest_revision() {
    let output = artifacts("taskdef").join("moto-web-latest.json");
    let run = run(bgtool_on_moto()
        .args([
            "taskdef",
            "--task-definition",
            "web",
            "--image-placeholder",
            "app",
            "-o",
        ])
        .arg(&output));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let written = fs::read_to_string(&output).unwrap();
    insta::assert_snapshot!("moto_web_latest", written);
}

#[test]
fn a_revision_or_an_arn_gives_that_revision() {
    for reference in [
        "web:1",
        "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
    ] {
        let run = run(bgtool_on_moto().args(["taskdef", "--task-definition", reference]));
        assert_eq!(run.code, 0, "{reference}: {}", run.stderr);
        assert_eq!(
            images(&run.stdout)[0],
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1"
        );
        let document: Value = serde_json::from_str(&run.stdout).unwrap();
        assert!(document.get("revision").is_none() && document.get("taskDefinitionArn").is_none());
        assert_eq!(
            document["tags"][1],
            serde_json::json!({"key": "cost-center", "value": ""})
        );
    }
}

#[test]
fn a_code_deploy_service_gives_its_primary_task_set() {
    let output = artifacts("taskdef").join("moto-service-web.json");
    let run = run(bgtool_on_moto()
        .args([
            "taskdef",
            "--service",
            "web",
            "--cluster",
            "bgtool-test",
            "-o",
        ])
        .arg(&output));
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The service's own taskDefinition is web:2; production traffic is on the PRIMARY task set, web:1.
    assert!(
        run.stderr.contains("CODE_DEPLOY deployment controller"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("task-definition/web:1`, from the PRIMARY task set"),
        "{}",
        run.stderr
    );
    let written = fs::read_to_string(&output).unwrap();
    assert_eq!(
        images(&written)[0],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1"
    );
}

#[test]
fn an_ecs_service_gives_its_task_definition() {
    let output = artifacts("taskdef").join("moto-service-worker.json");
    let run = run(bgtool_on_moto()
        .args([
            "taskdef",
            "--service",
            "worker",
            "--cluster",
            "bgtool-test",
            "-o",
        ])
        .arg(&output));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("ECS deployment controller"),
        "{}",
        run.stderr
    );
    insta::assert_snapshot!("moto_service_worker", fs::read_to_string(&output).unwrap());
}

#[test]
fn a_bare_image_sets_the_only_container() {
    let output = artifacts("taskdef").join("moto-single.json");
    let run = run(bgtool_on_moto()
        .args([
            "taskdef",
            "--task-definition",
            "single",
            "--image",
            "public.ecr.aws/nginx/nginx:1.28",
            "-o",
        ])
        .arg(&output));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        images(&fs::read_to_string(&output).unwrap()),
        ["public.ecr.aws/nginx/nginx:1.28"]
    );
}

#[test]
fn the_ecs_specific_endpoint_variable_is_honoured() {
    let run = run(bgtool_on_moto()
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_ENDPOINT_URL_ECS", moto_endpoint())
        .args(["taskdef", "--task-definition", "single"]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(images(&run.stdout), ["public.ecr.aws/nginx/nginx:1.27"]);
}

#[test]
fn a_missing_task_definition_names_it_and_how_to_look() {
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("taskdef.json");
    let run = run(bgtool_on_moto()
        .args(["taskdef", "--task-definition", "nosuchfamily:3", "-o"])
        .arg(&output));
    assert_failed(&run, 1);
    insta::assert_snapshot!("missing_task_definition", run.stderr);
    assert!(!output.exists());
}

#[test]
fn a_missing_service_or_cluster_names_it() {
    let run_service =
        run(bgtool_on_moto().args(["taskdef", "--service", "nope", "--cluster", "bgtool-test"]));
    assert_failed(&run_service, 1);
    insta::assert_snapshot!("missing_service", run_service.stderr);

    let run_cluster =
        run(bgtool_on_moto().args(["taskdef", "--service", "web", "--cluster", "nosuchcluster"]));
    assert_failed(&run_cluster, 1);
    assert!(
        run_cluster.stderr.contains("cluster `nosuchcluster`"),
        "{}",
        run_cluster.stderr
    );
    assert!(
        run_cluster.stderr.contains("hint: "),
        "{}",
        run_cluster.stderr
    );
}

#[test]
fn no_region_is_an_error_with_a_hint() {
    let run = run(bgtool_on_moto().env_remove("AWS_REGION").args([
        "taskdef",
        "--task-definition",
        "web",
    ]));
    assert_failed(&run, 1);
    insta::assert_snapshot!("no_region", run.stderr);
}

#[test]
fn the_region_flag_wins_over_the_environment() {
    // moto keeps each Region apart: the fixtures exist only in us-east-1.
    let run = run(bgtool_on_moto().args([
        "taskdef",
        "--task-definition",
        "web",
        "--region",
        "eu-west-3",
    ]));
    assert_failed(&run, 1);
    assert!(run.stderr.contains("eu-west-3"), "{}", run.stderr);
}

#[test]
fn no_credentials_is_an_error_with_a_hint() {
    let run = run(bgtool_on_moto()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["taskdef", "--task-definition", "web"]));
    assert_failed(&run, 1);
    assert!(run.stderr.contains("credentials"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
}

#[test]
fn a_refused_connection_fails_quickly_and_clearly() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let started = Instant::now();
    let run = run(bgtool_on_moto()
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_MAX_ATTEMPTS", "2")
        .args(["taskdef", "--task-definition", "web", "--timeout", "20"]));
    assert_failed(&run, 1);
    assert!(
        run.stderr
            .contains("cannot reach ECS at `http://127.0.0.1:"),
        "{}",
        run.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_server_that_never_answers_ends_at_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    // Accept connections and hold them open without a word.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("taskdef.json");
    fs::write(&output, "previous\n").unwrap();
    let started = Instant::now();
    let run = run(bgtool_on_moto()
        .env("AWS_ENDPOINT_URL", format!("http://{address}"))
        .args([
            "taskdef",
            "--task-definition",
            "web",
            "--timeout",
            "1.5",
            "-o",
        ])
        .arg(&output));
    let elapsed = started.elapsed();
    assert_failed(&run, 1);
    assert!(
        run.stderr.contains("within `--timeout` (1.5 s)"),
        "{}",
        run.stderr
    );
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert_eq!(fs::read_to_string(&output).unwrap(), "previous\n");
}

#[test]
fn an_input_file_needs_no_aws_at_all() {
    // No region, no credentials, no endpoint: --input must not touch AWS.
    let run = run(bgtool().args([
        "taskdef",
        "--input",
        "examples/describe-task-definition.json",
    ]));
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_named_profile_supplies_region_and_credentials() {
    let folder = tempfile::tempdir().unwrap();
    let config = folder.path().join("config");
    let credentials = folder.path().join("credentials");
    fs::write(&config, "[profile deploy]\nregion = us-east-1\n").unwrap();
    fs::write(
        &credentials,
        "[deploy]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let result = run(bgtool_on_moto()
        .env_remove("AWS_REGION")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .args([
            "taskdef",
            "--task-definition",
            "single",
            "--profile",
            "deploy",
        ]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(images(&result.stdout), ["public.ecr.aws/nginx/nginx:1.27"]);
}
