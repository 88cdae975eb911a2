//! Faults from the AWS side: a small server on loopback that speaks the ECS JSON protocol and
//! answers from a script (throttling, 5xx, access denied, bad credentials, broken bodies). moto
//! stays the happy path; this is the unhappy one. In every case a failed run leaves an existing
//! output file as it was and no temporary file behind.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::harness::{Run, assert_failed, bgtool, file_names, run};

/// One scripted answer.
#[derive(Clone)]
enum Reply {
    /// A complete response: status, `__type` of an error (if any), body.
    Json(u16, Option<&'static str>, String),
    /// A response whose body stops before its Content-Length.
    Truncated,
}

const TASK_DEFINITION: &str = r#"{"taskDefinition": {"taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3", "family": "web", "revision": 3, "status": "ACTIVE", "containerDefinitions": [{"name": "app", "image": "repo/app:1", "essential": true}], "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512"}, "tags": []}"#;

fn ok() -> Reply {
    Reply::Json(200, None, TASK_DEFINITION.to_owned())
}

fn error(status: u16, kind: &'static str, message: &str) -> Reply {
    Reply::Json(
        status,
        Some(kind),
        format!(r#"{{"__type": "{kind}", "message": "{message}"}}"#),
    )
}

/// Serves `script` in order, then `after` for every later request; counts requests.
struct FaultServer {
    address: SocketAddr,
    requests: Arc<AtomicUsize>,
}

impl FaultServer {
    fn start(script: Vec<Reply>, after: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                if read_request(&mut stream).is_none() {
                    continue;
                }
                let index = counter.fetch_add(1, Ordering::SeqCst);
                let reply = script.get(index).cloned().unwrap_or_else(|| after.clone());
                let _ = write_reply(&mut stream, &reply);
            }
        });
        Self { address, requests }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Reads one HTTP request: its headers (lowercased) and its Content-Length bytes of body.
pub(crate) fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    let header_end = loop {
        let count = stream.read(&mut buffer).ok()?;
        if count == 0 {
            return None;
        }
        received.extend_from_slice(&buffer[..count]);
        if let Some(position) = received.windows(4).position(|window| window == b"\r\n\r\n") {
            break position + 4;
        }
    };
    let headers = String::from_utf8_lossy(&received[..header_end]).to_ascii_lowercase();
    let length: usize = headers
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while received.len() < header_end + length {
        let count = stream.read(&mut buffer).ok()?;
        if count == 0 {
            break;
        }
        received.extend_from_slice(&buffer[..count]);
    }
    let body = received[header_end..].to_vec();
    Some((headers, body))
}

fn write_reply(stream: &mut TcpStream, reply: &Reply) -> std::io::Result<()> {
    match reply {
        Reply::Json(status, kind, body) => {
            let error_type = kind
                .map(|kind| format!("x-amzn-ErrorType: {kind}\r\n"))
                .unwrap_or_default();
            write!(
                stream,
                "HTTP/1.1 {status} Status\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: 0\r\n{error_type}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        Reply::Truncated => {
            let body = &TASK_DEFINITION[..40];
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                TASK_DEFINITION.len()
            )
        }
    }
}

/// Runs `bgtool taskdef --task-definition web -o FILE` against `server`, with an existing FILE.
fn taskdef_against(
    server: &FaultServer,
    extra: &[&str],
    environment: &[(&str, &str)],
) -> (Run, tempfile::TempDir) {
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("taskdef.json");
    fs::write(&output, "previous\n").unwrap();
    let mut command = bgtool();
    command
        .env("AWS_ENDPOINT_URL", server.endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (name, value) in environment {
        command.env(name, value);
    }
    let result = run(command
        .args(["taskdef", "--task-definition", "web", "-o"])
        .arg(&output)
        .args(extra));
    (result, folder)
}

/// A failed run changed nothing on disk.
#[track_caller]
fn assert_untouched(folder: &tempfile::TempDir) {
    assert_eq!(
        fs::read_to_string(folder.path().join("taskdef.json")).unwrap(),
        "previous\n"
    );
    assert_eq!(
        file_names(folder.path()),
        ["taskdef.json"],
        "no temporary file is left"
    );
}

#[test]
fn throttling_twice_then_success_succeeds_and_verbose_shows_the_retries() {
    let server = FaultServer::start(
        vec![
            error(400, "ThrottlingException", "Rate exceeded"),
            error(400, "ThrottlingException", "Rate exceeded"),
        ],
        ok(),
    );
    let (result, folder) = taskdef_against(&server, &["--verbose"], &[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(server.requests(), 3);
    for attempt in [
        "ecs:DescribeTaskDefinition attempt 1: HTTP 400 ThrottlingException",
        "ecs:DescribeTaskDefinition attempt 2: HTTP 400 ThrottlingException",
        "ecs:DescribeTaskDefinition attempt 3: HTTP 200",
    ] {
        assert!(
            result.stderr.contains(attempt),
            "{attempt}: {}",
            result.stderr
        );
    }
    let written = fs::read_to_string(folder.path().join("taskdef.json")).unwrap();
    assert!(
        written.contains("\"family\": \"web\"") && !written.contains("revision"),
        "{written}"
    );
}

#[test]
fn server_errors_then_success_succeed() {
    let server = FaultServer::start(
        vec![
            error(500, "ServerException", "internal"),
            error(503, "ServiceUnavailableException", "busy"),
        ],
        ok(),
    );
    let (result, _folder) = taskdef_against(&server, &[], &[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(server.requests(), 3);
}

#[test]
fn server_errors_forever_fail_after_the_retries_saying_so() {
    let server = FaultServer::start(vec![], error(500, "ServerException", "internal"));
    let (result, folder) = taskdef_against(&server, &[], &[("AWS_MAX_ATTEMPTS", "2")]);
    assert_failed(&result, 1);
    assert_eq!(server.requests(), 2, "AWS_MAX_ATTEMPTS is honoured");
    assert!(
        result
            .stderr
            .contains("ECS kept failing (`ServerException`, HTTP 500) after the retries"),
        "{}",
        result.stderr
    );
    assert_untouched(&folder);
}

#[test]
fn server_errors_forever_end_within_the_timeout() {
    let server = FaultServer::start(vec![], error(503, "ServiceUnavailableException", "busy"));
    let started = Instant::now();
    let (result, folder) =
        taskdef_against(&server, &["--timeout", "2"], &[("AWS_MAX_ATTEMPTS", "50")]);
    let elapsed = started.elapsed();
    assert_failed(&result, 1);
    assert!(elapsed < Duration::from_secs(8), "took {elapsed:?}");
    assert!(
        result.stderr.contains("within `--timeout` (2 s)"),
        "{}",
        result.stderr
    );
    assert_untouched(&folder);
}

#[test]
fn access_denied_fails_at_once_naming_the_action() {
    let server = FaultServer::start(
        vec![],
        error(
            400,
            "AccessDeniedException",
            "User is not authorized to perform: ecs:DescribeTaskDefinition",
        ),
    );
    let (result, folder) = taskdef_against(&server, &[], &[]);
    assert_failed(&result, 1);
    assert_eq!(server.requests(), 1, "no retries for access denied");
    assert!(result.stderr.contains("access denied"), "{}", result.stderr);
    assert!(
        result
            .stderr
            .contains("hint: allow `ecs:DescribeTaskDefinition`"),
        "{}",
        result.stderr
    );
    assert_untouched(&folder);
}

#[test]
fn rejected_credentials_get_a_credentials_hint() {
    for kind in ["UnrecognizedClientException", "ExpiredTokenException"] {
        let server = FaultServer::start(
            vec![],
            error(
                400,
                kind,
                "The security token included in the request is invalid",
            ),
        );
        let (result, folder) = taskdef_against(&server, &[], &[]);
        assert_failed(&result, 1);
        assert!(
            result
                .stderr
                .contains(&format!("AWS rejected the credentials (`{kind}`)")),
            "{kind}: {}",
            result.stderr
        );
        assert!(
            result.stderr.contains("aws sts get-caller-identity"),
            "{kind}: {}",
            result.stderr
        );
        assert_untouched(&folder);
    }
}

#[test]
fn broken_bodies_are_clear_errors_and_write_nothing() {
    for (name, reply, expected) in [
        (
            "truncated",
            Reply::Truncated,
            "ECS sent a response that cannot be read",
        ),
        (
            "not JSON",
            Reply::Json(200, None, "<html>proxy error</html>".to_owned()),
            "ECS sent a response that cannot be read",
        ),
        (
            "no taskDefinition",
            Reply::Json(200, None, "{}".to_owned()),
            "no task definition found",
        ),
        (
            "taskDefinition null",
            Reply::Json(200, None, r#"{"taskDefinition": null}"#.to_owned()),
            "`taskDefinition` is null, expected an object",
        ),
    ] {
        let server = FaultServer::start(vec![], reply);
        let (result, folder) = taskdef_against(&server, &[], &[("AWS_MAX_ATTEMPTS", "1")]);
        assert_failed(&result, 1);
        assert!(
            result.stderr.contains(expected),
            "{name}: {}",
            result.stderr
        );
        assert_untouched(&folder);
    }
}
