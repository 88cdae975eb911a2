//! `bgtool render-appspec`: strict templates, generated AppSpecs, validation, cross-checks.

use std::fs;

use crate::harness::{
    artifacts, assert_failed, bgtool, bgtool_on_moto, file_names, fixture, keep_cross_check_pair,
    run, run_with_stdin,
};

const SEED_VARIABLES: [(&str, &str); 7] = [
    ("TASK_DEFINITION", "<TASK_DEFINITION>"),
    ("CONTAINER_NAME", "web"),
    ("SUBNET_1", "subnet-0a1b2c3d"),
    ("SUBNET_2", "subnet-4e5f6a7b"),
    ("SUBNET_3", "subnet-8c9d0e1f"),
    ("SECURITY_GROUP", "sg-0123456789abcdef0"),
    ("ASSIGN", "unused"),
];

fn seed_command() -> std::process::Command {
    let mut command = bgtool();
    // Relative to the repository (the harness's working folder), so messages are the same everywhere.
    command.args([
        "render-appspec",
        "--template",
        "tests/fixtures/appspec/seed-template.yaml",
    ]);
    for (name, value) in &SEED_VARIABLES[..6] {
        command.env(name, value);
    }
    command
}

#[test]
fn the_seed_template_renders_with_its_variables_set() {
    let output = artifacts("appspec").join("seed.yaml");
    let run = run(seed_command().arg("-o").arg(&output));
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("seed_rendered", fs::read_to_string(&output).unwrap());
    // The seed quotes its port: accepted, with a warning that says how to write it.
    insta::assert_snapshot!("seed_warning", run.stderr);
}

#[test]
fn the_seed_template_fails_naming_each_unset_variable_and_writes_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("appspec.yaml");
    for (name, _) in &SEED_VARIABLES[..6] {
        let run = run(seed_command().env_remove(name).arg("-o").arg(&output));
        assert_failed(&run, 1);
        assert!(
            run.stderr
                .contains(&format!("a variable is not set: `{name}` (line ")),
            "{name}: {}",
            run.stderr
        );
        assert!(!output.exists(), "{name}: nothing is written");
    }
    let all_unset = run(bgtool().args([
        "render-appspec",
        "--template",
        "tests/fixtures/appspec/seed-template.yaml",
    ]));
    assert_failed(&all_unset, 1);
    insta::assert_snapshot!("seed_all_unset", all_unset.stderr);
    assert_eq!(file_names(folder.path()), Vec::<String>::new());
}

#[test]
fn set_wins_over_env_file_which_wins_over_the_environment() {
    let folder = tempfile::tempdir().unwrap();
    let env_file = folder.path().join("build.env");
    fs::write(
        &env_file,
        "# from the file\nCONTAINER_NAME=from-file\nexport SUBNET_1=subnet-file\n",
    )
    .unwrap();
    let run = run(seed_command()
        .env("CONTAINER_NAME", "from-environment")
        .arg("--env-file")
        .arg(&env_file)
        .args(["--set", "CONTAINER_NAME=from-set"]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("ContainerName: \"from-set\""),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\"subnet-file\""), "{}", run.stdout);
}

#[test]
fn defaults_dollars_and_comments_render_as_written() {
    let template = "\
# deploy $SERVICE (a comment keeps its $ and its layout)
version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: <TASK_DEFINITION>
        LoadBalancerInfo:
          ContainerName: ${CONTAINER_NAME:-web}
          ContainerPort: ${PORT-8080}   # default port
        PlatformVersion: \"$${NOT_A_VARIABLE}\"
";
    let run = run_with_stdin(
        bgtool()
            .args(["render-appspec", "--template", "-"])
            .env("SERVICE", "web"),
        Some(template.as_bytes()),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("defaults_rendered", run.stdout);
}

#[test]
fn the_reference_template_renders_and_matches_the_task_definition() {
    let output = artifacts("appspec").join("reference-template.yaml");
    let run = run(bgtool()
        .args([
            "render-appspec",
            "--template",
            "appspec_template.yaml",
            "--taskdef",
        ])
        .arg(fixture("appspec/taskdef-web.json"))
        .arg("-o")
        .arg(&output)
        .env("CONTAINER_NAME", "web")
        .env("CONTAINER_PORT", "8080")
        .env("SUBNETS", "subnet-0a1b2c3d,subnet-4e5f6a7b")
        .env("SECURITY_GROUPS", "sg-0123456789abcdef0"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "", "a clean render says nothing");
    keep_cross_check_pair(&output, &fixture("appspec/taskdef-web.json"));
    insta::assert_snapshot!("reference_rendered", fs::read_to_string(&output).unwrap());
}

#[test]
fn flags_generate_a_complete_appspec() {
    let output = artifacts("appspec").join("generated.yaml");
    let run = run(bgtool()
        .args([
            "render-appspec",
            "--container-name",
            "web",
            "--container-port",
            "8080",
            "--platform-version",
            "1.4.0",
            "--subnets",
            "subnet-0a1b2c3d,subnet-4e5f6a7b",
            "--security-groups",
            "sg-0123456789abcdef0",
            "--assign-public-ip",
            "DISABLED",
            "--capacity-provider",
            "FARGATE:1:1",
            "--capacity-provider",
            "FARGATE_SPOT::3",
            "--hook",
            "AfterAllowTestTraffic=arn:aws:lambda:us-east-1:123456789012:function:smoke",
            "--hook",
            "BeforeAllowTraffic=web-check",
            "--taskdef",
        ])
        .arg(fixture("appspec/taskdef-web.json"))
        .arg("-o")
        .arg(&output));
    assert_eq!(run.code, 0, "{}", run.stderr);
    keep_cross_check_pair(&output, &fixture("appspec/taskdef-web.json"));
    insta::assert_snapshot!("generated_yaml", fs::read_to_string(&output).unwrap());
}

#[test]
fn json_output_is_the_same_document() {
    let output = artifacts("appspec").join("generated-json.json");
    let run = run(bgtool()
        .args([
            "render-appspec",
            "--container-name",
            "web",
            "--container-port",
            "8080",
            "--format",
            "json",
            "-o",
        ])
        .arg(&output));
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("generated_json", fs::read_to_string(&output).unwrap());
}

#[test]
fn a_live_service_supplies_network_and_platform() {
    let output = artifacts("appspec").join("from-service.yaml");
    let run = run(bgtool_on_moto()
        .args([
            "render-appspec",
            "--from-service",
            "web",
            "--cluster",
            "bgtool-test",
            "--container-name",
            "app",
            "--container-port",
            "8080",
            "--hook",
            "AfterAllowTestTraffic=smoke",
            "-o",
        ])
        .arg(&output));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let written = fs::read_to_string(&output).unwrap();
    // moto invents subnet and group IDs; the shape is what matters.
    assert!(written.contains("Subnets:\n"), "{written}");
    assert!(written.contains("AssignPublicIp: DISABLED"), "{written}");
    assert!(written.contains("ContainerName: app"), "{written}");
}

#[test]
fn a_live_service_without_a_load_balancer_needs_the_flags() {
    let run = run(bgtool_on_moto().args([
        "render-appspec",
        "--from-service",
        "worker",
        "--cluster",
        "bgtool-test",
    ]));
    assert_failed(&run, 2);
    assert!(run.stderr.contains("no load balancer"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("hint: pass `--container-name` and `--container-port`"),
        "{}",
        run.stderr
    );
}

#[test]
fn each_common_mistake_gets_its_own_error_and_nothing_is_written() {
    let valid = fs::read_to_string(fixture("appspec/valid.yaml")).unwrap();
    let cases = [
        ("version_1", valid.replace("version: 0.0", "version: 1")),
        (
            "ec2_keys",
            valid.replace(
                "Resources:",
                "os: linux\nfiles:\n  - source: /\n    destination: /srv\nResources:",
            ),
        ),
        (
            "typo_key",
            valid.replace("LoadBalancerInfo:", "LoadBalancerInf:"),
        ),
        (
            "wildcard_arn",
            valid
                .replace("task-definition/web:42", "task-definition/web:*")
                .replace("ContainerPort: 8080", "ContainerPort: 0"),
        ),
        (
            "empty_container",
            valid.replace("ContainerName: \"web\"", "ContainerName: \"\""),
        ),
        (
            "string_port",
            valid.replace("ContainerPort: 8080", "ContainerPort: \"eighty\""),
        ),
        (
            "empty_subnets",
            valid.replace("[\"subnet-0a1b2c3d\", \"subnet-4e5f6a7b\"]", "[]"),
        ),
        ("bad_public_ip", valid.replace("\"DISABLED\"", "\"true\"")),
        (
            "bad_hook",
            valid.replace("AfterAllowTestTraffic:", "AfterTestTraffic:"),
        ),
        (
            "two_resources",
            valid.replace("Resources:\n", "Resources:\n  - TargetService: {}\n"),
        ),
        (
            "malformed_yaml",
            valid.replace(
                "      Type: AWS::ECS::Service",
                "    Type: [AWS::ECS::Service",
            ),
        ),
        (
            "malformed_json",
            "{\"version\": 0.0, \"Resources\": [}".to_owned(),
        ),
    ];
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("appspec.yaml");
    for (name, text) in cases {
        let run = run_with_stdin(
            bgtool()
                .args(["render-appspec", "--template", "-", "-o"])
                .arg(&output),
            Some(text.as_bytes()),
        );
        assert_failed(&run, 1);
        assert!(!output.exists(), "{name}: nothing is written");
        insta::assert_snapshot!(format!("mistake_{name}"), run.stderr);
    }
    assert_eq!(file_names(folder.path()), Vec::<String>::new());
}

#[test]
fn a_family_name_as_task_definition_is_a_warning() {
    let run = run(bgtool().args([
        "render-appspec",
        "--container-name",
        "web",
        "--container-port",
        "80",
        "--task-definition",
        "web",
    ]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("bgtool: warning: the generated AppSpec: `Resources[0].TargetService.Properties.TaskDefinition`: `web` is neither `<TASK_DEFINITION>`"), "{}", run.stderr);
}

#[test]
fn the_cross_check_names_the_containers_and_ports_that_exist() {
    let taskdef = fixture("appspec/taskdef-web.json");
    let wrong_container = run(bgtool()
        .args([
            "render-appspec",
            "--container-name",
            "app",
            "--container-port",
            "8080",
            "--taskdef",
        ])
        .arg(&taskdef));
    assert_failed(&wrong_container, 1);
    insta::assert_snapshot!("cross_check_container", wrong_container.stderr);
    let wrong_port = run(bgtool()
        .args([
            "render-appspec",
            "--container-name",
            "web",
            "--container-port",
            "80",
            "--taskdef",
        ])
        .arg(&taskdef));
    assert_failed(&wrong_port, 1);
    insta::assert_snapshot!("cross_check_port", wrong_port.stderr);
}

#[test]
fn a_malformed_reference_is_refused_with_its_position() {
    let run = run_with_stdin(
        bgtool().args(["render-appspec", "--template", "-"]),
        Some(b"version: 0.0\nResources:\n  - x: ${BROKEN\n"),
    );
    assert_failed(&run, 1);
    assert!(
        run.stderr
            .contains("line 3, column 8: `${BROKEN` is not a variable reference"),
        "{}",
        run.stderr
    );
}

#[test]
fn command_line_mistakes_exit_2() {
    for arguments in [
        vec!["render-appspec"],
        vec!["render-appspec", "--container-name", "web"],
        vec![
            "render-appspec",
            "--template",
            "appspec_template.yaml",
            "--container-name",
            "web",
        ],
        vec![
            "render-appspec",
            "--template",
            "appspec_template.yaml",
            "--format",
            "json",
        ],
        vec![
            "render-appspec",
            "--container-name",
            "web",
            "--container-port",
            "0",
        ],
        vec![
            "render-appspec",
            "--container-name",
            "web",
            "--container-port",
            "80",
            "--hook",
            "AfterTraffic=x",
        ],
        vec![
            "render-appspec",
            "--container-name",
            "web",
            "--container-port",
            "80",
            "--assign-public-ip",
            "yes",
        ],
        vec![
            "render-appspec",
            "--container-name",
            "web",
            "--container-port",
            "80",
            "--security-groups",
            "sg-1",
        ],
        vec![
            "render-appspec",
            "--container-name",
            "web",
            "--container-port",
            "80",
            "--subnets",
            "a,,b",
        ],
        vec!["render-appspec", "--set", "A=1"],
        vec![
            "render-appspec",
            "--template",
            "appspec_template.yaml",
            "--set",
            "1A=1",
        ],
        vec!["render-appspec", "--from-service", "web"],
    ] {
        let run = run(bgtool().args(&arguments));
        assert_eq!(run.code, 2, "{arguments:?}: {}", run.stderr);
        assert_eq!(run.stdout, "");
    }
}

/// The AppSpec reference: "All or none of the settings under NetworkConfiguration must be
/// specified". Subnets alone used to be written, and CodeDeploy failed the deployment later.
#[test]
fn a_partial_network_configuration_is_refused_naming_what_is_missing() {
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("appspec.yaml");
    let run = run(bgtool()
        .args([
            "render-appspec",
            "--container-name",
            "web",
            "--container-port",
            "8080",
            "--subnets",
            "subnet-0a1b2c3d",
            "-o",
        ])
        .arg(&output));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "the network configuration is incomplete: missing `--security-groups`, `--assign-public-ip`"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
    assert!(!output.exists(), "nothing is written");

    // A template that leaves SecurityGroups and AssignPublicIp out is refused by `check` too.
    let template = folder.path().join("partial.yaml");
    fs::write(
        &template,
        "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\n        NetworkConfiguration:\n          AwsvpcConfiguration:\n            Subnets: [subnet-0a1b2c3d]\n",
    )
    .unwrap();
    let checked = run_check(&template);
    assert_eq!(checked.code, 1, "{}", checked.stderr);
    assert!(
        checked
            .stderr
            .contains("AwsvpcConfiguration.SecurityGroups`: is required"),
        "{}",
        checked.stderr
    );
}

fn run_check(appspec: &std::path::Path) -> crate::harness::Run {
    run(bgtool().args(["check", "--appspec"]).arg(appspec))
}
