//! `bgtool hook`: smoke checks over HTTP, run now from a shell, or for each lifecycle hook
//! invocation as a Lambda function, with the result reported to CodeDeploy or answered to ECS.

use std::time::Duration;

use anyhow::{Result, anyhow};
use serde_json::{Value, json};

use crate::aws::codedeploy::SdkCodeDeploy;
use crate::aws::signed::Signed;
use crate::aws::{CodeDeploy, calls, network};
use crate::config::AwsSettings;
use crate::config::hook::HookSettings;
use crate::deployment::hook_log;
use crate::hook::checks::{self, Check, Verdict};
use crate::hook::event::{self, HookEvent};
use crate::hook::probe::Prober;
use crate::hook::runtime::RuntimeApi;

/// Time kept at the end of a Lambda invocation to report the result.
const REPORTING_MARGIN: Duration = Duration::from_secs(5);

/// Runs the checks and prints one line each; or serves hook invocations until Lambda stops the
/// function.
///
/// # Errors
/// A check that failed (shell), or a Lambda Runtime API that cannot be reached.
pub fn run(settings: &HookSettings) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| anyhow!("cannot start the async runtime: {error}"))?;
    match settings {
        HookSettings::Shell { base_url, checks } => {
            let verdicts = runtime.block_on(run_checks(
                &Prober::default(),
                base_url.as_deref(),
                checks,
                &Route::Direct,
            ));
            for verdict in &verdicts {
                println!("{}", verdict.line);
            }
            let failed = verdicts.iter().filter(|verdict| !verdict.passed).count();
            if failed > 0 {
                return Err(anyhow!("{failed} of {} check(s) failed", verdicts.len()));
            }
            Ok(())
        }
        HookSettings::Lambda { runtime_api, aws } => runtime.block_on(serve(runtime_api, aws)),
    }
}

/// Where the checks' requests go.
enum Route {
    /// To the URL's own host.
    Direct,
    /// To this private address of the load balancer, the URL's host in the `Host` header: a
    /// function in public subnets reaches the load balancer only inside the VPC.
    Via(String),
    /// Nowhere: the load balancer's addresses could not be found, for this reason.
    Unknown(String),
}

async fn run_checks(
    prober: &Prober,
    base_url: Option<&str>,
    checks: &[Check],
    route: &Route,
) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for check in checks {
        let verdict = match (checks::url(check, base_url), route) {
            (Ok(url), Route::Direct) => {
                checks::judge(check, &url, &prober.answers(check, &url, None).await)
            }
            (Ok(url), Route::Via(address)) => match checks::routed(&url, address) {
                Some((target, host)) => {
                    let answers = prober.answers(check, &target, Some(&host)).await;
                    checks::judge(check, &url, &answers)
                }
                None => not_run(
                    &check.text,
                    &format!("`{url}` has no host to send to the load balancer's private address"),
                ),
            },
            (Ok(_), Route::Unknown(why)) => not_run(&check.text, why),
            (Err(reason), _) => not_run(&check.text, &reason),
        };
        verdicts.push(verdict);
    }
    verdicts
}

fn not_run(check: &str, reason: &str) -> Verdict {
    Verdict {
        passed: false,
        line: format!("`{check}`: FAILED: could not run: {reason}"),
    }
}

/// The Lambda loop: each invocation answered, or reported as an error; it ends only when the
/// Runtime API cannot be reached (Lambda then starts the function again).
async fn serve(runtime_api: &str, aws: &AwsSettings) -> Result<()> {
    let api = RuntimeApi::new(runtime_api);
    let prober = Prober::default();
    let mut clients = Clients::default();
    loop {
        let invocation = api.next().await?;
        let id = invocation.request_id.clone();
        match handle(
            &prober,
            &mut clients,
            aws,
            &invocation.event,
            invocation.remaining,
        )
        .await
        {
            Ok(answer) => api.respond(&id, &answer).await?,
            Err(message) => {
                eprintln!("bgtool hook: error: {message}");
                api.fail(&id, &message).await?;
            }
        }
    }
}

/// The AWS clients of the function's life, made at their first use: the configuration is loaded
/// once.
#[derive(Default)]
struct Clients {
    loaded: Option<(SdkCodeDeploy, Signed)>,
}

impl Clients {
    async fn get(&mut self, aws: &AwsSettings) -> Result<&(SdkCodeDeploy, Signed), String> {
        if self.loaded.is_none() {
            let (shared, region) = calls::load(aws)
                .await
                .map_err(|error| format!("{error:#}"))?;
            self.loaded = Some((
                SdkCodeDeploy::from_shared(&shared, &region, aws),
                Signed::from_shared(&shared, &region, aws),
            ));
        }
        self.loaded
            .as_ref()
            .ok_or_else(|| "the AWS configuration could not be loaded".to_owned())
    }
}

/// Where the checks go: straight to the base URL, or, with BGTOOL_HOOK_LOAD_BALANCER (the
/// stack's function in public subnets), to a private address of that load balancer.
async fn route(clients: &mut Clients, aws: &AwsSettings) -> Route {
    let Some(load_balancer) = std::env::var("BGTOOL_HOOK_LOAD_BALANCER")
        .ok()
        .filter(|name| !name.is_empty())
    else {
        return Route::Direct;
    };
    let found = match clients.get(aws).await {
        Ok((_, signed)) => network::load_balancer_addresses(signed, &load_balancer).await,
        Err(reason) => Err(reason),
    };
    match found {
        Ok(addresses) => match addresses.into_iter().next() {
            Some(address) => Route::Via(address),
            None => Route::Unknown(format!(
                "load balancer `{load_balancer}` has no network interface in this VPC"
            )),
        },
        Err(reason) => Route::Unknown(format!(
            "the private addresses of load balancer `{load_balancer}` could not be read: {reason}"
        )),
    }
}

/// One invocation: the checks the event and the environment ask for, then the result reported.
async fn handle(
    prober: &Prober,
    clients: &mut Clients,
    aws: &AwsSettings,
    event: &Value,
    remaining: Duration,
) -> Result<Value, String> {
    let hook = event::classify(event)?;
    let (what, details) = match &hook {
        HookEvent::CodeDeploy { deployment_id, .. } => {
            (hook_log::code_deploy_subject(deployment_id), None)
        }
        HookEvent::Ecs {
            stage,
            service,
            details,
        } => (
            hook_log::ecs_subject(stage, service.as_deref()),
            details.as_ref(),
        ),
    };
    let (base_url, lines) = event::plan(
        std::env::var("BGTOOL_HOOK_BASE_URL").ok().as_deref(),
        std::env::var("BGTOOL_HOOK_CHECKS").ok().as_deref(),
        details,
    );
    let budget = remaining.saturating_sub(REPORTING_MARGIN);
    let checked = async {
        let route = route(clients, aws).await;
        judge_lines(prober, base_url.as_deref(), &lines, &route).await
    };
    let verdicts = match tokio::time::timeout(budget, checked).await {
        Ok(verdicts) => verdicts,
        Err(_) => vec![not_run(
            "all checks",
            &format!(
                "they did not end within the function's time left ({} s); raise the function's timeout or lower the checks' `within` and `requests`",
                budget.as_secs()
            ),
        )],
    };
    let passed = verdicts.iter().all(|verdict| verdict.passed);
    // `bgtool deploy` reads these lines back from the function's log group when the hook
    // fails a deployment (deployment::hook_log).
    for verdict in &verdicts {
        eprintln!("{}", hook_log::line(&what, &verdict.line));
    }
    eprintln!("{}", hook_log::outcome_line(&what, passed));
    let report: Vec<&str> = verdicts
        .iter()
        .map(|verdict| verdict.line.as_str())
        .collect();
    match hook {
        HookEvent::CodeDeploy {
            deployment_id,
            execution_id,
        } => {
            let (client, _) = clients.get(aws).await?;
            let status = event::code_deploy_status(passed);
            client
                .report_hook_status(&deployment_id, &execution_id, status)
                .await
                .map_err(|error| format!("{error:#}"))?;
            Ok(json!({"status": status, "checks": report}))
        }
        HookEvent::Ecs { .. } => Ok(event::ecs_answer(passed)),
    }
}

/// Parses and runs the checks named for one invocation. No check at all, or one that does not
/// parse, is a failed verdict: a hook never passes a release it did not test.
async fn judge_lines(
    prober: &Prober,
    base_url: Option<&str>,
    lines: &[String],
    route: &Route,
) -> Vec<Verdict> {
    if lines.is_empty() {
        return vec![not_run(
            "no checks",
            "set BGTOOL_HOOK_CHECKS on the function, or `checks` in the ECS hook's hookDetails",
        )];
    }
    let mut verdicts = Vec::new();
    let mut parsed = Vec::new();
    for line in lines {
        match checks::parse(line) {
            Ok(check) => parsed.push(check),
            Err(reason) => verdicts.push(not_run(line, &reason)),
        }
    }
    verdicts.extend(run_checks(prober, base_url, &parsed, route).await);
    verdicts
}
