//! Hostile input, table-driven: every case must end with its documented exit code, one message
//! that names the cause, nothing on standard output, no panic, and nothing written.

#![allow(clippy::too_many_lines, reason = "the case tables are long by nature")]

use std::fs;
use std::path::Path;

use crate::harness::{bgtool, file_names, run_with_stdin};

/// One bad input. `{input}` in the arguments becomes the path of a file holding `file`, and
/// `{out}` the path of an output file that must not appear.
struct Case {
    name: String,
    arguments: Vec<String>,
    stdin: Option<Vec<u8>>,
    file: Option<Vec<u8>>,
    code: i32,
    expect: String,
}

fn case(name: &str, arguments: &[&str], code: i32, expect: &str) -> Case {
    Case {
        name: name.to_owned(),
        arguments: arguments
            .iter()
            .map(|argument| (*argument).to_owned())
            .collect(),
        stdin: None,
        file: None,
        code,
        expect: expect.to_owned(),
    }
}

fn with_stdin(mut case: Case, stdin: impl Into<Vec<u8>>) -> Case {
    case.stdin = Some(stdin.into());
    case
}

fn with_file(mut case: Case, file: impl Into<Vec<u8>>) -> Case {
    case.file = Some(file.into());
    case
}

/// Deterministic junk bytes (a linear congruential generator), so failures reproduce.
fn junk(seed: u64, length: usize) -> Vec<u8> {
    let mut state = seed;
    (0..length)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect()
}

const VALID_APPSPEC: &str = "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: app\n          ContainerPort: 80\n";

fn taskdef_cases() -> Vec<Case> {
    let taskdef = |name: &str, body: &[u8], expect: &str| {
        with_stdin(
            case(
                &format!("taskdef: {name}"),
                &["taskdef", "--input", "-", "-o", "{out}"],
                1,
                expect,
            ),
            body.to_vec(),
        )
    };
    let mut cases = vec![
        taskdef("empty", b"", "ends before the JSON is complete"),
        taskdef("whitespace", b"  \n\t ", "ends before the JSON is complete"),
        taskdef("null", b"null", "expected a JSON object, found null"),
        taskdef("true", b"true", "expected a JSON object, found a boolean"),
        taskdef("number", b"42", "expected a JSON object, found a number"),
        taskdef("string", b"\"web\"", "expected a JSON object, found a string"),
        taskdef("list", b"[]", "expected a JSON object, found a list"),
        taskdef("empty object", b"{}", "no task definition found"),
        taskdef("wrapper list", b"{\"taskDefinition\": []}", "`taskDefinition` is a list"),
        taskdef("wrapper number", b"{\"taskDefinition\": 1}", "`taskDefinition` is a number"),
        taskdef("wrapper null", b"{\"taskDefinition\": null}", "`taskDefinition` is null"),
        taskdef("containers object", b"{\"containerDefinitions\": {}}", "`containerDefinitions` is an object"),
        taskdef("containers string", b"{\"containerDefinitions\": \"app\"}", "`containerDefinitions` is a string"),
        taskdef("containers empty", b"{\"containerDefinitions\": []}", "`containerDefinitions` is empty"),
        taskdef("container not object", b"{\"containerDefinitions\": [1]}", "container 0 in `containerDefinitions` has no `name`"),
        taskdef("container unnamed", b"{\"containerDefinitions\": [{}]}", "container 0 in `containerDefinitions` has no `name`"),
        taskdef("container name number", b"{\"containerDefinitions\": [{\"name\": 7}]}", "has no `name`"),
        taskdef("second unnamed", b"{\"containerDefinitions\": [{\"name\": \"a\"}, {\"image\": \"x\"}]}", "container 1 in `containerDefinitions` has no `name`"),
        taskdef("family only", b"{\"family\": \"web\"}", "no task definition found"),
        taskdef("tags not list", b"{\"taskDefinition\": {\"containerDefinitions\": [{\"name\": \"a\"}]}, \"tags\": \"x\"}", "the response's `tags` is a string"),
        taskdef("trailing garbage", b"{} {}", "trailing characters"),
        taskdef("trailing comma", b"{\"containerDefinitions\": [{\"name\": \"a\"},]}", "is not valid JSON"),
        taskdef("single quotes", b"{'family': 'web'}", "is not valid JSON"),
        taskdef("NaN", b"{\"cpu\": NaN}", "is not valid JSON"),
        taskdef("comment", b"// saved\n{}", "is not valid JSON"),
        taskdef("byte order mark", "\u{feff}{}".as_bytes(), "is not valid JSON"),
        taskdef("non-UTF-8", b"{\"family\": \"\xff\xfe\"}", "is not valid JSON"),
        taskdef("truncated", b"{\"taskDefinition\": {\"family\": \"we", "ends before the JSON is complete"),
        taskdef("deep lists", "[".repeat(100_000).as_bytes(), "recursion limit exceeded"),
        taskdef("deep objects", "{\"a\":".repeat(50_000).as_bytes(), "recursion limit exceeded"),
        taskdef("YAML instead", b"family: web\ncontainerDefinitions: []\n", "is not valid JSON"),
    ];
    for seed in 0..8 {
        cases.push(taskdef(
            &format!("binary junk {seed}"),
            &junk(seed, 4096),
            "is not valid JSON",
        ));
    }
    cases.push(with_file(
        case(
            "taskdef: file over 16 MiB",
            &["taskdef", "--input", "{input}", "-o", "{out}"],
            1,
            "is larger than 16 MiB",
        ),
        vec![b' '; 16 * 1024 * 1024 + 1],
    ));
    cases.push(case(
        "taskdef: input missing",
        &["taskdef", "--input", "/nonexistent/saved.json"],
        1,
        "cannot open `/nonexistent/saved.json`",
    ));
    cases.push(case(
        "taskdef: input is a folder",
        &["taskdef", "--input", "/tmp"],
        1,
        "`/tmp` is a folder, not a file",
    ));
    cases
}

fn appspec_cases() -> Vec<Case> {
    let render = |name: &str, body: &str, expect: &str| {
        with_stdin(
            case(
                &format!("render-appspec: {name}"),
                &["render-appspec", "--template", "-", "-o", "{out}"],
                1,
                expect,
            ),
            body.as_bytes().to_vec(),
        )
    };
    let replaced = |from: &str, to: &str| VALID_APPSPEC.replace(from, to);
    let mut cases = vec![
        render("empty", "", "`$`: expected a mapping, found nothing (null)"),
        render(
            "a list",
            "- a\n- b\n",
            "`$`: expected a mapping, found a list",
        ),
        render(
            "a scalar",
            "hello\n",
            "`$`: expected a mapping, found a string",
        ),
        render(
            "tabs",
            "version: 0.0\nResources:\n\t- x\n",
            "is not valid YAML",
        ),
        render("unclosed flow", "version: [0.0\n", "is not valid YAML"),
        render(
            "duplicate keys",
            "version: 0.0\nversion: 0.0\n",
            "duplicate entry with key \"version\"",
        ),
        render(
            "anchor bomb",
            "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n",
            "repetition limit exceeded",
        ),
        render("undefined alias", "a: *nowhere\n", "is not valid YAML"),
        render(
            "deep nesting",
            &"[".repeat(10_000),
            "recursion limit exceeded",
        ),
        render(
            "version 1",
            &replaced("version: 0.0", "version: 1"),
            "`version`: must be 0.0, found `1`",
        ),
        render(
            "version string 1.0",
            &replaced("version: 0.0", "version: \"1.0\""),
            "`version`: must be 0.0",
        ),
        render(
            "version null",
            &replaced("version: 0.0", "version:"),
            "`version`: must be 0.0",
        ),
        render(
            "no version",
            &replaced("version: 0.0\n", ""),
            "`version`: is required",
        ),
        render("no resources", "version: 0.0\n", "`Resources`: is required"),
        render(
            "resources string",
            "version: 0.0\nResources: web\n",
            "`Resources`: expected a list, found a string",
        ),
        render(
            "resources empty",
            "version: 0.0\nResources: []\n",
            "must hold exactly one entry (the target service), found 0",
        ),
        render(
            "wrong type",
            &replaced("AWS::ECS::Service", "AWS::EC2::Instance"),
            "must be `AWS::ECS::Service`",
        ),
        render(
            "no properties",
            "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n",
            "`Resources[0].TargetService.Properties`: is required",
        ),
        render(
            "task definition empty",
            &replaced("<TASK_DEFINITION>", "\"\""),
            "`Resources[0].TargetService.Properties.TaskDefinition`: is empty",
        ),
        render(
            "task definition number",
            &replaced("<TASK_DEFINITION>", "12"),
            "TaskDefinition`: expected a string, found a number",
        ),
        render(
            "container name list",
            &replaced("ContainerName: app", "ContainerName: [app]"),
            "ContainerName`: expected a string, found a list",
        ),
        render(
            "port list",
            &replaced("ContainerPort: 80", "ContainerPort: [80]"),
            "ContainerPort`: expected a whole number, found a list",
        ),
        render(
            "port negative",
            &replaced("ContainerPort: 80", "ContainerPort: -1"),
            "ContainerPort`: expected a whole number, found a number",
        ),
        render(
            "port fraction",
            &replaced("ContainerPort: 80", "ContainerPort: 80.5"),
            "ContainerPort`: expected a whole number",
        ),
        render(
            "port too big",
            &replaced("ContainerPort: 80", "ContainerPort: 65536"),
            "65536 is out of range 1–65535",
        ),
        render(
            "port word",
            &replaced("ContainerPort: 80", "ContainerPort: http"),
            "expected a port number 1–65535, found `\"http\"`",
        ),
        render(
            "unknown property",
            &replaced("TaskDefinition:", "TaskDef:"),
            "`Resources[0].TargetService.Properties.TaskDef`: unknown key; did you mean `TaskDefinition`?",
        ),
        render(
            "EC2 files key",
            &format!("{VALID_APPSPEC}files:\n  - source: /\n"),
            "`files`: unknown key (it belongs to EC2/on-premises AppSpec files, not ECS ones)",
        ),
        render(
            "hooks mapping",
            &format!("{VALID_APPSPEC}Hooks:\n  BeforeInstall: fn\n"),
            "`Hooks`: expected a list of `- PHASE: FUNCTION` items, found a mapping",
        ),
        render(
            "hook two keys",
            &format!("{VALID_APPSPEC}Hooks:\n  - BeforeInstall: a\n    AfterInstall: b\n"),
            "`Hooks[0]`: must hold exactly one `PHASE: FUNCTION`, found 2",
        ),
        render(
            "hook EC2 phase",
            &format!("{VALID_APPSPEC}Hooks:\n  - ApplicationStart: fn\n"),
            "`Hooks[0].ApplicationStart`: unknown key",
        ),
        render(
            "hook with space",
            &format!("{VALID_APPSPEC}Hooks:\n  - BeforeInstall: my function\n"),
            "`my function` is not a Lambda function name or ARN",
        ),
        render(
            "subnets string",
            &format!(
                "{VALID_APPSPEC}        NetworkConfiguration:\n          AwsvpcConfiguration:\n            Subnets: subnet-1\n"
            ),
            "Subnets`: expected a list, found a string",
        ),
        render(
            "subnet empty item",
            &format!(
                "{VALID_APPSPEC}        NetworkConfiguration:\n          AwsvpcConfiguration:\n            Subnets: [\"\"]\n"
            ),
            "Subnets[0]`: is empty",
        ),
        render(
            "public ip bool",
            &format!(
                "{VALID_APPSPEC}        NetworkConfiguration:\n          AwsvpcConfiguration:\n            Subnets: [a]\n            AssignPublicIp: true\n"
            ),
            "AssignPublicIp`: must be `ENABLED` or `DISABLED`, found `true`",
        ),
        render(
            "capacity provider unnamed",
            &format!("{VALID_APPSPEC}        CapacityProviderStrategy:\n          - Weight: 1\n"),
            "CapacityProviderStrategy[0].CapacityProvider`: is required",
        ),
        render(
            "unset variable",
            "version: 0.0\nResources: $RESOURCES\n",
            "a variable is not set: `RESOURCES` (line 2)",
        ),
        render(
            "broken reference",
            "version: ${VERSION\n",
            "line 1, column 10: `${VERSION` is not a variable reference",
        ),
        render(
            "empty reference",
            "version: ${}\n",
            "`${}` is not a variable reference",
        ),
        render(
            "bad operator",
            "version: ${V:=0.0}\n",
            "`${V:=0.0}` is not a variable reference",
        ),
    ];
    for seed in 0..6 {
        let case = with_stdin(
            case(
                &format!("render-appspec: binary junk {seed}"),
                &["render-appspec", "--template", "-", "-o", "{out}"],
                1,
                "standard input",
            ),
            junk(100 + seed, 2048),
        );
        cases.push(case);
    }
    cases.push(with_stdin(
        case(
            "render-appspec: non-UTF-8 template",
            &["render-appspec", "--template", "-", "-o", "{out}"],
            1,
            "is not UTF-8 text",
        ),
        b"version: \xff\n".to_vec(),
    ));
    cases.push(with_file(
        case(
            "render-appspec: bad env file",
            &[
                "render-appspec",
                "--template",
                "appspec_template.yaml",
                "--env-file",
                "{input}",
                "-o",
                "{out}",
            ],
            1,
            "line 2: `not a pair` is not KEY=VALUE",
        ),
        b"CONTAINER_NAME=web\nnot a pair\n".to_vec(),
    ));
    cases.push(with_file(
        case(
            "render-appspec: taskdef not JSON",
            &[
                "render-appspec",
                "--container-name",
                "app",
                "--container-port",
                "80",
                "--taskdef",
                "{input}",
                "-o",
                "{out}",
            ],
            1,
            "is not valid JSON",
        ),
        b"containerDefinitions: []".to_vec(),
    ));
    cases
}

fn check_cases() -> Vec<Case> {
    vec![
        with_file(
            case(
                "check: appspec junk",
                &["check", "--appspec", "{input}"],
                1,
                "is not valid YAML",
            ),
            b"{{{{".to_vec(),
        ),
        with_file(
            case(
                "check: appspec empty",
                &["check", "--appspec", "{input}"],
                1,
                "`$`: expected a mapping",
            ),
            Vec::new(),
        ),
        with_file(
            case(
                "check: taskdef describe output",
                &["check", "--taskdef", "{input}"],
                1,
                "is DescribeTaskDefinition output, not a taskdef.json",
            ),
            b"{\"taskDefinition\": {}}".to_vec(),
        ),
        with_file(
            case(
                "check: taskdef read-only keys",
                &["check", "--taskdef", "{input}"],
                1,
                "read-only keys that RegisterTaskDefinition rejects: `taskDefinitionArn`",
            ),
            b"{\"taskDefinitionArn\": \"x\", \"containerDefinitions\": [{\"name\": \"a\"}]}"
                .to_vec(),
        ),
        with_file(
            case(
                "check: taskdef null",
                &["check", "--taskdef", "{input}"],
                1,
                "`containerDefinitions[0].image` is null",
            ),
            b"{\"containerDefinitions\": [{\"name\": \"a\", \"image\": null}]}".to_vec(),
        ),
        with_file(
            case(
                "check: taskdef list",
                &["check", "--taskdef", "{input}"],
                1,
                "expected a JSON object",
            ),
            b"[]".to_vec(),
        ),
        with_file(
            case(
                "check: taskdef no containers",
                &["check", "--taskdef", "{input}"],
                1,
                "no task definition found",
            ),
            b"{\"family\": \"web\"}".to_vec(),
        ),
        with_file(
            case(
                "check: taskdef binary",
                &["check", "--taskdef", "{input}"],
                1,
                "is not valid JSON",
            ),
            junk(7, 512),
        ),
        case(
            "check: appspec missing",
            &["check", "--appspec", "/nonexistent/appspec.yaml"],
            1,
            "cannot open `/nonexistent/appspec.yaml`",
        ),
        case("check: nothing to check", &["check"], 2, "error"),
    ]
}

fn flag_cases() -> Vec<Case> {
    vec![
        case(
            "image-detail: empty",
            &["image-detail", "--image-uri", "", "-o", "{out}"],
            2,
            "the image reference is empty",
        ),
        case(
            "image-detail: spaces",
            &["image-detail", "--image-uri", "repo/app: 1", "-o", "{out}"],
            2,
            "` ` is not allowed",
        ),
        case(
            "image-detail: newline",
            &["image-detail", "--image-uri", "repo/app:1\n", "-o", "{out}"],
            2,
            "`\\n` is not allowed",
        ),
        case(
            "image-detail: shell",
            &[
                "image-detail",
                "--image-uri",
                "repo/app:$(id)",
                "-o",
                "{out}",
            ],
            2,
            "`$` is not allowed",
        ),
        case(
            "image-detail: bad digest",
            &[
                "image-detail",
                "--image-uri",
                "repo/app@md5:xyz",
                "-o",
                "{out}",
            ],
            2,
            "is not a digest",
        ),
        case(
            "image-detail: too long",
            &[
                "image-detail",
                "--image-uri",
                &"a".repeat(300),
                "-o",
                "{out}",
            ],
            2,
            "ECS allows at most 255",
        ),
        case(
            "image-detail: missing flag",
            &["image-detail", "-o", "{out}"],
            2,
            "--image-uri",
        ),
        case(
            "image-definitions: no name",
            &[
                "image-definitions",
                "--container",
                "=repo/app:1",
                "-o",
                "{out}",
            ],
            2,
            "a container name is 1 to 255",
        ),
        case(
            "image-definitions: no uri",
            &["image-definitions", "--container", "app=", "-o", "{out}"],
            2,
            "the image reference is empty",
        ),
        case(
            "image-definitions: twice",
            &[
                "image-definitions",
                "--container",
                "app=a:1",
                "--container",
                "app=a:2",
                "-o",
                "{out}",
            ],
            2,
            "container `app` is given more than once",
        ),
        case(
            "taskdef: unknown flag",
            &["taskdef", "--input", "x.json", "--imagee", "a"],
            2,
            "unexpected argument '--imagee'",
        ),
        case(
            "taskdef: two sources",
            &[
                "taskdef",
                "--input",
                "x.json",
                "--service",
                "web",
                "--cluster",
                "c",
            ],
            2,
            "cannot be used with",
        ),
        case(
            "taskdef: connect timeout word",
            &[
                "taskdef",
                "--task-definition",
                "web",
                "--connect-timeout",
                "soon",
            ],
            2,
            "`--connect-timeout`: `soon` is not a number of seconds",
        ),
        case(
            "taskdef: bad region",
            &["taskdef", "--task-definition", "web", "--region", "Europe"],
            2,
            "`--region`: `Europe` is not an AWS Region name",
        ),
        case(
            "taskdef: empty profile",
            &["taskdef", "--task-definition", "web", "--profile", ""],
            2,
            "`--profile` needs a value",
        ),
        case(
            "taskdef: five placeholders",
            &[
                "taskdef",
                "--input",
                "x.json",
                "--image-placeholder",
                "a",
                "--image-placeholder",
                "b",
                "--image-placeholder",
                "c",
                "--image-placeholder",
                "d",
                "--image-placeholder",
                "e",
            ],
            2,
            "CodeDeployToECS fills at most 4 images",
        ),
        case(
            "render-appspec: template and flags",
            &["render-appspec", "--template", "t.yaml", "--subnets", "a"],
            2,
            "cannot be used with",
        ),
        case(
            "render-appspec: capacity provider junk",
            &[
                "render-appspec",
                "--container-name",
                "a",
                "--container-port",
                "80",
                "--capacity-provider",
                "X:1:2:3",
            ],
            2,
            "expected NAME[:BASE[:WEIGHT]]",
        ),
        case(
            "emit-hcl: unknown strategy",
            &["emit-hcl", "--strategy", "rolling"],
            2,
            "invalid value 'rolling'",
        ),
        case(
            "emit-hcl: azs word",
            &["emit-hcl", "--azs", "three"],
            2,
            "invalid value 'three'",
        ),
        case(
            "emit-hcl: out-dir is a file",
            &["emit-hcl", "--out-dir", "/etc/hostname"],
            1,
            "is a file, not a folder",
        ),
        case("no subcommand", &[], 2, "Usage"),
        case(
            "unknown subcommand",
            &["launch"],
            2,
            "unrecognized subcommand 'launch'",
        ),
    ]
}

fn output_cases() -> Vec<Case> {
    vec![
        case(
            "output into /proc",
            &[
                "image-detail",
                "--image-uri",
                "repo/app:1",
                "-o",
                "/proc/bgtool-test.json",
            ],
            1,
            "cannot write in folder `/proc`",
        ),
        case(
            "output onto a folder",
            &["image-detail", "--image-uri", "repo/app:1", "-o", "/tmp"],
            1,
            "cannot write `/tmp`: it is a folder",
        ),
        case(
            "output into a missing folder",
            &[
                "image-detail",
                "--image-uri",
                "repo/app:1",
                "-o",
                "/nonexistent/imageDetail.json",
            ],
            1,
            "folder `/nonexistent` does not exist",
        ),
        case(
            "module into /proc",
            &["emit-hcl", "--out-dir", "/proc/bgtool-stack"],
            1,
            "cannot create folder `/proc/bgtool-stack`",
        ),
    ]
}

#[test]
fn every_hostile_input_fails_cleanly() {
    let cases: Vec<Case> = [
        taskdef_cases(),
        appspec_cases(),
        check_cases(),
        flag_cases(),
        output_cases(),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(cases.len() >= 100, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let folder = tempfile::tempdir().unwrap();
        let input = folder.path().join("input");
        if let Some(bytes) = &case.file {
            fs::write(&input, bytes).unwrap();
        }
        let output = folder.path().join("out");
        let arguments: Vec<String> = case
            .arguments
            .iter()
            .map(|argument| {
                argument
                    .replace("{input}", &input.display().to_string())
                    .replace("{out}", &output.display().to_string())
            })
            .collect();
        let result = run_with_stdin(bgtool().args(&arguments), case.stdin.as_deref());
        let mut problems = Vec::new();
        if result.code != case.code {
            problems.push(format!("exit {} instead of {}", result.code, case.code));
        }
        if !result.stderr.contains(&case.expect) {
            problems.push(format!("stderr lacks {:?}", case.expect));
        }
        if !result.stdout.is_empty() {
            problems.push("printed data on stdout".to_owned());
        }
        if result.stderr.contains("panicked") || result.stderr.contains("RUST_BACKTRACE") {
            problems.push("panicked".to_owned());
        }
        if case.code == 1
            && result
                .stderr
                .lines()
                .filter(|line| line.starts_with("bgtool: error: "))
                .count()
                != 1
        {
            problems.push("not exactly one `bgtool: error:` line".to_owned());
        }
        let expected_files: Vec<String> = if case.file.is_some() {
            vec!["input".to_owned()]
        } else {
            Vec::new()
        };
        if file_names(folder.path()) != expected_files
            || Path::new("/proc/bgtool-test.json").exists()
        {
            problems.push(format!("wrote files: {:?}", file_names(folder.path())));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n  stderr: {}",
                case.name,
                problems.join("; "),
                result.stderr.trim()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
