//! `bgtool run` against a scripted ECS and CloudWatch Logs endpoint on loopback: a task that exits
//! 0, one that exits 3, one whose image cannot be pulled, one stopped by SIGINT and one by
//! `--timeout`; log lines that arrive over several pages and after the task stopped. moto starts
//! tasks but never ends one, so the endings are scripted here.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::faults::read_request;
use crate::harness::{Run, assert_failed, bgtool_on, fixture, run};

const TASK: &str = "arn:aws:ecs:us-east-1:123456789012:task/main/0a1b2c3d";
const REVISION: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7";

/// What the scripted endpoint answers.
#[derive(Clone, Default)]
struct Script {
    /// DescribeTasks answers in order (the last one repeats); after StopTask, a stopped task.
    tasks: Vec<Value>,
    /// GetLogEvents answers in order; `None` is "no stream yet". After the list, no new events.
    logs: Vec<Option<Value>>,
    /// RunTask's failure, instead of a task.
    placement_failure: Option<&'static str>,
}

struct Scripted {
    endpoint: String,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
}

fn task(
    status: &str,
    exit_code: Option<i64>,
    stopped_reason: Option<&str>,
    reason: Option<&str>,
) -> Value {
    let mut container = json!({"name": "app", "lastStatus": status});
    if let Some(code) = exit_code {
        container["exitCode"] = json!(code);
    }
    if let Some(reason) = reason {
        container["reason"] = json!(reason);
    }
    let mut task = json!({"taskArn": TASK, "lastStatus": status, "containers": [container]});
    if let Some(why) = stopped_reason {
        task["stoppedReason"] = json!(why);
    }
    task
}

fn page(messages: &[&str], token: &str) -> Value {
    json!({
        "events": messages.iter().map(|message| json!({"timestamp": 1, "message": message, "ingestionTime": 1})).collect::<Vec<_>>(),
        "nextForwardToken": token,
        "nextBackwardToken": "b/0"
    })
}

/// Service `web`: Fargate, platform 1.4.0, private subnets.
fn service() -> Value {
    json!({"services": [{
        "serviceName": "web", "status": "ACTIVE", "launchType": "FARGATE",
        "platformVersion": "1.4.0", "taskDefinition": REVISION,
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}}
    }], "failures": []})
}

/// Revision 7 of `web`: container `app`, logging to `/ecs/web` with the stream prefix `ecs`.
fn revision() -> Value {
    json!({"taskDefinition": {
        "taskDefinitionArn": REVISION, "family": "web", "revision": 7,
        "containerDefinitions": [{"name": "app", "image": "repo/web:7", "essential": true,
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/web", "awslogs-stream-prefix": "ecs", "awslogs-region": "us-east-1"}}}]
    }})
}

impl Scripted {
    fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&calls);
        std::thread::spawn(move || {
            let (mut looks, mut reads, mut stopped) = (0_usize, 0_usize, false);
            let mut last_token = json!("f/0");
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some((headers, body)) = read_request(&mut stream) else {
                    continue;
                };
                let action = headers
                    .lines()
                    .find_map(|line| line.strip_prefix("x-amz-target:"))
                    .and_then(|target| target.trim().rsplit('.').next())
                    .unwrap_or_default()
                    .to_owned();
                let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let (status, reply) = match action.as_str() {
                    "describeservices" => (200, service()),
                    "describetaskdefinition" | "registertaskdefinition" => (200, revision()),
                    "runtask" => match script.placement_failure {
                        Some(reason) => (
                            200,
                            json!({"tasks": [], "failures": [{"reason": reason, "arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/x"}]}),
                        ),
                        None => (
                            200,
                            json!({"tasks": [task("PROVISIONING", None, None, None)], "failures": []}),
                        ),
                    },
                    "describetasks" => {
                        let state = if stopped {
                            task("STOPPED", Some(137), Some("Task stopped by user"), None)
                        } else {
                            looks += 1;
                            script
                                .tasks
                                .get(looks - 1)
                                .or(script.tasks.last())
                                .cloned()
                                .unwrap()
                        };
                        (200, json!({"tasks": [state], "failures": []}))
                    }
                    "updateservice" => (
                        200,
                        json!({"service": {
                            "serviceName": "web", "status": "ACTIVE", "taskDefinition": REVISION,
                            "deployments": [{"id": "ecs-svc/2", "status": "PRIMARY", "taskDefinition": REVISION,
                                             "rolloutState": "IN_PROGRESS"}]
                        }}),
                    ),
                    "stoptask" => {
                        stopped = true;
                        (200, json!({"task": task("RUNNING", None, None, None)}))
                    }
                    "getlogevents" => {
                        reads += 1;
                        match script.logs.get(reads - 1) {
                            Some(None) => (
                                400,
                                json!({"__type": "ResourceNotFoundException", "message": "The specified log stream does not exist."}),
                            ),
                            Some(Some(page)) => {
                                last_token = page["nextForwardToken"].clone();
                                (200, page.clone())
                            }
                            None => (
                                200,
                                json!({"events": [], "nextForwardToken": last_token, "nextBackwardToken": "b/0"}),
                            ),
                        }
                    }
                    _ => (
                        400,
                        json!({"__type": "InvalidParameterException", "message": format!("unscripted {action}")}),
                    ),
                };
                recorded
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((action, request));
                let body = reply.to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Status\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: 0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { endpoint, calls }
    }

    fn command(&self, extra: &[&str], command: &[&str]) -> Command {
        let mut invocation = bgtool_on(&self.endpoint);
        invocation
            .args([
                "run",
                "--cluster",
                "main",
                "--service",
                "web",
                "--poll-interval",
                "0.05",
            ])
            .args(extra)
            .arg("--")
            .args(command);
        invocation
    }

    fn calls(&self, action: &str) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(name, _)| name == action)
            .map(|(_, body)| body.clone())
            .collect()
    }
}

fn migrating() -> Script {
    Script {
        tasks: vec![
            task("PENDING", None, None, None),
            task("RUNNING", None, None, None),
            task("RUNNING", None, None, None),
            task(
                "STOPPED",
                Some(0),
                Some("Essential container in task exited"),
                None,
            ),
        ],
        logs: vec![
            None,
            Some(page(&["migrating 1 of 3", "migrating 2 of 3"], "f/1")),
            Some(page(&["migrating 3 of 3"], "f/2")),
            Some(page(&[], "f/2")),
            // After the task stopped: a line CloudWatch Logs shows late.
            Some(page(&["done"], "f/3")),
        ],
        placement_failure: None,
    }
}

#[test]
fn a_command_that_exits_0_prints_its_lines_in_order_and_exits_0() {
    let server = Scripted::start(migrating());
    // Shell metacharacters reach the container as they are: no shell runs the command.
    let result = run(&mut server.command(
        &["--task-definition", "web:7"],
        &[
            "sh",
            "-c",
            "bin/migrate && echo \"$HOME\" | tee /tmp/x; exit 0",
        ],
    ));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(
        result.stdout,
        "migrating 1 of 3\nmigrating 2 of 3\nmigrating 3 of 3\ndone\n"
    );
    assert!(
        result.stderr.contains(
            "bgtool: note: task `0a1b2c3d` of `arn:aws:ecs:us-east-1:123456789012:task-definition/web:7` started: container `app` runs `sh -c 'bin/migrate && echo \"$HOME\" | tee /tmp/x; exit 0'`"
        ),
        "{}",
        result.stderr
    );
    let started = server.calls("runtask");
    assert_eq!(started.len(), 1);
    let request = &started[0];
    assert_eq!(
        request["overrides"]["containerOverrides"],
        json!([{"name": "app", "command": ["sh", "-c", "bin/migrate && echo \"$HOME\" | tee /tmp/x; exit 0"]}])
    );
    assert_eq!(request["taskDefinition"], REVISION);
    assert_eq!(request["launchType"], "FARGATE");
    assert_eq!(request["platformVersion"], "1.4.0");
    assert_eq!(request["startedBy"], "bgtool-run/web");
    assert_eq!(
        request["networkConfiguration"],
        json!({"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}})
    );
    // Each read after the first page starts where the last one ended.
    let tokens: Vec<Value> = server
        .calls("getlogevents")
        .iter()
        .map(|body| body["nextToken"].clone())
        .collect();
    assert_eq!(&tokens[..3], &[Value::Null, Value::Null, json!("f/1")]);
    assert_eq!(
        server.calls("getlogevents")[0]["logStreamName"],
        "ecs/app/0a1b2c3d"
    );
    assert!(server.calls("stoptask").is_empty());
}

#[test]
fn a_command_that_exits_3_makes_bgtool_exit_3() {
    let mut script = migrating();
    script.tasks[3] = task(
        "STOPPED",
        Some(3),
        Some("Essential container in task exited"),
        None,
    );
    let server = Scripted::start(script);
    let taskdef = fixture("deploy/taskdef.json");
    let result = run(&mut server.command(
        &[
            "--taskdef",
            taskdef.to_str().unwrap(),
            "--image",
            "app=repo/web:7",
        ],
        &["bin/migrate"],
    ));
    assert_eq!(result.code, 3, "{}", result.stderr);
    assert!(
        result
            .stderr
            .contains("bgtool: error: task `0a1b2c3d`: container `app` exited 3"),
        "{}",
        result.stderr
    );
    assert_eq!(server.calls("registertaskdefinition").len(), 1);
    assert_eq!(
        server.calls("registertaskdefinition")[0]["containerDefinitions"][0]["image"],
        "repo/web:7"
    );
}

#[test]
fn a_task_that_never_runs_the_command_exits_1_with_ecs_reasons() {
    let mut script = migrating();
    script.tasks = vec![
        task("PENDING", None, None, None),
        task(
            "STOPPED",
            None,
            Some(
                "CannotPullContainerError: pull image manifest has been retried 5 time(s): repo/web:7 not found",
            ),
            Some("CannotPullContainerError: ref not found"),
        ),
    ];
    script.logs = vec![None];
    let server = Scripted::start(script);
    let result = run(&mut server.command(&["--task-definition", "web:7"], &["bin/migrate"]));
    assert_failed(&result, 1);
    assert!(
        result.stderr.contains(
            "bgtool: error: task `0a1b2c3d` stopped without running the command: CannotPullContainerError: pull image manifest has been retried 5 time(s): repo/web:7 not found; container `app`: CannotPullContainerError: ref not found"
        ),
        "{}",
        result.stderr
    );
}

#[test]
fn a_task_ecs_cannot_place_is_an_error_naming_why() {
    let mut script = migrating();
    script.placement_failure = Some("RESOURCE:MEMORY");
    let server = Scripted::start(script);
    let result = run(&mut server.command(&["--task-definition", "web:7"], &["bin/migrate"]));
    assert_failed(&result, 1);
    assert!(
        result
            .stderr
            .contains("ECS could not place it (`RESOURCE:MEMORY`)"),
        "{}",
        result.stderr
    );
}

#[test]
fn the_timeout_stops_the_task_and_exits_1() {
    let mut script = migrating();
    script.tasks = vec![task("RUNNING", None, None, None)];
    let server = Scripted::start(script);
    let result = run(&mut server.command(
        &["--task-definition", "web:7", "--timeout", "0.5"],
        &["sleep", "3600"],
    ));
    assert_eq!(result.code, 1, "{}", result.stderr);
    let stops = server.calls("stoptask");
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0]["task"], TASK);
    assert_eq!(stops[0]["reason"], "bgtool --timeout (0.5 s)");
    assert!(
        result.stderr.contains("did not finish within `--timeout`"),
        "{}",
        result.stderr
    );
}

#[test]
fn sigint_stops_the_task_and_exits_130() {
    let mut script = migrating();
    script.tasks = vec![task("RUNNING", None, None, None)];
    let server = Scripted::start(script);
    let child = server
        .command(&["--task-definition", "web:7"], &["sleep", "3600"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.calls("describetasks").len() < 2 {
        assert!(Instant::now() < deadline, "the task is never looked at");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert_eq!(server.calls("stoptask").len(), 1);
    assert!(
        stderr.contains(
            "bgtool: error: task `0a1b2c3d` stopped on SIGINT to bgtool: its container exited 137"
        ),
        "{stderr}"
    );
    // The lines it printed before the signal are still there.
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with("migrating 1 of 3\n"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn a_command_is_required_and_both_revisions_are_refused() {
    let result = run(bgtool_on("http://127.0.0.1:9").args([
        "run",
        "--cluster",
        "main",
        "--service",
        "web",
        "--task-definition",
        "web:7",
        "--",
        "",
    ]));
    assert_failed(&result, 2);
    assert!(
        result.stderr.contains("the command after `--` is empty"),
        "{}",
        result.stderr
    );
    let both: Run = run(bgtool_on("http://127.0.0.1:9").args([
        "run",
        "--cluster",
        "main",
        "--service",
        "web",
        "--task-definition",
        "web:7",
        "--taskdef",
        "x.json",
        "--",
        "true",
    ]));
    assert_eq!(both.code, 2, "{}", both.stderr);
}

/// `deploy --run-first`: the migration runs in a task of the very revision being deployed.
fn deploy_with_migration(server: &Scripted) -> Run {
    let taskdef = fixture("deploy/taskdef.json");
    run(bgtool_on(&server.endpoint).args([
        "deploy",
        "--cluster",
        "main",
        "--service",
        "web",
        "--taskdef",
        taskdef.to_str().unwrap(),
        "--image",
        "app=repo/web:7",
        "--no-wait",
        "--poll-interval",
        "0.05",
        "--run-first",
        "app",
        "--",
        "bin/rails",
        "db:migrate",
    ]))
}

#[test]
fn deploy_runs_the_migration_with_the_new_revision_and_deploys_only_after_exit_0() {
    let server = Scripted::start(migrating());
    let result = deploy_with_migration(&server);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(
        result.stdout,
        format!("migrating 1 of 3\nmigrating 2 of 3\nmigrating 3 of 3\ndone\n{REVISION}\n")
    );
    let started = server.calls("runtask");
    assert_eq!(started.len(), 1);
    assert_eq!(started[0]["taskDefinition"], REVISION);
    assert_eq!(
        started[0]["overrides"]["containerOverrides"],
        json!([{"name": "app", "command": ["bin/rails", "db:migrate"]}])
    );
    let updates = server.calls("updateservice");
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["taskDefinition"], REVISION);
    // The task ran before the service was asked to change.
    let order: Vec<String> = server
        .calls
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(action, _)| action.clone())
        .filter(|action| action == "runtask" || action == "updateservice")
        .collect();
    assert_eq!(order, vec!["runtask", "updateservice"]);
}

#[test]
fn deploy_deploys_nothing_when_the_migration_fails() {
    let mut script = migrating();
    script.tasks[3] = task(
        "STOPPED",
        Some(3),
        Some("Essential container in task exited"),
        None,
    );
    let server = Scripted::start(script);
    let result = deploy_with_migration(&server);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result.stderr.contains(
            "bgtool: error: `--run-first` did not succeed, so nothing was deployed: task `0a1b2c3d`: container `app` exited 3"
        ),
        "{}",
        result.stderr
    );
    assert!(server.calls("updateservice").is_empty());
}

/// The step of a buildspec that reads MIGRATE_COMMAND, as CodeBuild would run it.
fn migrate_step(buildspec: &str) -> String {
    let text = std::fs::read_to_string(crate::harness::repository().join(buildspec)).unwrap();
    let parsed: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    parsed["phases"]["build"]["commands"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|command| command.as_str())
        .find(|command| command.contains("MIGRATE_COMMAND"))
        .unwrap_or_else(|| panic!("{buildspec} has no step for MIGRATE_COMMAND"))
        .to_owned()
}

/// Runs `step` with bash in a folder holding taskdef.json, the built bgtool first on PATH, AWS
/// pointed at `server`, and `variables` as the CodeBuild project sets them.
fn run_step(server: &Scripted, step: &str, variables: &[(&str, &str)]) -> Run {
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("deploy/taskdef.json"),
        folder.path().join("taskdef.json"),
    )
    .unwrap();
    // A file a glob in the command would expand to, if anything expanded it.
    std::fs::write(folder.path().join("glob-bait"), "").unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_bgtool"))
        .parent()
        .unwrap();
    // The same AWS environment as the other tests' bgtool: the scripted endpoint, dummy keys.
    let command = bgtool_on(&server.endpoint);
    let mut bash = Command::new("bash");
    bash.arg("-c")
        .arg(step)
        .current_dir(folder.path())
        .env_clear();
    for (name, value) in command.get_envs() {
        if let Some(value) = value {
            bash.env(name, value);
        }
    }
    bash.env("PATH", format!("{}:/usr/bin:/bin", bin.display()));
    for (name, value) in variables {
        bash.env(name, value);
    }
    run(&mut bash)
}

/// A migration already over at the first look (the steps run with the default poll interval).
fn quick(exit_code: i64) -> Script {
    Script {
        tasks: vec![task(
            "STOPPED",
            Some(exit_code),
            Some("Essential container in task exited"),
            None,
        )],
        logs: vec![Some(page(&["migrated"], "f/1"))],
        placement_failure: None,
    }
}

#[test]
fn the_codedeploy_build_runs_migrate_command_with_the_image_it_built() {
    let server = Scripted::start(quick(0));
    let step = migrate_step("buildspec.yml");
    let common = [
        ("CLUSTER_NAME", "main"),
        ("SERVICE_NAME", "web"),
        ("CONTAINER_NAME", "app"),
        (
            "REPOSITORY_URI",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web",
        ),
        ("IMAGE_TAG", "0123456789ab"),
    ];
    // No migrate_command: the step does nothing.
    let skipped = run_step(&server, &step, &common);
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);
    assert!(server.calls("runtask").is_empty());

    let mut variables = common.to_vec();
    variables.push(("MIGRATE_COMMAND", "bin/rails db:migrate *"));
    let result = run_step(&server, &step, &variables);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(
        server.calls("registertaskdefinition")[0]["containerDefinitions"][0]["image"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:0123456789ab"
    );
    // Split on spaces; the `*` reaches the program unexpanded.
    assert_eq!(
        server.calls("runtask")[0]["overrides"]["containerOverrides"],
        json!([{"name": "app", "command": ["bin/rails", "db:migrate", "*"]}])
    );
}

#[test]
fn the_codedeploy_build_fails_when_the_migration_fails() {
    let server = Scripted::start(quick(2));
    let result = run_step(
        &server,
        &migrate_step("buildspec.yml"),
        &[
            ("CLUSTER_NAME", "main"),
            ("SERVICE_NAME", "web"),
            ("CONTAINER_NAME", "app"),
            (
                "REPOSITORY_URI",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/web",
            ),
            ("IMAGE_TAG", "0123456789ab"),
            ("MIGRATE_COMMAND", "bin/rails db:migrate"),
        ],
    );
    assert_eq!(result.code, 2, "{}", result.stderr);
}

#[test]
fn the_ecs_native_deploy_stage_runs_migrate_command_first() {
    let server = Scripted::start(migrating());
    let result = run_step(
        &server,
        &migrate_step("templates/buildspec-ecs-native-deploy.yml"),
        &[
            ("CLUSTER_NAME", "main"),
            ("SERVICE_NAME", "web"),
            ("CONTAINER_NAME", "app"),
            (
                "DEPLOY_OPTIONS",
                "--no-wait --poll-interval 0.05 --image app=repo/web:7",
            ),
            ("MIGRATE_COMMAND", "bin/rails db:migrate"),
        ],
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(
        server.calls("runtask")[0]["overrides"]["containerOverrides"],
        json!([{"name": "app", "command": ["bin/rails", "db:migrate"]}])
    );
    assert_eq!(server.calls("updateservice").len(), 1);
}
