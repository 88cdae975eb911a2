//! `bgtool taskdef` on saved DescribeTaskDefinition output: no network involved.

use std::fs;

use serde_json::Value;

use crate::harness::{
    artifacts, assert_failed, bgtool, file_names, fixture, repository, run, run_with_stdin,
};

const EXAMPLE: &str = "examples/describe-task-definition.json";

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).expect("output exists")).expect("output is JSON")
}

#[test]
fn the_built_in_example_becomes_a_registerable_task_definition() {
    let output = artifacts("taskdef").join("example.json");
    let run = run(bgtool()
        .args(["taskdef", "--input", EXAMPLE, "-o"])
        .arg(&output));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "", "with -o, stdout stays empty");
    let written = fs::read_to_string(&output).unwrap();
    assert!(written.ends_with("}\n"));
    insta::assert_snapshot!("example_taskdef", written);
}

#[test]
fn stdout_is_the_default_and_matches_the_file() {
    let run = run(bgtool().args(["taskdef", "--input", EXAMPLE]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let document: Value = serde_json::from_str(&run.stdout).unwrap();
    for key in [
        "taskDefinitionArn",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
    ] {
        assert!(document.get(key).is_none(), "{key} must be removed");
    }
    assert_eq!(document["enableFaultInjection"], Value::Bool(false));
    assert_eq!(
        document["tags"][1]["value"], "",
        "an empty tag value is kept"
    );
    assert_eq!(
        document["containerDefinitions"][0]["environment"][0]["value"],
        ""
    );
}

#[test]
fn a_bare_document_from_standard_input_gives_the_same_result_without_tags() {
    let wrapped: Value =
        serde_json::from_str(&fs::read_to_string(repository().join(EXAMPLE)).unwrap()).unwrap();
    let bare = serde_json::to_vec(&wrapped["taskDefinition"]).unwrap();
    let from_stdin = run_with_stdin(bgtool().args(["taskdef", "--input", "-"]), Some(&bare));
    assert_eq!(from_stdin.code, 0, "{}", from_stdin.stderr);
    let from_file = run(bgtool().args(["taskdef", "--input", EXAMPLE]));
    let mut expected: Value = serde_json::from_str(&from_file.stdout).unwrap();
    expected.as_object_mut().unwrap().shift_remove("tags");
    assert_eq!(
        from_stdin.stdout,
        format!("{}\n", serde_json::to_string_pretty(&expected).unwrap())
    );
}

#[test]
fn fields_ecs_adds_later_survive_in_order() {
    let output = artifacts("taskdef").join("future-fields.json");
    let run = run(bgtool()
        .args(["taskdef", "--input"])
        .arg(fixture("describe/future-fields.json"))
        .arg("-o")
        .arg(&output));
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(
        "future_fields_taskdef",
        fs::read_to_string(&output).unwrap()
    );
}

#[test]
fn ec2_bridge_task_definitions_keep_host_ports_and_host_volumes() {
    let output = artifacts("taskdef").join("ec2-bridge.json");
    let run = run(bgtool()
        .args(["taskdef", "--input"])
        .arg(fixture("describe/ec2-bridge.json"))
        .args([
            "--image",
            "worker=123456789012.dkr.ecr.us-east-1.amazonaws.com/worker:2026.11.2",
            "-o",
        ])
        .arg(&output));
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("ec2_bridge_taskdef", fs::read_to_string(&output).unwrap());
}

#[test]
fn images_are_set_and_placeholders_numbered() {
    let run = run(bgtool().args([
        "taskdef",
        "--input",
        EXAMPLE,
        "--image",
        "envoy=840364872350.dkr.ecr.eu-west-1.amazonaws.com/aws-appmesh-envoy:v1.30.0.0-prod",
        "--image-placeholder",
        "web",
        "--image-placeholder",
        "log_router",
    ]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let document: Value = serde_json::from_str(&run.stdout).unwrap();
    let images: Vec<&str> = document["containerDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|container| container["image"].as_str().unwrap())
        .collect();
    assert_eq!(
        images,
        [
            "<IMAGE1_NAME>",
            "840364872350.dkr.ecr.eu-west-1.amazonaws.com/aws-appmesh-envoy:v1.30.0.0-prod",
            "<IMAGE2_NAME>"
        ]
    );
    insta::assert_snapshot!("image_notes", run.stderr);
}

#[test]
fn an_unknown_container_lists_the_real_ones_and_writes_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("taskdef.json");
    fs::write(&output, "previous\n").unwrap();
    let run = run(bgtool()
        .args([
            "taskdef",
            "--input",
            EXAMPLE,
            "--image",
            "app=repo/app:1",
            "-o",
        ])
        .arg(&output));
    assert_failed(&run, 1);
    insta::assert_snapshot!("unknown_container", run.stderr);
    assert_eq!(
        fs::read_to_string(&output).unwrap(),
        "previous\n",
        "the existing file is untouched"
    );
    assert_eq!(
        file_names(folder.path()),
        ["taskdef.json"],
        "no temporary file is left"
    );
}

#[test]
fn a_bare_image_with_several_containers_is_refused() {
    let run = run(bgtool().args(["taskdef", "--input", EXAMPLE, "--image", "repo/app:1"]));
    assert_failed(&run, 1);
    assert!(
        run.stderr
            .contains("a bare `--image URI` needs exactly one container, and there are 3"),
        "{}",
        run.stderr
    );
}

#[test]
fn malformed_json_names_the_file_line_and_column_and_writes_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let input = folder.path().join("saved.json");
    fs::write(
        &input,
        "{\n  \"taskDefinition\": {\n    \"family\": \"web\",\n  }\n}\n",
    )
    .unwrap();
    let output = folder.path().join("taskdef.json");
    let run = run(bgtool()
        .args(["taskdef", "--input"])
        .arg(&input)
        .arg("-o")
        .arg(&output));
    assert_failed(&run, 1);
    let stderr = run
        .stderr
        .replace(&folder.path().display().to_string(), "TMP");
    insta::assert_snapshot!("malformed_json", stderr);
    assert!(!output.exists());
    assert_eq!(file_names(folder.path()), ["saved.json"]);
}

#[test]
fn inputs_that_hold_no_task_definition_are_refused() {
    for (input, expected) in [
        ("", "ends before the JSON is complete"),
        ("[]", "expected a JSON object, found a list"),
        ("{\"family\": \"web\"}", "no task definition found"),
        (
            "{\"taskDefinition\": {\"containerDefinitions\": []}}",
            "`containerDefinitions` is empty",
        ),
        ("{\"taskDefinition\": null}", "`taskDefinition` is null"),
        ("\u{feff}{}", "is not valid JSON"),
    ] {
        let run = run_with_stdin(
            bgtool().args(["taskdef", "--input", "-"]),
            Some(input.as_bytes()),
        );
        assert_failed(&run, 1);
        assert!(
            run.stderr.contains(expected),
            "input {input:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("standard input"),
            "the message names the input: {}",
            run.stderr
        );
    }
}

#[test]
fn non_utf8_input_is_an_error_not_a_panic() {
    let run = run_with_stdin(
        bgtool().args(["taskdef", "--input", "-"]),
        Some(b"{\"family\": \"\xff\"}"),
    );
    assert_failed(&run, 1);
    assert!(run.stderr.contains("line 1, column"), "{}", run.stderr);
}

#[test]
fn a_missing_input_file_is_named() {
    let run = run(bgtool().args(["taskdef", "--input", "does-not-exist.json"]));
    assert_failed(&run, 1);
    assert!(
        run.stderr.contains("cannot open `does-not-exist.json`"),
        "{}",
        run.stderr
    );
}

#[test]
fn output_into_a_missing_folder_or_onto_a_folder_fails() {
    let folder = tempfile::tempdir().unwrap();
    let missing = run(bgtool()
        .args(["taskdef", "--input", EXAMPLE, "-o"])
        .arg(folder.path().join("no/such/taskdef.json")));
    assert_failed(&missing, 1);
    assert!(
        missing.stderr.contains("does not exist"),
        "{}",
        missing.stderr
    );
    assert!(missing.stderr.contains("hint: "), "{}", missing.stderr);

    let onto_folder = run(bgtool()
        .args(["taskdef", "--input", EXAMPLE, "-o"])
        .arg(folder.path()));
    assert_failed(&onto_folder, 1);
    assert!(
        onto_folder.stderr.contains("it is a folder"),
        "{}",
        onto_folder.stderr
    );
}

#[test]
fn the_input_file_can_be_rewritten_in_place() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("taskdef.json");
    fs::copy(repository().join(EXAMPLE), &path).unwrap();
    let run = run(bgtool()
        .args(["taskdef", "--input"])
        .arg(&path)
        .arg("-o")
        .arg(&path));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let document = read_json(&path);
    assert!(document.get("taskDefinitionArn").is_none());
    assert_eq!(document["family"], "web");
}

#[test]
fn command_line_mistakes_exit_2() {
    for arguments in [
        vec!["taskdef"],
        vec!["taskdef", "--input", EXAMPLE, "--task-definition", "web"],
        vec!["taskdef", "--service", "web"],
        vec!["taskdef", "--cluster", "main", "--input", EXAMPLE],
        vec!["taskdef", "--input", EXAMPLE, "--image", "app x=repo/app:1"],
        vec![
            "taskdef",
            "--input",
            EXAMPLE,
            "--image",
            "web=repo/app:1",
            "--image-placeholder",
            "web",
        ],
        vec!["taskdef", "--input", EXAMPLE, "--image", "web=has space"],
        vec!["taskdef", "--task-definition", "web", "--timeout", "0"],
        vec!["taskdef", "--task-definition", ""],
        vec!["taskdef", "--input", EXAMPLE, "--no-such-flag"],
    ] {
        let run = run(bgtool().args(&arguments));
        assert_eq!(run.code, 2, "{arguments:?}: {}", run.stderr);
        assert_eq!(run.stdout, "");
        assert!(
            run.stderr.contains("error"),
            "{arguments:?}: {}",
            run.stderr
        );
    }
}
