//! `bgtool prune` against moto (the families seeded in the cluster `prune-test`: revisions in use
//! by a service's deployment, two task sets and a task) and against a scripted ECS endpoint for
//! what moto does not do: pages, an ECS deployment in progress with its rollback target,
//! throttling, and a refusal part way.

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};

use crate::faults::read_request;
use crate::harness::{Run, assert_failed, aws_on_moto, bgtool, bgtool_on, bgtool_on_moto, run};

/// The revision numbers of `family` with `status`, as ListTaskDefinitions gives them.
fn revisions(family: &str, status: &str) -> Vec<u32> {
    let listed = aws_on_moto(&[
        "ecs",
        "list-task-definitions",
        "--family-prefix",
        family,
        "--status",
        status,
        "--output",
        "json",
    ]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let body: Value = serde_json::from_str(&listed.stdout).unwrap();
    let mut found: Vec<u32> = body["taskDefinitionArns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arn| {
            let name = arn.as_str().unwrap().rsplit('/').next().unwrap();
            let (named, revision) = name.rsplit_once(':').unwrap();
            assert_eq!(named, family);
            revision.parse().unwrap()
        })
        .collect();
    found.sort_unstable();
    found
}

/// Stdout with what moto makes up each run (a task's ID and its status, which moto moves on
/// every read) masked.
fn masked(stdout: &str) -> String {
    stdout
        .lines()
        .map(|line| match line.find(" task `") {
            Some(start) => {
                let status_start = line[..start].rfind(' ').unwrap() + 1;
                let end = line[start + 7..].find('`').unwrap() + start + 8;
                format!("{}STATUS task `ID`{}", &line[..status_start], &line[end..])
            }
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_dry_run_on_moto_plans_around_every_use_and_changes_nothing() {
    let result = run(bgtool_on_moto().args([
        "prune",
        "--family",
        "prune-plan",
        "--keep",
        "2",
        "--delete-inactive-after",
        "0",
        "--dry-run",
    ]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    insta::assert_snapshot!("prune_dry_run", masked(&result.stdout));
    assert!(
        result.stderr.contains(
            "bgtool: note: `prune-plan`: 10 ACTIVE revisions, uses searched in 2 cluster(s); kept 6, would deregister 4"
        ),
        "{}",
        result.stderr
    );
    assert_eq!(
        revisions("prune-plan", "ACTIVE"),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(revisions("prune-plan", "INACTIVE"), Vec::<u32>::new());
    assert_eq!(revisions("prune-plan-worker", "ACTIVE"), vec![1, 2]);
}

#[test]
fn prune_on_moto_deregisters_only_what_nothing_uses_then_deletes_it() {
    let prune = |extra: &[&str]| {
        let mut command = bgtool_on_moto();
        command.args([
            "prune",
            "--family",
            "prune-real",
            "--keep",
            "2",
            "--keep-revision",
            "6",
            "--cluster",
            "prune-test",
        ]);
        run(command.args(extra))
    };
    let first = prune(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    insta::assert_snapshot!("prune_deregistered", masked(&first.stdout));
    assert_eq!(
        revisions("prune-real", "ACTIVE"),
        vec![1, 2, 3, 4, 6, 9, 10]
    );
    assert_eq!(revisions("prune-real", "INACTIVE"), vec![5, 7, 8]);
    assert_eq!(revisions("prune-real-worker", "ACTIVE"), vec![1, 2]);

    // A rerun finds nothing more to do: what was done is not done twice.
    let again = prune(&[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(!again.stdout.contains("deregistered"), "{}", again.stdout);
    assert!(
        again.stderr.contains("kept 7, deregistered 0"),
        "{}",
        again.stderr
    );

    // moto records neither when a revision was deregistered nor when it was registered: with a
    // minimum age, such a revision stays (the ages themselves are unit-tested in revisions.rs).
    let young = prune(&["--delete-inactive-after", "30"]);
    assert_eq!(young.code, 0, "{}", young.stderr);
    assert!(
        young.stdout.contains(
            "keep              prune-real:8  INACTIVE, ECS gives no time it was deregistered"
        ),
        "{}",
        young.stdout
    );
    assert!(!young.stdout.contains("deleted"), "{}", young.stdout);
    assert_eq!(revisions("prune-real", "INACTIVE"), vec![5, 7, 8]);

    let deleted = prune(&["--delete-inactive-after", "0"]);
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert_eq!(
        deleted
            .stdout
            .lines()
            .filter(|line| line.starts_with("deleted"))
            .collect::<Vec<_>>(),
        vec![
            "deleted           prune-real:5",
            "deleted           prune-real:7",
            "deleted           prune-real:8"
        ]
    );
    assert_eq!(revisions("prune-real", "INACTIVE"), Vec::<u32>::new());
    assert_eq!(
        revisions("prune-real", "ACTIVE"),
        vec![1, 2, 3, 4, 6, 9, 10]
    );
}

#[test]
fn a_cluster_that_cannot_be_searched_stops_prune_before_any_change() {
    let result = run(bgtool_on_moto().args([
        "prune",
        "--family",
        "prune-denied",
        "--keep",
        "1",
        "--cluster",
        "prune-test",
        "--cluster",
        "no-such-cluster",
    ]));
    assert_failed(&result, 1);
    assert!(
        result.stderr.contains(
            "bgtool: error: listing the services of cluster `no-such-cluster`: ECS says: Cluster not found."
        ),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("  hint: pass `--cluster`"),
        "{}",
        result.stderr
    );
    assert_eq!(
        revisions("prune-denied", "ACTIVE"),
        (1..=10).collect::<Vec<_>>()
    );
}

#[test]
fn an_unknown_family_is_an_error_not_an_empty_success() {
    let result = run(bgtool_on_moto().args(["prune", "--family", "no-such-family", "--keep", "3"]));
    assert_failed(&result, 1);
    assert!(
        result
            .stderr
            .contains("bgtool: error: family `no-such-family` has no ACTIVE revision here"),
        "{}",
        result.stderr
    );
}

#[test]
fn hostile_arguments_are_refused_before_any_call() {
    for (arguments, message) in [
        (
            vec!["--family", "web:3", "--keep", "5"],
            "bgtool: error: `--family web:3` names a revision, not a family\n  hint: give the family alone (`--family web`); to keep that revision, add `--keep-revision 3`",
        ),
        (
            vec!["--family", "web", "--keep", "0"],
            "bgtool: error: `--keep 0` would deregister the family's newest revision too",
        ),
        (
            vec!["--family", "web", "--keep=-1"],
            "bgtool: error: `--keep -1`: expected a whole number of revisions",
        ),
        (
            vec![
                "--family",
                "web",
                "--keep",
                "2",
                "--keep-revision",
                "worker:3",
            ],
            "bgtool: error: `--keep-revision worker:3` is not a revision of family `web`",
        ),
        (
            vec!["--family", "web;rm -rf /", "--keep", "2"],
            "bgtool: error: `--family web;rm -rf /` is not a task definition family name",
        ),
    ] {
        // No endpoint and no credentials: a refusal must come before any call.
        let result = run(bgtool().arg("prune").args(&arguments));
        assert_failed(&result, 2);
        assert!(
            result.stderr.starts_with(message),
            "{arguments:?}: {}",
            result.stderr
        );
    }
}

/// ECS on loopback that answers prune's calls from a script and records each (action, body).
struct ScriptedEcs {
    endpoint: String,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
}

const ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web";

impl ScriptedEcs {
    /// Five revisions of `web`, listed over two pages; service `web` of cluster `main` in the
    /// middle of an ECS deployment from `web:1` (its rollback target) to `web:5`. Deregistering
    /// answers `deregister[n]` for the n-th call: an error, or success for `None` and after the list.
    fn start(deregister: Vec<Option<(u16, &'static str)>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&calls);
        std::thread::spawn(move || {
            let mut deregistrations = 0;
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
                    "listtaskdefinitions" if request["nextToken"].is_null() => (
                        200,
                        json!({"taskDefinitionArns": [format!("{ARN}:5"), format!("{ARN}:4")], "nextToken": "page-2"}),
                    ),
                    "listtaskdefinitions" => (
                        200,
                        json!({"taskDefinitionArns": [format!("{ARN}:3"), format!("{ARN}:2"), format!("{ARN}:1")]}),
                    ),
                    "listservices" => (
                        200,
                        json!({"serviceArns": ["arn:aws:ecs:us-east-1:123456789012:service/main/web"]}),
                    ),
                    "describeservices" => (
                        200,
                        json!({"services": [{
                            "serviceName": "web",
                            "taskDefinition": format!("{ARN}:5"),
                            "deployments": [
                                {"id": "ecs-svc/2", "status": "PRIMARY", "taskDefinition": format!("{ARN}:5"), "rolloutState": "IN_PROGRESS"},
                                {"id": "ecs-svc/1", "status": "ACTIVE", "taskDefinition": format!("{ARN}:1"), "rolloutState": "COMPLETED"}
                            ]
                        }], "failures": []}),
                    ),
                    "listtasks" => (200, json!({"taskArns": []})),
                    "deregistertaskdefinition" => {
                        let answer = deregister.get(deregistrations).copied().flatten();
                        deregistrations += 1;
                        match answer {
                            Some((status, kind)) => (
                                status,
                                json!({"__type": kind, "message": format!("scripted {kind}")}),
                            ),
                            None => (
                                200,
                                json!({"taskDefinition": {"taskDefinitionArn": request["taskDefinition"], "status": "INACTIVE"}}),
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

    fn prune(&self) -> Run {
        run(bgtool_on(&self.endpoint).args([
            "prune",
            "--family",
            "web",
            "--keep",
            "1",
            "--cluster",
            "main",
        ]))
    }

    fn deregistered(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(action, _)| action == "deregistertaskdefinition")
            .map(|(_, body)| {
                body["taskDefinition"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }
}

#[test]
fn the_rollback_target_of_a_deployment_in_progress_stays_and_throttling_is_ridden_out() {
    let server = ScriptedEcs::start(vec![
        Some((400, "ThrottlingException")),
        Some((400, "ThrottlingException")),
    ]);
    let result = server.prune();
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(
        result.stdout,
        "keep              web:5  the newest; used by service `web` in cluster `main` (PRIMARY deployment)\n\
         keep              web:1  used by service `web` in cluster `main` (ACTIVE deployment)\n\
         deregistered      web:2\n\
         deregistered      web:3\n\
         deregistered      web:4\n"
    );
    // Both pages were read, and the throttled call was sent again until ECS took it.
    assert_eq!(
        server.deregistered(),
        vec!["web:2", "web:2", "web:2", "web:3", "web:4"]
    );
}

#[test]
fn a_refusal_part_way_reports_exactly_what_was_done_and_a_rerun_continues() {
    let server = ScriptedEcs::start(vec![None, Some((400, "AccessDeniedException"))]);
    let result = server.prune();
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_eq!(
        result
            .stdout
            .lines()
            .filter(|line| line.starts_with("deregistered"))
            .collect::<Vec<_>>(),
        vec!["deregistered      web:2"]
    );
    assert!(
        result.stderr.contains(
            "bgtool: error: 1 of 3 revisions were deregistered before this failure; a rerun continues from here"
        ),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("ecs:DeregisterTaskDefinition"),
        "{}",
        result.stderr
    );
    assert_eq!(server.deregistered(), vec!["web:2", "web:3"]);
}
