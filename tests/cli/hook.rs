//! `bgtool hook`: smoke checks against a test listener on loopback (a good version, one answering
//! 500, one too slow, one refusing connections), from a shell and as a Lambda function under a
//! real Lambda Runtime API emulator (cargo-lambda, pinned, installed by `scripts/test`), with a
//! CodeDeploy endpoint on loopback recording PutLifecycleEventHookExecutionStatus.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::faults::read_request;
use crate::harness::{assert_failed, bgtool, bgtool_on, repository, run};

/// The release under test, on its test listener: `/health` answers 200 `ready`, `/broken` 500,
/// `/slow` 200 after a second and a half, `/host` 200 with the request's `Host` header.
fn test_listener() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let Some((headers, _)) = read_request(&mut stream) else {
                    return;
                };
                let path = headers.split_whitespace().nth(1).unwrap_or("/").to_owned();
                if path.starts_with("/slow") {
                    std::thread::sleep(Duration::from_millis(1500));
                }
                let host = headers
                    .lines()
                    .find_map(|line| line.strip_prefix("host:"))
                    .map(str::trim)
                    .unwrap_or_default()
                    .to_owned();
                let (status, body) = if path.starts_with("/broken") {
                    (500, "boom".to_owned())
                } else if path.starts_with("/host") {
                    (200, host)
                } else {
                    (200, "ready".to_owned())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Status\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    address
}

/// A loopback address nothing listens on.
fn refusing_address() -> SocketAddr {
    // On 127.0.0.2, where no test server listens: the other tests' servers bind 127.0.0.1:0, and
    // one of them may be handed this port once it is free again.
    let listener = TcpListener::bind("127.0.0.2:0").unwrap();
    listener.local_addr().unwrap()
}

/// Replaces each `N ms` with `_ ms`: the times vary, the words do not.
fn without_times(text: &str) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    for character in text.chars() {
        if character.is_ascii_digit() {
            digits.push(character);
            continue;
        }
        if !digits.is_empty() {
            out.push_str(&digits);
            digits.clear();
        }
        out.push(character);
        if out.ends_with(" ms") {
            let number_start = out[..out.len() - 3]
                .rfind(|c: char| !c.is_ascii_digit())
                .map_or(0, |index| index + 1);
            out.replace_range(number_start..out.len() - 3, "_");
        }
    }
    out.push_str(&digits);
    out
}

#[test]
fn the_shell_checks_report_each_kind_of_failure_and_exit_1() {
    let listener = test_listener();
    let refused = refusing_address();
    let base = format!("http://{listener}");
    let result = run(bgtool().args([
        "hook",
        "--base-url",
        &base,
        "--check",
        "/health",
        "--check",
        "/health contains=ready requests=3",
        "--check",
        "/broken",
        "--check",
        "/slow within=300ms",
        "--check",
        &format!("http://{refused}/health"),
        "--check",
        "/broken requests=2 may-fail=1",
    ]));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_eq!(
        result.stderr, "bgtool: error: 4 of 6 check(s) failed\n",
        "one error line"
    );
    let report = without_times(&result.stdout)
        .replace(&base, "http://LISTENER")
        .replace(&refused.to_string(), "REFUSED");
    insta::assert_snapshot!("hook_shell_checks", report);
}

#[test]
fn passing_checks_exit_0_and_print_one_line_each() {
    let base = format!("http://{}", test_listener());
    let result = run(bgtool().args([
        "hook",
        "--base-url",
        &base,
        "--check",
        "HEAD /health status=200",
        "--check",
        "GET /broken status=5xx within=2s",
    ]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(result.stderr, "");
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", result.stdout);
    assert!(lines[0].starts_with(&format!(
        "`HEAD /health status=200` HEAD {base}/health: passed"
    )));
    assert!(
        lines[1].contains("passed, 1 of 1 request(s) answered"),
        "{}",
        lines[1]
    );
}

#[test]
fn checks_that_cannot_run_are_refused_before_any_request() {
    for (arguments, message) in [
        (
            vec!["hook", "--check", "/health"],
            "check `/health` names a path, and no base URL says where the release answers",
        ),
        (
            vec!["hook", "--base-url", "alb:8080", "--check", "/health"],
            "`--base-url` `alb:8080` is not an http:// or https:// URL",
        ),
        (
            vec![
                "hook",
                "--base-url",
                "http://a",
                "--check",
                "/ requests=2 may-fail=2",
            ],
            "lets all 2 request(s) fail",
        ),
        (
            vec!["hook", "--lambda"],
            "`--lambda` needs AWS_LAMBDA_RUNTIME_API",
        ),
    ] {
        let result = run(bgtool().args(&arguments));
        assert_failed(&result, 2);
        assert!(
            result.stderr.contains(message),
            "{arguments:?}: {}",
            result.stderr
        );
    }
    let result = run(bgtool().arg("hook"));
    assert_failed(&result, 2);
    assert!(result.stderr.contains("--check"), "{}", result.stderr);
}

/// A CodeDeploy endpoint that accepts every call and records it; as EC2, it knows the network
/// interfaces of one load balancer, `app/web/0f`, at 127.0.0.1.
struct CodeDeployRecorder {
    address: SocketAddr,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
}

impl CodeDeployRecorder {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&calls);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some((headers, body)) = read_request(&mut stream) else {
                    continue;
                };
                let form = String::from_utf8_lossy(&body).to_string();
                if form.contains("Action=DescribeNetworkInterfaces") {
                    let known = form.contains("Filter.1.Value.1=ELB%20app%2Fweb%2F0f");
                    let items = if known {
                        "<item><networkInterfaceId>eni-1</networkInterfaceId><privateIpAddress>127.0.0.1</privateIpAddress></item>"
                    } else {
                        ""
                    };
                    let answer = format!(
                        "<DescribeNetworkInterfacesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>0</requestId><networkInterfaceSet>{items}</networkInterfaceSet></DescribeNetworkInterfacesResponse>"
                    );
                    recorded
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(("DescribeNetworkInterfaces".to_owned(), Value::String(form)));
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                    continue;
                }
                let action = headers
                    .lines()
                    .find_map(|line| line.strip_prefix("x-amz-target:"))
                    .and_then(|target| target.trim().rsplit('.').next())
                    .unwrap_or_default()
                    .to_owned();
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let answer =
                    json!({"lifecycleEventHookExecutionId": body["lifecycleEventHookExecutionId"]})
                        .to_string();
                recorded
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((action, body));
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: 0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        Self { address, calls }
    }

    /// Takes the calls recorded so far.
    fn take(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The pinned cargo-lambda that `scripts/test` installs. Its absence fails the test.
fn cargo_lambda() -> PathBuf {
    PathBuf::from(std::env::var("BGTOOL_TEST_CARGO_LAMBDA").unwrap_or_else(|_| {
        panic!("BGTOOL_TEST_CARGO_LAMBDA is not set: run the tests with `scripts/test`, which installs cargo-lambda")
    }))
}

/// cargo-lambda with the test process's PATH (it runs `cargo metadata`) and nothing else.
fn cargo_lambda_command(arguments: &[&str]) -> Command {
    let mut command = Command::new(cargo_lambda());
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::var_os("HOME").unwrap_or_default())
        .current_dir(repository())
        .arg("lambda")
        .args(arguments);
    command
}

/// A process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Lambda Runtime API emulator, and the function (bgtool run with no argument, as Lambda
/// runs `bootstrap`) polling it with `environment`.
struct Emulated {
    port: u16,
    _emulator: Running,
    function: Option<Running>,
}

impl Emulated {
    fn start() -> Self {
        let port = refusing_address().port();
        let emulator = cargo_lambda_command(&[
            "watch",
            "--only-lambda-apis",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cargo-lambda starts");
        let emulator = Running(emulator);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_mins(1),
                "cargo-lambda's Runtime API did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            port,
            _emulator: emulator,
            function: None,
        }
    }

    /// Starts the function with these variables (replacing one started before).
    fn function(&mut self, code_deploy: &CodeDeployRecorder, environment: &[(&str, &str)]) {
        self.function = None;
        let mut command = bgtool_on(&format!("http://{}", code_deploy.address));
        command
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{}/.rt", self.port),
            )
            .envs(environment.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.function = Some(Running(command.spawn().expect("bgtool starts")));
    }

    /// Invokes the function with `event`: its answer, or the emulator's error text.
    fn invoke(&self, event: &Value) -> Result<Value, String> {
        let output = cargo_lambda_command(&[
            "invoke",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &self.port.to_string(),
            "--data-ascii",
            &event.to_string(),
            "_",
        ])
        .output()
        .expect("cargo lambda invoke runs");
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        if output.status.success() {
            serde_json::from_str(stdout.trim()).map_err(|error| format!("{error}: {stdout}"))
        } else {
            Err(format!(
                "{stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

fn code_deploy_event(deployment: &str) -> Value {
    json!({"DeploymentId": deployment, "LifecycleEventHookExecutionId": format!("execution-of-{deployment}")})
}

/// As ECS sends it: the deployment's details wrapped in `executionDetails`.
fn ecs_event(details: Option<Value>) -> Value {
    let mut event = json!({
        "executionId": "a1b2c3",
        "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
        "resourceArn": "arn:aws:ecs:us-east-1:123456789012:service-deployment/main/web/x1",
        "executionDetails": {
            "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/main/web",
            "targetServiceRevisionArn": "arn:aws:ecs:us-east-1:123456789012:service-revision/main/web/2",
            "testTrafficWeights": {}, "productionTrafficWeights": {}
        }
    });
    if let Some(details) = details {
        event["hookDetails"] = details;
    }
    event
}

/// The statuses reported to CodeDeploy, with their deployment and hook execution.
fn reported(calls: &[(String, Value)]) -> Vec<(String, String, String)> {
    calls
        .iter()
        .filter(|(action, _)| action == "putlifecycleeventhookexecutionstatus")
        .map(|(_, body)| {
            (
                body["deploymentId"].as_str().unwrap_or_default().to_owned(),
                body["lifecycleEventHookExecutionId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                body["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn as_a_lambda_function_the_hook_reports_to_codedeploy_and_answers_ecs() {
    let base = format!("http://{}", test_listener());
    let refused = format!("http://{}", refusing_address());
    let code_deploy = CodeDeployRecorder::start();
    let mut lambda = Emulated::start();

    // A good release: CodeDeploy hears Succeeded, ECS gets SUCCEEDED.
    lambda.function(
        &code_deploy,
        &[
            ("BGTOOL_HOOK_BASE_URL", base.as_str()),
            (
                "BGTOOL_HOOK_CHECKS",
                "/health contains=ready; /health requests=3",
            ),
        ],
    );
    let answer = lambda.invoke(&code_deploy_event("d-GOOD")).unwrap();
    assert_eq!(answer["status"], "Succeeded", "{answer}");
    assert_eq!(
        reported(&code_deploy.take()),
        [(
            "d-GOOD".to_owned(),
            "execution-of-d-GOOD".to_owned(),
            "Succeeded".to_owned()
        )]
    );
    assert_eq!(
        lambda.invoke(&ecs_event(None)).unwrap(),
        json!({"hookStatus": "SUCCEEDED"})
    );

    // The ECS hook's hookDetails choose the checks: a release answering 500, one too slow, one
    // refusing connections, and a check that does not parse each fail it.
    for details in [
        json!({"checks": ["/broken"]}),
        json!({"checks": "/slow within=300ms"}),
        json!({"baseUrl": refused, "checks": ["/health"]}),
        json!({"checks": ["/health status=600"]}),
    ] {
        assert_eq!(
            lambda.invoke(&ecs_event(Some(details.clone()))).unwrap(),
            json!({"hookStatus": "FAILED"}),
            "{details}"
        );
    }
    // An event of neither kind is an invocation error, naming what it got.
    let error = lambda.invoke(&json!({"Records": []})).unwrap_err();
    // The emulator wraps the message in a box: read it as one line.
    let error = error
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        error.contains("bgtool.HookError")
            && error.contains("nor an ECS one (lifecycleStage); its keys: Records"),
        "{error}"
    );
    assert_eq!(reported(&code_deploy.take()), []);

    // A release answering 500: CodeDeploy hears Failed and rolls back.
    lambda.function(
        &code_deploy,
        &[
            ("BGTOOL_HOOK_BASE_URL", base.as_str()),
            ("BGTOOL_HOOK_CHECKS", "/health\n/broken"),
        ],
    );
    let answer = lambda.invoke(&code_deploy_event("d-BAD")).unwrap();
    assert_eq!(answer["status"], "Failed", "{answer}");
    let lines = answer["checks"].to_string();
    assert!(lines.contains("answered 500 in"), "{lines}");
    assert_eq!(
        reported(&code_deploy.take()),
        [(
            "d-BAD".to_owned(),
            "execution-of-d-BAD".to_owned(),
            "Failed".to_owned()
        )]
    );

    // No checks configured: nothing was tested, so the hook fails rather than pass the release.
    lambda.function(&code_deploy, &[("BGTOOL_HOOK_BASE_URL", base.as_str())]);
    let answer = lambda.invoke(&code_deploy_event("d-UNTESTED")).unwrap();
    assert_eq!(answer["status"], "Failed", "{answer}");
    assert!(
        answer["checks"]
            .to_string()
            .contains("set BGTOOL_HOOK_CHECKS"),
        "{answer}"
    );
    assert_eq!(
        reported(&code_deploy.take()),
        [(
            "d-UNTESTED".to_owned(),
            "execution-of-d-UNTESTED".to_owned(),
            "Failed".to_owned()
        )]
    );
    assert_eq!(
        lambda.invoke(&ecs_event(None)).unwrap(),
        json!({"hookStatus": "FAILED"})
    );
}

#[test]
fn in_public_subnets_the_hook_reaches_the_load_balancer_at_a_private_address() {
    // The base URL names the load balancer by a name no resolver knows: the requests reach it
    // only at the private address of its network interface, as in a VPC without NAT.
    let base = format!("http://web-alb.invalid:{}", test_listener().port());
    let code_deploy = CodeDeployRecorder::start();
    let mut lambda = Emulated::start();
    lambda.function(
        &code_deploy,
        &[
            ("BGTOOL_HOOK_BASE_URL", base.as_str()),
            ("BGTOOL_HOOK_LOAD_BALANCER", "app/web/0f"),
            (
                "BGTOOL_HOOK_CHECKS",
                &format!(
                    "/health\n/host contains={}",
                    base.trim_start_matches("http://")
                ),
            ),
        ],
    );
    let answer = lambda.invoke(&code_deploy_event("d-PUBLIC")).unwrap();
    assert_eq!(answer["status"], "Succeeded", "{answer}");
    let lines = answer["checks"].to_string();
    assert!(
        lines.contains(&format!("{base}/health: passed")),
        "the verdict names the load balancer, not the address: {lines}"
    );
    let calls = code_deploy.take();
    let looked_up: Vec<&Value> = calls
        .iter()
        .filter(|(action, _)| action == "DescribeNetworkInterfaces")
        .map(|(_, form)| form)
        .collect();
    assert_eq!(looked_up.len(), 1, "{calls:?}");
    assert!(
        looked_up[0]
            .as_str()
            .unwrap()
            .contains("Filter.1.Name=description"),
        "{looked_up:?}"
    );
    assert_eq!(
        reported(&calls),
        [(
            "d-PUBLIC".to_owned(),
            "execution-of-d-PUBLIC".to_owned(),
            "Succeeded".to_owned()
        )]
    );

    // A load balancer with no interface found: nothing was tested, and the hook fails.
    lambda.function(
        &code_deploy,
        &[
            ("BGTOOL_HOOK_BASE_URL", base.as_str()),
            ("BGTOOL_HOOK_LOAD_BALANCER", "app/gone/1a"),
            ("BGTOOL_HOOK_CHECKS", "/health"),
        ],
    );
    let answer = lambda.invoke(&code_deploy_event("d-NOWHERE")).unwrap();
    assert_eq!(answer["status"], "Failed", "{answer}");
    assert!(
        answer["checks"].to_string().contains(
            "could not run: load balancer `app/gone/1a` has no network interface in this VPC"
        ),
        "{answer}"
    );
    assert_eq!(
        lambda.invoke(&ecs_event(None)).unwrap(),
        json!({"hookStatus": "FAILED"})
    );
}
