//! `bgtool emit-hcl`: the Terraform stack. Every emitted file must parse as HCL; `.ci/run` runs the
//! oracles (terraform fmt, the provider schema, checkov) on the matrix written here.

use std::fs;
use std::path::Path;

use crate::harness::{
    artifacts, bgtool, elf_fixture, file_names, repository, run, static_binary_fixture,
};

const CERTIFICATE: &str =
    "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";

fn emit(arguments: &[&str]) -> String {
    let result = run(bgtool().arg("emit-hcl").args(arguments));
    assert_eq!(result.code, 0, "{arguments:?}: {}", result.stderr);
    assert_eq!(result.stderr, "", "{arguments:?}: a clean run says nothing");
    result.stdout
}

/// Parses HCL and returns the `TYPE.NAME` of every resource and data block.
fn resources(text: &str) -> Vec<String> {
    let body: hcl::Body =
        hcl::parse(text).unwrap_or_else(|error| panic!("emitted HCL does not parse: {error}"));
    body.blocks()
        .filter(|block| block.identifier() == "resource" || block.identifier() == "data")
        .map(|block| {
            let labels: Vec<&str> = block.labels().iter().map(hcl::BlockLabel::as_str).collect();
            let prefix = if block.identifier() == "data" {
                "data."
            } else {
                ""
            };
            format!("{prefix}{}", labels.join("."))
        })
        .collect()
}

/// A unified diff (one line of context) between two renderings: what a flag changes.
fn changes(before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(1)
        .to_string()
}

#[test]
fn the_default_stack_parses_and_has_every_part() {
    let text = emit(&[]);
    let names = resources(&text);
    for expected in [
        "aws_vpc.main",
        "aws_flow_log.main",
        "aws_default_security_group.default",
        "aws_lb.main",
        "aws_lb_target_group.blue",
        "aws_lb_target_group.green",
        "aws_lb_listener.production",
        "aws_lb_listener.test",
        "aws_ecr_repository.app",
        "aws_ecr_lifecycle_policy.app",
        "aws_ecs_cluster.main",
        "aws_ecs_task_definition.app",
        "aws_ecs_service.app",
        "aws_iam_role.execution",
        "aws_iam_role.task",
        "aws_iam_role.codebuild",
        "aws_iam_role.codepipeline",
        "aws_iam_role.codedeploy",
        "aws_s3_bucket.artifacts",
        "aws_s3_bucket_public_access_block.artifacts",
        "aws_s3_bucket_versioning.artifacts",
        "aws_s3_bucket_server_side_encryption_configuration.artifacts",
        "aws_s3_bucket_lifecycle_configuration.artifacts",
        "aws_codestarconnections_connection.github",
        "aws_codebuild_project.build",
        "aws_codepipeline.main",
        "aws_codedeploy_app.main",
        "aws_codedeploy_deployment_group.main",
    ] {
        assert!(
            names.iter().any(|name| name == expected),
            "missing {expected}"
        );
    }
    insta::assert_snapshot!("default_main_tf", text);
}

#[test]
fn a_module_directory_holds_the_conventional_split_and_the_build_files() {
    let folder = artifacts("hcl").join("module-default");
    let _ = fs::remove_dir_all(&folder);
    let result = run(bgtool()
        .args(["emit-hcl", "--bgtool-binary"])
        .arg(static_binary_fixture())
        .arg("--out-dir")
        .arg(&folder));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(result.stdout, "", "with --out-dir, stdout stays empty");
    assert_eq!(result.stderr, "", "a clean run says nothing");
    assert_eq!(
        file_names(&folder),
        [
            "alarms.tf",
            "alb.tf",
            "appspec_template.yaml",
            "bgtool",
            "buildspec.yml",
            "ecs.tf",
            "iam.tf",
            "network.tf",
            "outputs.tf",
            "pipeline.tf",
            "variables.tf",
            "versions.tf",
        ]
    );
    let mut all = Vec::new();
    for name in file_names(&folder).iter().filter(|name| {
        Path::new(name)
            .extension()
            .is_some_and(|extension| extension == "tf")
    }) {
        all.extend(resources(&fs::read_to_string(folder.join(name)).unwrap()));
    }
    let mut single = resources(&emit(&[]));
    all.sort();
    single.sort();
    assert_eq!(
        all, single,
        "the module holds exactly the single file's blocks"
    );
    for build_file in ["buildspec.yml", "appspec_template.yaml"] {
        assert_eq!(
            fs::read(folder.join(build_file)).unwrap(),
            fs::read(repository().join(build_file)).unwrap(),
            "{build_file} is the tested reference file"
        );
    }
}

/// Every variable the emitted buildspec.yml and appspec_template.yaml read is one the CodeBuild
/// project sets (or CodeBuild itself, or the buildspec defines).
#[test]
fn the_codebuild_project_sets_every_variable_the_build_files_read() {
    let text = emit(&[]);
    let set_by_codebuild = [
        "AWS_DEFAULT_REGION",
        "CODEBUILD_RESOLVED_SOURCE_VERSION",
        "IMAGE_TAG",
    ];
    let with_default = ["PLATFORM_VERSION"];
    for file in ["buildspec.yml", "appspec_template.yaml"] {
        let source = fs::read_to_string(repository().join(file)).unwrap();
        for line in source
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
        {
            for (index, _) in line.match_indices('$') {
                let rest = line[index + 1..].trim_start_matches('{');
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || *c == '_' || c.is_ascii_digit())
                    .collect();
                if name.is_empty()
                    || set_by_codebuild.contains(&name.as_str())
                    || with_default.contains(&name.as_str())
                {
                    continue;
                }
                assert!(
                    text.contains(&format!("name  = \"{name}\"")),
                    "{file} reads ${name}, which the CodeBuild project does not set"
                );
            }
        }
    }
}

#[test]
fn each_flag_changes_what_it_says() {
    let default = emit(&[]);
    let cases: [(&str, &[&str]); 13] = [
        ("name", &["--name", "payments"]),
        ("region", &["--region", "eu-west-3"]),
        ("azs", &["--azs", "2"]),
        ("private_subnets", &["--private-subnets"]),
        ("certificate", &["--certificate-arn", CERTIFICATE]),
        (
            "container",
            &["--container-name", "web", "--container-port", "8080"],
        ),
        ("size", &["--cpu", "1024", "--memory", "3072"]),
        ("desired_count", &["--desired-count", "4"]),
        ("health_check", &["--health-check-path", "/healthz"]),
        ("migrate", &["--migrate-command", "bin/rails   db:migrate"]),
        (
            "github",
            &[
                "--github-repo",
                "acme/payments",
                "--branch",
                "release/2026.11",
            ],
        ),
        (
            "deployment_config",
            &["--deployment-config", "Canary10Percent5Minutes"],
        ),
        (
            "full_deployment_config",
            &[
                "--deployment-config",
                "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
            ],
        ),
    ];
    for (name, arguments) in cases {
        let flagged = emit(arguments);
        resources(&flagged);
        insta::assert_snapshot!(format!("flag_{name}"), changes(&default, &flagged));
    }
}

/// The matrix `.ci/run` hands to the oracles: check-hcl and check-tf-validate on every folder,
/// check-tf (real provider, plan on moto) on these CodeDeploy ones. HTTPS on/off, private subnets
/// on/off, 2 and 3 zones, each deployment configuration, and the Regions that broke plans: one
/// whose accounts see 2 zones (us-west-1, default --azs 3), ones the provider's ELB account table
/// lacks (il-central-1, eu-central-2), and a container port other than 80.
#[test]
fn the_oracle_matrix_is_written() {
    let matrix: [(&str, &[&str]); 15] = [
        ("http-public-3az", &[]),
        ("http-private-2az", &["--private-subnets", "--azs", "2"]),
        (
            "https-public-2az",
            &["--certificate-arn", CERTIFICATE, "--azs", "2"],
        ),
        (
            "https-private-3az",
            &["--certificate-arn", CERTIFICATE, "--private-subnets"],
        ),
        (
            "linear-1",
            &["--deployment-config", "Linear10PercentEvery1Minutes"],
        ),
        (
            "linear-3",
            &["--deployment-config", "Linear10PercentEvery3Minutes"],
        ),
        (
            "canary-5",
            &["--deployment-config", "Canary10Percent5Minutes"],
        ),
        (
            "canary-15",
            &[
                "--deployment-config",
                "Canary10Percent15Minutes",
                "--private-subnets",
            ],
        ),
        (
            "all-at-once-https",
            &[
                "--deployment-config",
                "AllAtOnce",
                "--certificate-arn",
                CERTIFICATE,
            ],
        ),
        ("us-west-1-default-azs", &["--region", "us-west-1"]),
        ("il-central-1", &["--region", "il-central-1"]),
        (
            "eu-central-2-https-private",
            &[
                "--region",
                "eu-central-2",
                "--certificate-arn",
                "arn:aws:acm:eu-central-2:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
                "--private-subnets",
            ],
        ),
        ("container-port-8080", &["--container-port", "8080"]),
        (
            "smoke-test-private",
            &[
                "--private-subnets",
                "--smoke-test",
                "/health",
                "--smoke-test",
                "GET /ready status=200 requests=3 may-fail=1",
            ],
        ),
        ("smoke-test-public", &["--smoke-test", "/health"]),
    ];
    let binary = static_binary_fixture();
    for (name, arguments) in matrix {
        let folder = artifacts("hcl").join(name);
        let _ = fs::remove_dir_all(&folder);
        let result = run(bgtool()
            .arg("emit-hcl")
            .args(arguments)
            .arg("--bgtool-binary")
            .arg(&binary)
            .arg("--out-dir")
            .arg(&folder));
        assert_eq!(result.code, 0, "{name}: {}", result.stderr);
        assert_eq!(result.stderr, "", "{name}: a clean run says nothing");
        assert_eq!(
            fs::read(folder.join("bgtool")).unwrap(),
            fs::read(&binary).unwrap(),
            "{name}: the build's binary is beside the module"
        );
        // CodeDeploy stacks admit the real hashicorp/aws 5.100 (check-tf); ECS-native needs 6.21.
        let versions = fs::read_to_string(folder.join("versions.tf")).unwrap();
        assert!(
            versions.contains(r#"version = ">= 5.100, < 7.0""#),
            "{name}: {versions}"
        );
    }
    let single = artifacts("hcl").join("single-file");
    fs::create_dir_all(&single).unwrap();
    fs::write(single.join("main.tf"), emit(&[])).unwrap();
    fs::copy(&binary, single.join("bgtool")).unwrap();
}

const HOOK: &str =
    "POST_TEST_TRAFFIC_SHIFT=arn:aws:lambda:us-east-1:123456789012:function:smoke-test";

/// ECS-native blue/green: the same stack without CodeDeploy, and the matrix `.ci/run` checks.
#[test]
fn the_ecs_native_stack_has_no_codedeploy_and_its_own_build_file() {
    let text = emit(&["--strategy", "ecs-native"]);
    let names = resources(&text);
    for expected in [
        "aws_lb_listener_rule.production",
        "aws_lb_listener_rule.test",
        "aws_iam_role.ecs_infrastructure",
        "aws_iam_role.ecs_hooks",
        "aws_ecs_service.app",
    ] {
        assert!(
            names.iter().any(|name| name == expected),
            "missing {expected}"
        );
    }
    assert!(
        !text.contains("codedeploy"),
        "no CodeDeploy resource or permission"
    );
    // Not the standard ECS action: it would deploy the running revision, not Terraform's latest.
    assert!(
        !text.contains("provider        = \"ECS\""),
        "no standard ECS action"
    );
    assert!(
        text.contains("ProjectName = aws_codebuild_project.deploy.name"),
        "the Deploy stage runs bgtool deploy in CodeBuild"
    );
    // The deploy project's buildspec is the template, inlined as it is.
    let inlined = text
        .split("    buildspec = <<-EOT\n")
        .nth(1)
        .and_then(|rest| rest.split("\n    EOT\n").next())
        .expect("an inlined buildspec");
    assert_eq!(
        format!("{inlined}\n"),
        fs::read_to_string(repository().join("templates/buildspec-ecs-native-deploy.yml")).unwrap()
    );
    // The Deploy stage's role and the deploy_policy_json output share one list of statements,
    // with every ECS, Elastic Load Balancing and IAM action of examples/deploy-policy.json.
    assert!(text.contains("    ], local.bgtool_deploy_statements)\n"));
    assert!(text.contains("output \"deploy_policy_json\""));
    let example: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(repository().join("examples/deploy-policy.json")).unwrap(),
    )
    .unwrap();
    // verify's statements come first, in a list of their own the build role shares.
    assert!(text.contains("  ], local.verify_statements)\n"));
    let statements = text
        .split("  verify_statements = [")
        .nth(1)
        .expect("the statements");
    for statement in example["Statement"].as_array().unwrap() {
        let actions = match &statement["Action"] {
            serde_json::Value::Array(actions) => actions.clone(),
            action => vec![action.clone()],
        };
        for action in actions {
            let action = action.as_str().unwrap();
            if !action.starts_with("codedeploy:") {
                assert!(
                    statements.contains(&format!("\"{action}\"")),
                    "{action} is not allowed"
                );
            }
        }
    }
    insta::assert_snapshot!("ecs_native_main_tf", text);
}

/// The ECS-native module folder: its build's buildspec, and every variable each of its two
/// CodeBuild projects reads set on that project.
#[test]
fn the_ecs_native_module_sets_what_its_buildspecs_read() {
    let folder = artifacts("hcl").join("ecs-native-module");
    let _ = fs::remove_dir_all(&folder);
    let result = run(bgtool()
        .args(["emit-hcl", "--strategy", "ecs-native", "--bgtool-binary"])
        .arg(static_binary_fixture())
        .arg("--out-dir")
        .arg(&folder));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        !folder.join("appspec_template.yaml").exists(),
        "no AppSpec with ECS-native deployments"
    );
    assert_eq!(
        fs::read(folder.join("buildspec.yml")).unwrap(),
        fs::read(repository().join("templates/buildspec-ecs-native.yml")).unwrap()
    );
    let pipeline = fs::read_to_string(folder.join("pipeline.tf")).unwrap();
    let project = |name: &str| {
        let start = pipeline
            .find(&format!("resource \"aws_codebuild_project\" \"{name}\""))
            .unwrap_or_else(|| panic!("no CodeBuild project {name}"));
        let length = pipeline[start..].find("\n}\n").unwrap();
        pipeline[start..start + length].to_owned()
    };
    let build_variables = [
        "REPOSITORY_URI",
        "CONTAINER_NAME",
        "CLUSTER_NAME",
        "SERVICE_NAME",
        "TASK_FAMILY",
        "BGTOOL_URL",
        "BGTOOL_S3_URI",
        "BGTOOL_SHA256",
    ];
    let deploy_variables = [
        "CLUSTER_NAME",
        "SERVICE_NAME",
        "BGTOOL_URL",
        "BGTOOL_S3_URI",
        "BGTOOL_SHA256",
    ];
    for (project_name, file, variables) in [
        (
            "build",
            "templates/buildspec-ecs-native.yml",
            &build_variables[..],
        ),
        (
            "deploy",
            "templates/buildspec-ecs-native-deploy.yml",
            &deploy_variables[..],
        ),
    ] {
        let buildspec = fs::read_to_string(repository().join(file)).unwrap();
        let project = project(project_name);
        for variable in variables {
            assert!(
                buildspec.contains(&format!("${variable}")),
                "{file} reads {variable}"
            );
            assert!(
                project.contains(&format!("name  = \"{variable}\"")),
                "CodeBuild project {project_name} sets {variable}"
            );
        }
    }
}

#[test]
fn each_ecs_native_kind_maps_to_the_provider_blocks() {
    let default = emit(&["--strategy", "ecs-native"]);
    let cases: [(&str, &[&str]); 4] = [
        (
            "canary",
            &[
                "--strategy-kind",
                "canary",
                "--canary-percent",
                "5",
                "--canary-bake-time",
                "15",
            ],
        ),
        (
            "linear",
            &[
                "--strategy-kind",
                "linear",
                "--linear-step-percent",
                "20",
                "--linear-step-bake-time",
                "3",
            ],
        ),
        ("bake_time", &["--bake-time", "30"]),
        (
            "hooks",
            &[
                "--lifecycle-hook",
                HOOK,
                "--lifecycle-hook",
                "PRE_SCALE_UP=arn:aws:lambda:us-east-1:123456789012:function:warm-up",
            ],
        ),
    ];
    for (name, arguments) in cases {
        let mut all = vec!["--strategy", "ecs-native"];
        all.extend_from_slice(arguments);
        let flagged = emit(&all);
        resources(&flagged);
        insta::assert_snapshot!(format!("ecs_native_{name}"), changes(&default, &flagged));
    }
}

/// The ECS-native matrix for check-hcl: each kind; HTTPS on/off; private subnets on/off; hooks.
#[test]
fn the_ecs_native_oracle_matrix_is_written() {
    let matrix: [(&str, &[&str]); 8] = [
        ("ecs-blue-green-http-public", &[]),
        (
            "ecs-blue-green-https-private-hooks",
            &[
                "--certificate-arn",
                CERTIFICATE,
                "--private-subnets",
                "--lifecycle-hook",
                HOOK,
            ],
        ),
        (
            "ecs-canary-http-private",
            &["--strategy-kind", "canary", "--private-subnets"],
        ),
        (
            "ecs-canary-https-public-hooks",
            &[
                "--strategy-kind",
                "canary",
                "--certificate-arn",
                CERTIFICATE,
                "--lifecycle-hook",
                HOOK,
            ],
        ),
        (
            "ecs-linear-https-private",
            &[
                "--strategy-kind",
                "linear",
                "--certificate-arn",
                CERTIFICATE,
                "--private-subnets",
                "--azs",
                "2",
            ],
        ),
        (
            "ecs-linear-http-public-hooks",
            &["--strategy-kind", "linear", "--lifecycle-hook", HOOK],
        ),
        (
            "ecs-canary-private-smoke-test-hooks",
            &[
                "--strategy-kind",
                "canary",
                "--private-subnets",
                "--smoke-test",
                "/health",
                "--lifecycle-hook",
                HOOK,
            ],
        ),
        (
            "ecs-linear-public-smoke-test",
            &["--strategy-kind", "linear", "--smoke-test", "/health"],
        ),
    ];
    for (name, arguments) in matrix {
        let folder = artifacts("hcl").join(name);
        let _ = fs::remove_dir_all(&folder);
        let result = run(bgtool()
            .args(["emit-hcl", "--strategy", "ecs-native"])
            .args(arguments)
            .arg("--bgtool-binary")
            .arg(static_binary_fixture())
            .arg("--out-dir")
            .arg(&folder));
        assert_eq!(result.code, 0, "{name}: {}", result.stderr);
        let versions = fs::read_to_string(folder.join("versions.tf")).unwrap();
        assert!(
            versions.contains(r#"version = ">= 6.21, < 7.0""#),
            "{name}: {versions}"
        );
    }
}

#[test]
fn ecs_native_mistakes_are_refused_before_anything_is_written() {
    let cases: [(&[&str], &str); 11] = [
        // The deploy build may run 8 hours, CodeBuild's limit; 70 minutes go to tasks and rollback.
        (
            &[
                "--strategy",
                "ecs-native",
                "--strategy-kind",
                "canary",
                "--canary-bake-time",
                "360",
                "--bake-time",
                "51",
            ],
            "the deployment would wait 411 minutes in bake and step times; with 70 minutes for starting tasks and a rollback, the pipeline's deploy build would outlast CodeBuild's 8 hours (480 minutes)",
        ),
        (
            &[
                "--strategy",
                "ecs-native",
                "--strategy-kind",
                "linear",
                "--linear-step-percent",
                "3",
                "--linear-step-bake-time",
                "70",
            ],
            "would wait 2390 minutes",
        ),
        (
            &[
                "--strategy",
                "ecs-native",
                "--lifecycle-hook",
                "AFTER_TRAFFIC=arn:aws:lambda:us-east-1:123456789012:function:x",
            ],
            "`AFTER_TRAFFIC` is not an ECS deployment stage; use one of RECONCILE_SERVICE",
        ),
        (
            &[
                "--strategy",
                "ecs-native",
                "--lifecycle-hook",
                "PRE_SCALE_UP=smoke-test",
            ],
            "`smoke-test` is not a Lambda function ARN",
        ),
        (
            &[
                "--strategy",
                "ecs-native",
                "--lifecycle-hook",
                "PRE_SCALE_UP=arn:aws:sqs:us-east-1:123456789012:queue",
            ],
            "is not a Lambda function ARN",
        ),
        (
            &[
                "--strategy",
                "ecs-native",
                "--lifecycle-hook",
                "PRE_SCALE_UP",
            ],
            "expected STAGE=FUNCTION_ARN",
        ),
        (
            &[
                "--strategy",
                "ecs-native",
                "--deployment-config",
                "AllAtOnce",
            ],
            "`--deployment-config` names a CodeDeploy configuration",
        ),
        (
            &["--strategy", "ecs-native", "--canary-percent", "5"],
            "`--canary-percent` does not apply to `--strategy-kind blue-green`",
        ),
        (
            &[
                "--strategy",
                "ecs-native",
                "--strategy-kind",
                "canary",
                "--canary-percent",
                "0",
            ],
            "ECS accepts 0.1 to 100 percent",
        ),
        (
            &["--strategy", "ecs-native", "--bake-time", "1441"],
            "ECS accepts 0 to 1440 minutes",
        ),
        (
            &["--strategy-kind", "linear"],
            "`--strategy-kind` applies to `--strategy ecs-native` only",
        ),
    ];
    assert_refused(&cases);
}

#[test]
fn bad_values_are_refused_before_anything_is_written() {
    let cases: [(&[&str], &str); 20] = [
        (
            &["--name", "a-name-that-is-far-too-long-x"],
            "`--name a-name-that-is-far-too-long-x`: the name is 29 characters long",
        ),
        (&["--name", "Payments"], "may hold only lowercase letters"),
        (&["--name", "pay\"${x}"], "may hold only lowercase letters"),
        (&["--region", "Mars-1"], "is not an AWS Region name"),
        (&["--azs", "1"], "at least 2 Availability Zones"),
        (
            &[
                "--certificate-arn",
                "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d",
            ],
            "the certificate is in `eu-west-1`",
        ),
        (
            &["--certificate-arn", "not-an-arn"],
            "expected an ACM certificate ARN",
        ),
        (
            &["--cpu", "256", "--memory", "4096"],
            "with 256 CPU units Fargate offers 512 to 2048 MiB",
        ),
        (&["--container-port", "0"], "a port is 1 to 65535"),
        (
            &["--container-name", "my app"],
            "a container name is 1 to 255",
        ),
        (
            &["--health-check-path", "health\"${x}"],
            "expected a path starting with `/`",
        ),
        (&["--github-repo", "acme/pay\"ments"], "expected OWNER/NAME"),
        (&["--branch", "main..x"], "not a valid git branch name"),
        (
            &["--deployment-config", "Linear"],
            "not an ECS deployment configuration; use one of AllAtOnce",
        ),
        (
            &["--name", "sg-app"],
            "must not start with `sg-` (EC2 refuses security group names that do",
        ),
        (
            &["--region", "cn-north-1"],
            "`--region cn-north-1`: emit-hcl writes stacks for Regions of the commercial `aws` partition only",
        ),
        (
            &["--region", "us-gov-west-1"],
            "commercial `aws` partition only",
        ),
        (
            &[
                "--bgtool-url",
                "http://releases.example.com/bgtool",
                "--bgtool-sha256",
                SHA256,
            ],
            "expected an https:// URL",
        ),
        (
            &[
                "--bgtool-url",
                "https://releases.example.com/bgtool",
                "--bgtool-sha256",
                "ABC",
            ],
            "expected 64 lowercase hexadecimal digits",
        ),
        (
            &["--bgtool-url", "https://releases.example.com/bgtool"],
            "--bgtool-sha256 <HEX>",
        ),
    ];
    assert_refused(&cases);
}

const SHA256: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The build's binary must be one CodeBuild's x86_64 Linux image runs with no libraries: a file
/// that is not is refused by name and reason, before anything is written.
#[test]
fn a_build_binary_the_build_cannot_run_is_refused() {
    let text = artifacts("fixtures").join("not-a-binary.sh");
    fs::write(&text, "#!/bin/sh\necho not bgtool\n").unwrap();
    let dynamic = elf_fixture("dynamic-x86_64", 0x3E, &[6, 3, 1]);
    let arm = elf_fixture("static-aarch64", 0xB7, &[1]);
    let missing = artifacts("fixtures").join("no-such-file");
    let cases: [(&std::path::Path, &str); 4] = [
        (&text, "is not an ELF executable"),
        (&dynamic, "is linked dynamically"),
        (&arm, "is built for aarch64, not x86_64"),
        (&missing, "cannot read it"),
    ];
    let parent = tempfile::tempdir().unwrap();
    let folder = parent.path().join("stack");
    for (binary, expected) in cases {
        let result = run(bgtool()
            .arg("emit-hcl")
            .arg("--bgtool-binary")
            .arg(binary)
            .arg("--out-dir")
            .arg(&folder));
        assert_eq!(result.code, 2, "{}", result.stderr);
        assert!(
            result
                .stderr
                .contains(&format!("`--bgtool-binary {}`", binary.display()))
                && result.stderr.contains(expected),
            "{}",
            result.stderr
        );
        assert!(result.stderr.contains("hint: "), "{}", result.stderr);
        assert!(!folder.exists(), "nothing is written");
    }
    // Standard output has no folder to put a binary in.
    let result = run(bgtool()
        .arg("emit-hcl")
        .arg("--bgtool-binary")
        .arg(static_binary_fixture()));
    assert_eq!(result.code, 2, "{}", result.stderr);
    assert!(result.stderr.contains("--out-dir"), "{}", result.stderr);
}

/// A given binary is copied whole and executable; a URL puts no binary in the module and
/// becomes the stack's default.
#[test]
fn the_build_binary_lands_beside_the_module_or_comes_from_a_url() {
    let parent = tempfile::tempdir().unwrap();
    let folder = parent.path().join("stack");
    let result = run(bgtool()
        .arg("emit-hcl")
        .arg("--bgtool-binary")
        .arg(static_binary_fixture())
        .arg("--out-dir")
        .arg(&folder));
    assert_eq!(result.code, 0, "{}", result.stderr);
    let copied = folder.join("bgtool");
    assert_eq!(
        fs::read(&copied).unwrap(),
        fs::read(static_binary_fixture()).unwrap()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&copied).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }

    let hosted = parent.path().join("hosted");
    let result = run(bgtool()
        .args([
            "emit-hcl",
            "--bgtool-url",
            "https://releases.example.com/bgtool-0.1.0-x86_64-linux",
            "--bgtool-sha256",
            SHA256,
            "--out-dir",
        ])
        .arg(&hosted));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(result.stderr, "", "a URL needs no binary, so no warning");
    assert!(!hosted.join("bgtool").exists());
    let variables = fs::read_to_string(hosted.join("variables.tf")).unwrap();
    assert!(
        variables
            .contains(r#"default     = "https://releases.example.com/bgtool-0.1.0-x86_64-linux""#)
    );
    assert!(variables.contains(&format!(r#"default     = "{SHA256}""#)));
}

/// A debug build (what `cargo test` runs) never ships itself: it says so, and how to give a
/// binary, and writes the module without one, which Terraform then refuses to plan.
#[test]
fn a_debug_build_warns_that_the_module_has_no_binary() {
    let parent = tempfile::tempdir().unwrap();
    let folder = parent.path().join("stack");
    let result = run(bgtool().arg("emit-hcl").arg("--out-dir").arg(&folder));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        result.stderr.contains(
            "bgtool: warning: the module has no `bgtool` for the pipeline's build: this bgtool is a debug build"
        ),
        "{}",
        result.stderr
    );
    assert!(result.stderr.contains("hint: pass `--bgtool-binary PATH`"));
    assert!(!folder.join("bgtool").exists());
    assert!(folder.join("pipeline.tf").exists());
}

/// Each `(arguments, message)` is a usage error (exit 2) naming the problem, with nothing written:
/// no module folder, and nothing on standard output.
fn assert_refused(cases: &[(&[&str], &str)]) {
    let parent = tempfile::tempdir().unwrap();
    let folder = parent.path().join("stack");
    for (arguments, expected) in cases {
        let result = run(bgtool()
            .arg("emit-hcl")
            .args(*arguments)
            .arg("--out-dir")
            .arg(&folder));
        assert_eq!(result.code, 2, "{arguments:?}: {}", result.stderr);
        assert_eq!(result.stdout, "");
        assert!(
            result.stderr.contains(expected),
            "{arguments:?}: {}",
            result.stderr
        );
        assert!(!folder.exists(), "{arguments:?}: nothing is written");
        let to_stdout = run(bgtool().arg("emit-hcl").args(*arguments));
        assert_eq!(to_stdout.code, 2);
        assert_eq!(to_stdout.stdout, "", "{arguments:?}: stdout stays empty");
    }
}

/// Git allows `"`, `$` and `{` in branch names; they must reach Terraform as literal text.
#[test]
fn values_are_escaped_as_literal_hcl_strings() {
    let text = emit(&["--branch", "main\"${jsonencode(1)}%{if}"]);
    resources(&text);
    assert!(
        text.contains(r#"default     = "main\"$${jsonencode(1)}%%{if}""#),
        "the branch default is escaped"
    );
}

/// The block `KIND "LABEL" "LABEL"` at the top of an emitted file.
fn top_block<'a>(body: &'a hcl::Body, kind: &str, labels: &[&str]) -> &'a hcl::Block {
    body.blocks()
        .find(|block| {
            block.identifier() == kind
                && block
                    .labels()
                    .iter()
                    .map(hcl::BlockLabel::as_str)
                    .eq(labels.iter().copied())
        })
        .unwrap_or_else(|| panic!("no {kind} {labels:?}"))
}

fn nested<'a>(block: &'a hcl::Block, identifier: &str) -> &'a hcl::Block {
    block
        .body()
        .blocks()
        .find(|child| child.identifier() == identifier)
        .unwrap_or_else(|| panic!("no {identifier} block in {:?}", block.labels()))
}

/// The `locals` block that defines NAME.
fn locals_defining<'a>(body: &'a hcl::Body, name: &str) -> &'a hcl::Block {
    body.blocks()
        .find(|block| {
            block.identifier() == "locals"
                && block
                    .body()
                    .attributes()
                    .any(|attribute| attribute.key() == name)
        })
        .unwrap_or_else(|| panic!("no local {name}"))
}

/// An attribute's expression as Terraform source.
fn expression(block: &hcl::Block, key: &str) -> String {
    let attribute = block
        .body()
        .attributes()
        .find(|attribute| attribute.key() == key)
        .unwrap_or_else(|| panic!("no {key} in {:?}", block.labels()));
    hcl::format::to_string(attribute.expr()).unwrap()
}

/// Both strategies judge the deployment by the stack's alarms and roll back on them; the alarms
/// watch both target groups of the pair, as blue and green swap roles on every deployment.
#[test]
fn the_alarms_watch_both_target_groups_and_roll_back_either_strategy() {
    for strategy in ["codedeploy", "ecs-native"] {
        let text = emit(&["--strategy", strategy]);
        let body: hcl::Body = hcl::parse(&text).unwrap();
        let locals = locals_defining(&body, "alarm_target_groups");
        let pair = expression(locals, "alarm_target_groups");
        for colour in ["blue", "green"] {
            assert!(
                pair.contains(&format!("aws_lb_target_group.{colour}.arn_suffix")),
                "{strategy}: {pair}"
            );
        }
        for (name, metric) in [
            ("target_error_rate", "HTTPCode_Target_5XX_Count"),
            ("target_latency", "TargetResponseTime"),
            ("unhealthy_targets", "UnHealthyHostCount"),
        ] {
            let alarm = top_block(&body, "resource", &["aws_cloudwatch_metric_alarm", name]);
            assert_eq!(expression(alarm, "for_each"), "local.alarm_target_groups");
            assert_eq!(expression(alarm, "treat_missing_data"), "\"notBreaching\"");
            assert!(
                text.contains(&format!("metric_name = \"{metric}\""))
                    || text.contains(&format!("metric_name         = \"{metric}\""))
            );
            assert!(
                expression(locals, "deployment_alarm_names").contains(&format!(
                    "aws_cloudwatch_metric_alarm.{name} : alarm.alarm_name"
                )),
                "{strategy}: {name} is not one of the deployment's alarms"
            );
        }
        if strategy == "codedeploy" {
            let group = top_block(
                &body,
                "resource",
                &["aws_codedeploy_deployment_group", "main"],
            );
            let alarms = nested(group, "alarm_configuration");
            assert_eq!(expression(alarms, "alarms"), "local.deployment_alarm_names");
            assert_eq!(
                expression(alarms, "enabled"),
                "var.deployment_alarms_enabled"
            );
            let events = expression(nested(group, "auto_rollback_configuration"), "events");
            assert!(events.contains("\"DEPLOYMENT_STOP_ON_ALARM\""), "{events}");
        } else {
            let service = top_block(&body, "resource", &["aws_ecs_service", "app"]);
            let alarms = nested(service, "alarms");
            assert_eq!(
                expression(alarms, "alarm_names"),
                "local.deployment_alarm_names"
            );
            assert_eq!(
                expression(alarms, "enable"),
                "var.deployment_alarms_enabled"
            );
            assert_eq!(expression(alarms, "rollback"), "true");
        }
    }
}

/// The smoke test: the build's binary zipped as `bootstrap`, a function in the private subnets,
/// and the hook of either strategy that runs it before production traffic.
#[test]
fn the_smoke_test_is_the_build_binary_wired_as_the_hook_of_either_strategy() {
    let binary = fs::read(static_binary_fixture()).unwrap();
    for strategy in ["codedeploy", "ecs-native"] {
        let parent = tempfile::tempdir().unwrap();
        let folder = parent.path().join("stack");
        let result = run(bgtool()
            .args(["emit-hcl", "--strategy", strategy, "--private-subnets"])
            .args([
                "--smoke-test",
                "/health",
                "--smoke-test",
                "GET  /ready status=200",
            ])
            .arg("--bgtool-binary")
            .arg(static_binary_fixture())
            .arg("--out-dir")
            .arg(&folder));
        assert_eq!(result.code, 0, "{strategy}: {}", result.stderr);
        assert_eq!(result.stderr, "");

        // A stored zip: the local header, the name, then the binary's bytes as they are.
        let archive = fs::read(folder.join("smoke-test.zip")).unwrap();
        assert_eq!(&archive[..4], b"PK\x03\x04");
        assert_eq!(&archive[30..39], b"bootstrap");
        assert_eq!(&archive[39..39 + binary.len()], binary.as_slice());

        let text = fs::read_to_string(folder.join("smoke_test.tf")).unwrap();
        let body: hcl::Body = hcl::parse(&text).unwrap();
        let function = top_block(&body, "resource", &["aws_lambda_function", "smoke_test"]);
        assert_eq!(expression(function, "runtime"), "\"provided.al2023\"");
        assert_eq!(expression(function, "handler"), "\"bootstrap\"");
        assert_eq!(
            expression(nested(function, "vpc_config"), "subnet_ids"),
            "aws_subnet.private[*].id"
        );
        let variables = fs::read_to_string(folder.join("variables.tf")).unwrap();
        assert!(
            variables.contains("    \"/health\",\n    \"GET /ready status=200\",\n"),
            "the checks are the default of var.smoke_tests"
        );
        let policy = expression(
            top_block(&body, "resource", &["aws_iam_role_policy", "smoke_test"]),
            "policy",
        );
        if strategy == "codedeploy" {
            assert!(policy.contains("codedeploy:PutLifecycleEventHookExecutionStatus"));
            assert!(policy.contains("deploymentgroup:${aws_codedeploy_app.main.name}/"));
            let appspec = fs::read_to_string(folder.join("appspec_template.yaml")).unwrap();
            assert!(
                appspec
                    .ends_with("Hooks:\n  - AfterAllowTestTraffic: \"bgtool-demo-smoke-test\"\n"),
                "{appspec}"
            );
            insta::assert_snapshot!("smoke_test_tf", text);
        } else {
            assert!(!policy.contains("codedeploy"), "ECS gets the answer itself");
            let ecs: hcl::Body =
                hcl::parse(&fs::read_to_string(folder.join("ecs.tf")).unwrap()).unwrap();
            let hooks = expression(locals_defining(&ecs, "lifecycle_hooks"), "lifecycle_hooks");
            assert!(
                hooks.contains("concat(var.lifecycle_hooks")
                    && hooks.contains("\"POST_TEST_TRAFFIC_SHIFT\"")
                    && hooks.contains("aws_lambda_function.smoke_test.arn"),
                "{hooks}"
            );
            let iam = fs::read_to_string(folder.join("iam.tf")).unwrap();
            assert!(iam.contains("for hook in local.lifecycle_hooks : hook.function_arn"));
            assert!(!folder.join("appspec_template.yaml").exists());
        }
    }
}

#[test]
fn a_smoke_test_the_stack_cannot_run_is_refused() {
    let binary = static_binary_fixture();
    let binary = binary.to_str().unwrap();
    assert_refused(&[
        (
            &[
                "--smoke-test",
                "/health",
                "--certificate-arn",
                CERTIFICATE,
                "--bgtool-binary",
                binary,
            ],
            "`--smoke-test` with `--certificate-arn` needs `--private-subnets`",
        ),
        (
            &[
                "--private-subnets",
                "--smoke-test",
                "health",
                "--bgtool-binary",
                binary,
            ],
            "`--smoke-test health`: `health` is neither a path",
        ),
        (
            &[
                "--private-subnets",
                "--smoke-test",
                "/health",
                "--bgtool-url",
                "https://example.com/bgtool",
                "--bgtool-sha256",
                &"a".repeat(64),
            ],
            "`--smoke-test` needs `--out-dir` and the build's bgtool in it",
        ),
    ]);
    let to_stdout =
        run(bgtool().args(["emit-hcl", "--private-subnets", "--smoke-test", "/health"]));
    assert_eq!(to_stdout.code, 2);
    assert!(
        to_stdout.stderr.contains("needs `--out-dir`"),
        "{}",
        to_stdout.stderr
    );
}
