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

/// The region and dummy credentials that go with the moto endpoint.
const AWS_STAND_IN: [(&str, &str); 4] = [
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// Variables the emitted CodeBuild project sets, for the seeded `web` service. ASSIGN_PUBLIC_IP
/// is left out here: the line-by-line test renders the template's `:-DISABLED` default.
const PROJECT_VARIABLES: [(&str, &str); 7] = [
    ("CLUSTER_NAME", "bgtool-test"),
    ("SERVICE_NAME", "web"),
    ("TASK_FAMILY", "web"),
    ("CONTAINER_NAME", "app"),
    ("CONTAINER_PORT", "8080"),
    ("SUBNETS", "subnet-0a1b2c3d,subnet-4e5f6a7b"),
    ("SECURITY_GROUPS", "sg-0123456789abcdef0"),
];

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
        .envs(AWS_STAND_IN)
        .envs(PROJECT_VARIABLES)
        .env(
            "REPOSITORY_URI",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web",
        )
        .env("IMAGE_TAG", "3f2a1c9d8e7b"));
    assert_eq!(result.code, 0, "`{line}` failed:\n{}", result.stderr);
}

#[test]
fn the_buildspec_bgtool_lines_write_three_valid_files() {
    let lines = bgtool_lines("buildspec.yml");
    assert_eq!(lines.len(), 5, "{lines:?}");
    // verify runs against moto on the revision about to be deployed, with the pushed image (the
    // seed has web's image, roles, secret, parameter and log group): it must pass for the build
    // to go on.
    assert!(
        lines[2].starts_with("bgtool verify --taskdef taskdef.json"),
        "{lines:?}"
    );
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
fn the_ecs_native_buildspec_writes_the_family_latest_with_the_new_image() {
    let lines = bgtool_lines("templates/buildspec-ecs-native.yml");
    assert_eq!(lines.len(), 2, "{lines:?}");
    let workspace = tempfile::tempdir().unwrap();
    for line in &lines {
        run_build_line(line, workspace.path());
    }
    let written: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(workspace.path().join("taskdef.json")).unwrap())
            .unwrap();
    assert_eq!(written["family"], "web");
    assert_eq!(
        written["containerDefinitions"][0]["image"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:3f2a1c9d8e7b"
    );
    assert!(written.get("revision").is_none() && written.get("taskDefinitionArn").is_none());
    fs::copy(
        workspace.path().join("taskdef.json"),
        artifacts("taskdef").join("ecs-native-build.json"),
    )
    .unwrap();
}

/// One CodeBuild run of a buildspec's install, pre_build and build phases: one bash shell, as
/// CodeBuild keeps variables from command to command, stopping at the first command that fails.
/// `/usr/local/bin` is a folder of the test's, the AWS CLI is the real one against moto, and
/// `docker` is the stand-in in tests/fixtures/buildspec (no Docker engine runs here).
struct Codebuild {
    workspace: tempfile::TempDir,
    bin: tempfile::TempDir,
    config: tempfile::TempDir,
}

const ARTIFACT_BUCKET: &str = "bgtool-test-pipeline-artifacts";
const COMMIT: &str = "3f2a1c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39";

impl Codebuild {
    fn new() -> Self {
        let this = Self {
            workspace: tempfile::tempdir().unwrap(),
            bin: tempfile::tempdir().unwrap(),
            config: tempfile::tempdir().unwrap(),
        };
        // moto on 127.0.0.1 serves buckets by path, not by host name.
        fs::write(
            this.config.path().join("config"),
            "[default]\ns3 =\n    addressing_style = path\n",
        )
        .unwrap();
        fs::copy(
            repository().join("appspec_template.yaml"),
            this.workspace.path().join("appspec_template.yaml"),
        )
        .unwrap();
        this
    }

    fn command(&self, program: &Path) -> Command {
        let cli_folder = crate::harness::aws_cli().parent().unwrap().to_owned();
        let stand_ins = repository().join("tests/fixtures/buildspec");
        let mut command = Command::new(program);
        command
            .env_clear()
            .current_dir(self.workspace.path())
            .env(
                "PATH",
                format!(
                    "{}:{}:{}:/usr/bin:/bin",
                    stand_ins.display(),
                    cli_folder.display(),
                    self.bin.path().display()
                ),
            )
            .env("AWS_ENDPOINT_URL", moto_endpoint())
            .envs(AWS_STAND_IN)
            .envs(PROJECT_VARIABLES)
            .env("AWS_CONFIG_FILE", self.config.path().join("config"))
            .env("DOCKER_CALLS", self.workspace.path().join("docker-calls"))
            .env("CODEBUILD_RESOLVED_SOURCE_VERSION", COMMIT)
            .env("ASSIGN_PUBLIC_IP", "DISABLED");
        command
    }

    fn aws(&self, arguments: &[&str]) -> crate::harness::Run {
        run(self.command(&crate::harness::aws_cli()).args(arguments))
    }

    /// Runs the phases with these CodeBuild project variables.
    fn run(&self, buildspec: &str, variables: &[(&str, &str)]) -> crate::harness::Run {
        let text = fs::read_to_string(repository().join(buildspec)).unwrap();
        let parsed: serde_norway::Value = serde_norway::from_str(&text).unwrap();
        let mut script = String::new();
        for phase in ["install", "pre_build", "build"] {
            let Some(commands) = parsed["phases"][phase]["commands"].as_sequence() else {
                continue;
            };
            for command in commands {
                let command = command.as_str().unwrap().replace(
                    "/usr/local/bin/",
                    &format!("{}/", self.bin.path().display()),
                );
                script.push_str(&command);
                script.push_str("\nstatus=$?; if [ $status -ne 0 ]; then exit $status; fi\n");
            }
        }
        let mut command = self.command(Path::new("bash"));
        command.args(["-c", &script]);
        for (name, value) in variables {
            command.env(name, value);
        }
        run(&mut command)
    }

    fn docker_calls(&self) -> String {
        fs::read_to_string(self.workspace.path().join("docker-calls")).unwrap_or_default()
    }

    fn take_docker_calls(&self) -> String {
        let calls = self.docker_calls();
        let _ = fs::remove_file(self.workspace.path().join("docker-calls"));
        calls
    }
}

/// What the stack uploads for the build: here a small script that runs the tested binary (the
/// debug build is hundreds of megabytes), with its SHA-256.
fn upload_build_binary(codebuild: &Codebuild, key: &str) -> String {
    let wrapper = codebuild.config.path().join("bgtool");
    fs::write(
        &wrapper,
        format!("#!/bin/sh\nexec {} \"$@\"\n", env!("CARGO_BIN_EXE_bgtool")),
    )
    .unwrap();
    let made = codebuild.aws(&["s3api", "create-bucket", "--bucket", ARTIFACT_BUCKET]);
    assert!(
        made.code == 0 || made.stderr.contains("BucketAlreadyOwnedByYou"),
        "{}",
        made.stderr
    );
    let uploaded = codebuild.aws(&[
        "s3",
        "cp",
        wrapper.to_str().unwrap(),
        &format!("s3://{ARTIFACT_BUCKET}/{key}"),
    ]);
    assert_eq!(uploaded.code, 0, "{}", uploaded.stderr);
    let digest = Command::new("sha256sum").arg(&wrapper).output().unwrap();
    String::from_utf8(digest.stdout).unwrap()[..64].to_owned()
}

/// The uploaded binary's checksum and S3 URI, and an ECR repository named `repository` with
/// immutable tags, as the emitted stack makes them: what each CodeBuild test starts from.
fn prepare_stack(codebuild: &Codebuild, repository: &str) -> (String, String, String) {
    let key = format!("bgtool/{repository}/bgtool");
    let sha256 = upload_build_binary(codebuild, &key);
    let created = codebuild.aws(&[
        "ecr",
        "create-repository",
        "--repository-name",
        repository,
        "--image-tag-mutability",
        "IMMUTABLE",
    ]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    (
        sha256,
        format!("s3://{ARTIFACT_BUCKET}/{key}"),
        format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{repository}"),
    )
}

#[test]
fn the_buildspec_installs_the_uploaded_binary_only_when_its_checksum_matches() {
    let codebuild = Codebuild::new();
    let (sha256, s3_uri, repository_uri) = prepare_stack(&codebuild, "buildspec-checksum");
    let repository_uri = repository_uri.as_str();
    let wrong = "0".repeat(64);
    let refused = codebuild.run(
        "buildspec.yml",
        &[
            ("BGTOOL_URL", ""),
            ("BGTOOL_S3_URI", &s3_uri),
            ("BGTOOL_SHA256", &wrong),
            ("REPOSITORY_URI", repository_uri),
        ],
    );
    assert_ne!(refused.code, 0, "a binary that does not match never runs");
    assert!(
        refused.stdout.contains(": FAILED") && refused.stderr.contains("did NOT match"),
        "{}\n{}",
        refused.stdout,
        refused.stderr
    );
    assert_eq!(
        codebuild.docker_calls(),
        "",
        "the build stops in the install phase"
    );

    let accepted = codebuild.run(
        "buildspec.yml",
        &[
            ("BGTOOL_URL", ""),
            ("BGTOOL_S3_URI", &s3_uri),
            ("BGTOOL_SHA256", &sha256),
            ("REPOSITORY_URI", repository_uri),
        ],
    );
    assert_eq!(accepted.code, 0, "{}\n{}", accepted.stdout, accepted.stderr);
    assert!(
        accepted
            .stdout
            .contains(&format!("bgtool {}", env!("CARGO_PKG_VERSION"))),
        "`bgtool --version` ran the installed binary: {}",
        accepted.stdout
    );
}

/// The image tag is the commit: a build started without one (a manual start-build with no source
/// version) stops with a sentence before anything is built or pushed, in both buildspecs.
#[test]
fn a_build_without_a_commit_stops_before_docker() {
    let codebuild = Codebuild::new();
    let (sha256, s3_uri, repository_uri) = prepare_stack(&codebuild, "buildspec-no-commit");
    for buildspec in ["buildspec.yml", "templates/buildspec-ecs-native.yml"] {
        let result = codebuild.run(
            buildspec,
            &[
                ("BGTOOL_URL", ""),
                ("BGTOOL_S3_URI", &s3_uri),
                ("BGTOOL_SHA256", &sha256),
                ("REPOSITORY_URI", &repository_uri),
                ("CODEBUILD_RESOLVED_SOURCE_VERSION", ""),
            ],
        );
        assert_eq!(
            result.code, 1,
            "{buildspec}: {}\n{}",
            result.stdout, result.stderr
        );
        assert!(
            result.stderr.contains(
                "error: CODEBUILD_RESOLVED_SOURCE_VERSION is empty, and the image tag is the commit it names"
            ),
            "{buildspec}: {}",
            result.stderr
        );
        assert_eq!(
            codebuild.take_docker_calls(),
            "",
            "{buildspec}: nothing built"
        );
    }
}

/// Tags are immutable and name the commit: a retried build of the same commit must deploy the
/// image it finds in ECR instead of failing at `docker push` with ImageTagAlreadyExistsException.
#[test]
fn a_retried_build_of_the_same_commit_reuses_its_image() {
    let codebuild = Codebuild::new();
    let (sha256, s3_uri, repository_uri) = prepare_stack(&codebuild, "buildspec-retry");
    let repository_uri = repository_uri.as_str();
    let variables = [
        ("BGTOOL_URL", ""),
        ("BGTOOL_S3_URI", s3_uri.as_str()),
        ("BGTOOL_SHA256", sha256.as_str()),
        ("REPOSITORY_URI", repository_uri),
    ];
    let image = format!("{repository_uri}:{}", &COMMIT[..12]);

    let first = codebuild.run("buildspec.yml", &variables);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let calls = codebuild.take_docker_calls();
    assert!(
        calls.contains(&format!(
            "docker build --tag {image} .\ndocker push {image}\n"
        )),
        "the first build builds and pushes: {calls}"
    );

    let retried = codebuild.run("buildspec.yml", &variables);
    assert_eq!(retried.code, 0, "{}\n{}", retried.stdout, retried.stderr);
    let calls = codebuild.take_docker_calls();
    assert!(
        !calls.contains("docker build") && !calls.contains("docker push"),
        "the retry pushes nothing: {calls}"
    );
    assert!(
        retried
            .stdout
            .contains(&format!("{image} is in ECR already: deploying it as it is")),
        "{}",
        retried.stdout
    );
    for file in ["taskdef.json", "appspec.yaml", "imageDetail.json"] {
        assert!(
            codebuild.workspace.path().join(file).exists(),
            "the retry still writes {file}"
        );
    }
    let image_detail =
        fs::read_to_string(codebuild.workspace.path().join("imageDetail.json")).unwrap();
    assert!(image_detail.contains(&image), "{image_detail}");
}

/// What AWS documents for the CodeDeployToECS action, done with the AWS CLI against moto: fill
/// `<IMAGE1_NAME>` from imageDetail.json, register taskdef.json, put the new ARN where the AppSpec
/// says `<TASK_DEFINITION>`, and make a task set of it PRIMARY (the deployment's end state).
/// Returns the registered ARN.
fn deploy_like_codedeploy_to_ecs(codebuild: &Codebuild, service: &str) -> String {
    let workspace = codebuild.workspace.path();
    let image_detail: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(workspace.join("imageDetail.json")).unwrap())
            .unwrap();
    let image = image_detail["ImageURI"].as_str().unwrap();
    let taskdef = fs::read_to_string(workspace.join("taskdef.json"))
        .unwrap()
        .replace("<IMAGE1_NAME>", image);
    fs::write(workspace.join("registered-input.json"), taskdef).unwrap();
    let registered = codebuild.aws(&[
        "ecs",
        "register-task-definition",
        "--cli-input-json",
        "file://registered-input.json",
        "--query",
        "taskDefinition.taskDefinitionArn",
        "--output",
        "text",
    ]);
    assert_eq!(registered.code, 0, "{}", registered.stderr);
    let arn = registered.stdout.trim().to_owned();

    let appspec = fs::read_to_string(workspace.join("appspec.yaml"))
        .unwrap()
        .replace("<TASK_DEFINITION>", &arn);
    let appspec: serde_norway::Value = serde_norway::from_str(&appspec).unwrap();
    let properties = &appspec["Resources"][0]["TargetService"]["Properties"];
    assert_eq!(properties["TaskDefinition"].as_str(), Some(arn.as_str()));
    let awsvpc = &properties["NetworkConfiguration"]["AwsvpcConfiguration"];
    let list = |key: &str| -> String {
        awsvpc[key]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|item| item.as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join(",")
    };
    let network = format!(
        "awsvpcConfiguration={{subnets=[{}],securityGroups=[{}],assignPublicIp={}}}",
        list("Subnets"),
        list("SecurityGroups"),
        awsvpc["AssignPublicIp"].as_str().unwrap()
    );
    let task_set = codebuild.aws(&[
        "ecs",
        "create-task-set",
        "--cluster",
        "bgtool-test",
        "--service",
        service,
        "--task-definition",
        &arn,
        "--launch-type",
        "FARGATE",
        "--network-configuration",
        &network,
        "--query",
        "taskSet.taskSetArn",
        "--output",
        "text",
    ]);
    assert_eq!(task_set.code, 0, "{}", task_set.stderr);
    let primary = codebuild.aws(&[
        "ecs",
        "update-service-primary-task-set",
        "--cluster",
        "bgtool-test",
        "--service",
        service,
        "--primary-task-set",
        task_set.stdout.trim(),
    ]);
    assert_eq!(primary.code, 0, "{}", primary.stderr);
    arn
}

/// Terraform owns the task definition, the pipeline owns the image (issue: a setting changed in
/// Terraform used to register a revision nothing ever deployed). Two pipeline runs, with Terraform
/// registering a revision between them: the second deployment runs Terraform's new CPU, memory
/// and environment variable with the second build's image.
#[test]
fn terraform_settings_reach_production_with_the_pipeline_image() {
    let codebuild = Codebuild::new();
    let (sha256, s3_uri, repository_uri) = prepare_stack(&codebuild, "owned");
    let repository_uri = repository_uri.as_str();
    let first_commit = "1111111111aa1111111111111111111111111111";
    let second_commit = "2222222222bb2222222222222222222222222222";
    let pipeline_run = |commit: &str| {
        let result = codebuild.run(
            "buildspec.yml",
            &[
                ("BGTOOL_URL", ""),
                ("BGTOOL_S3_URI", &s3_uri),
                ("BGTOOL_SHA256", &sha256),
                ("REPOSITORY_URI", repository_uri),
                ("SERVICE_NAME", "owned"),
                ("TASK_FAMILY", "owned"),
                ("CODEBUILD_RESOLVED_SOURCE_VERSION", commit),
            ],
        );
        assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
        result
    };

    pipeline_run(first_commit);
    let first = deploy_like_codedeploy_to_ecs(&codebuild, "owned");

    terraform_registers_more_cpu_memory_and_a_variable(&codebuild, "owned");

    let second_build = pipeline_run(second_commit);
    // The report says what production gains, on the build's log.
    for expected in [
        format!("bgtool: report: production runs `{first}`; taskdef.json changes what it runs:"),
        "bgtool: report: task: cpu `256` → `512`; memory `512` → `1024`".to_owned(),
        "environment `FEATURE_CHECKOUT` added".to_owned(),
    ] {
        assert!(
            second_build.stderr.contains(&expected),
            "{expected}\n{}",
            second_build.stderr
        );
    }
    let second = deploy_like_codedeploy_to_ecs(&codebuild, "owned");

    let deployed = &describe_task_definition(&codebuild, &second);
    assert_eq!(deployed["cpu"], "512", "Terraform's CPU");
    assert_eq!(deployed["memory"], "1024", "Terraform's memory");
    let container = &deployed["containerDefinitions"][0];
    assert_eq!(
        container["image"],
        format!("{repository_uri}:{}", &second_commit[..12]),
        "the second build's image"
    );
    assert!(
        container["environment"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"name": "FEATURE_CHECKOUT", "value": "on"})),
        "Terraform's new variable: {container}"
    );
    let service = codebuild.aws(&[
        "ecs",
        "describe-services",
        "--cluster",
        "bgtool-test",
        "--services",
        "owned",
    ]);
    let service: serde_json::Value = serde_json::from_str(&service.stdout).unwrap();
    let primary = service["services"][0]["taskSets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|task_set| task_set["status"] == "PRIMARY")
        .expect("a PRIMARY task set")
        .clone();
    assert_eq!(primary["taskDefinition"], second.as_str());
}

/// The same guarantee for the ECS-native pipeline: its build writes taskdef.json from the family's
/// latest revision with the new image, and its Deploy stage (`bgtool deploy`) registers that and
/// updates the service to it. The deploy runs with `--no-wait` here: moto keeps no deployment
/// state to follow (the waiting is tested against the scripted endpoint in `deploy.rs`).
#[test]
fn terraform_settings_reach_an_ecs_native_service_with_the_pipeline_image() {
    let codebuild = Codebuild::new();
    let (sha256, s3_uri, repository_uri) = prepare_stack(&codebuild, "native");
    let repository_uri = repository_uri.as_str();
    let stage = |buildspec: &str, commit: &str| {
        let result = codebuild.run(
            buildspec,
            &[
                ("BGTOOL_URL", ""),
                ("BGTOOL_S3_URI", &s3_uri),
                ("BGTOOL_SHA256", &sha256),
                ("REPOSITORY_URI", repository_uri),
                ("SERVICE_NAME", "native"),
                ("TASK_FAMILY", "native"),
                ("DEPLOY_OPTIONS", "--no-wait"),
                ("DEPLOY_DEADLINE_SECONDS", "3600"),
                ("CODEBUILD_RESOLVED_SOURCE_VERSION", commit),
            ],
        );
        assert_eq!(
            result.code, 0,
            "{buildspec}\n{}\n{}",
            result.stdout, result.stderr
        );
        result
    };
    let running = || {
        let service = codebuild.aws(&[
            "ecs",
            "describe-services",
            "--cluster",
            "bgtool-test",
            "--services",
            "native",
        ]);
        let service: serde_json::Value = serde_json::from_str(&service.stdout).unwrap();
        service["services"][0]["taskDefinition"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first_commit = "3333333333cc3333333333333333333333333333";
    let second_commit = "4444444444dd4444444444444444444444444444";

    stage("templates/buildspec-ecs-native.yml", first_commit);
    let first = stage("templates/buildspec-ecs-native-deploy.yml", first_commit);
    // The install phase prints the checksum and version; `bgtool deploy` prints the ARN last.
    let deployed_arn = |run: &crate::harness::Run| run.stdout.lines().last().unwrap().to_owned();
    assert_eq!(
        deployed_arn(&first),
        running(),
        "deploy prints what it deployed"
    );

    terraform_registers_more_cpu_memory_and_a_variable(&codebuild, "native");

    let second_build = stage("templates/buildspec-ecs-native.yml", second_commit);
    assert!(
        second_build
            .stderr
            .contains("bgtool: report: task: cpu `256` → `512`; memory `512` → `1024`"),
        "{}",
        second_build.stderr
    );
    let second = stage("templates/buildspec-ecs-native-deploy.yml", second_commit);
    let second_arn = deployed_arn(&second);
    assert_eq!(
        second_arn,
        running(),
        "the service runs the second revision"
    );
    assert_ne!(second_arn, deployed_arn(&first));

    let deployed = &describe_task_definition(&codebuild, &second_arn);
    assert_eq!(deployed["cpu"], "512", "Terraform's CPU");
    assert_eq!(deployed["memory"], "1024", "Terraform's memory");
    let container = &deployed["containerDefinitions"][0];
    assert_eq!(
        container["image"],
        format!("{repository_uri}:{}", &second_commit[..12]),
        "the second build's image"
    );
    assert!(
        container["environment"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"name": "FEATURE_CHECKOUT", "value": "on"})),
        "Terraform's new variable: {container}"
    );
}

/// `terraform apply` of `family` (a fixture in tests/fixtures/register) with more CPU and memory
/// and a new variable.
fn terraform_registers_more_cpu_memory_and_a_variable(codebuild: &Codebuild, family: &str) {
    let mut changed: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(repository().join(format!("tests/fixtures/register/{family}.json")))
            .unwrap(),
    )
    .unwrap();
    changed["cpu"] = "512".into();
    changed["memory"] = "1024".into();
    changed["containerDefinitions"][0]["environment"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "FEATURE_CHECKOUT", "value": "on"}));
    fs::write(
        codebuild.workspace.path().join("terraform-revision.json"),
        changed.to_string(),
    )
    .unwrap();
    let terraform = codebuild.aws(&[
        "ecs",
        "register-task-definition",
        "--cli-input-json",
        "file://terraform-revision.json",
    ]);
    assert_eq!(terraform.code, 0, "{}", terraform.stderr);
}

fn describe_task_definition(codebuild: &Codebuild, arn: &str) -> serde_json::Value {
    let described = codebuild.aws(&["ecs", "describe-task-definition", "--task-definition", arn]);
    assert_eq!(described.code, 0, "{}", described.stderr);
    let described: serde_json::Value = serde_json::from_str(&described.stdout).unwrap();
    described["taskDefinition"].clone()
}
