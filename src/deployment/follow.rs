//! Following an ECS deployment to its end, for `deploy`, `wait` and `rollback`: one look at the
//! service per poll interval, signals caught, a bound kept, and a rollback that waits until the
//! service is back. The verdict on each look is the pure [`crate::deployment::ecs`]; this adds the calls.

use std::cell::Cell;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::aws::{CodeDeploy, Ecs};
use crate::config::deploy::WatchSettings;
use crate::deployment::codedeploy::{self, DeploymentGroup, group_of};
use crate::deployment::compare::Decision;
use crate::deployment::comparing::{Comparing, Seen};
use crate::deployment::ecs::{
    EventLog, Outcome, StageLog, Watch, explain_stopped, primary_task_definition, rollback_outcome,
    settled,
};
use crate::deployment::hook_log::{HookFunction, failed_run_lines};
use crate::deployment::service::ServiceDescription;
use crate::deployment::target_health::{HealthLog, target_groups};
use crate::deployment::unix_now;
use crate::diagnostics::{note, progress, warn};
use crate::error::{Hinted, Interrupted};

/// Looks at the service that fail in a row (after the SDK's own retries) before bgtool gives up
/// watching: a throttled or flaky minute must not abandon a deployment that is going well.
const FAILED_LOOKS_ALLOWED: u32 = 5;

/// How long a rollback may take to bring the service back, without `--deadline`.
const ROLLBACK_WAIT: Duration = crate::config::deploy::LONGEST_ROLLBACK;

/// `bound`, cut so that a watch ends while `--deadline` still leaves a rollback its share.
#[must_use]
pub fn watch_bound(settings: &WatchSettings, bound: Duration) -> Duration {
    settings.deadline.map_or(bound, |deadline| {
        bound.min(
            deadline
                .at
                .saturating_duration_since(std::time::Instant::now())
                .saturating_sub(deadline.rollback_reserve),
        )
    })
}

/// How long a rollback may take: 30 minutes, or what is left before `--deadline`.
fn rollback_bound(settings: &WatchSettings) -> Duration {
    settings.deadline.map_or(ROLLBACK_WAIT, |deadline| {
        ROLLBACK_WAIT.min(
            deadline
                .at
                .saturating_duration_since(std::time::Instant::now()),
        )
    })
}

/// Before anything is registered: whether `--deadline` leaves time for a deployment at all.
///
/// # Errors
/// When the time before the deadline is down to the rollback's share.
pub fn time_left_to_deploy(settings: &WatchSettings) -> Result<()> {
    if settings.deadline.is_some() && watch_bound(settings, Duration::MAX).is_zero() {
        return Err(Hinted::new(
            "no time left before `--deadline` for a deployment and its rollback: nothing registered, nothing deployed",
            "give a longer `--deadline`; an earlier deployment waited for (`--wait-for-running`) used it up",
        )
        .into());
    }
    Ok(())
}

/// The watch's note: how long it watches, and whether `--deadline` cut that.
#[must_use]
pub fn watching_for(full: Duration, bound: Duration) -> String {
    if bound < full {
        format!(
            "{} (cut from {} to fit `--deadline`)",
            minutes(bound),
            minutes(full)
        )
    } else {
        minutes(bound)
    }
}

/// How a watch ended.
pub enum Ended {
    Completed,
    Failed {
        reason: String,
    },
    /// `deploy --gate` failed while the deployment held: bgtool rolls it back.
    Rejected {
        reason: String,
    },
    Interrupted {
        signal: &'static str,
    },
    TimedOut,
}

/// Looks once per poll interval until a look ends the deployment, the bound passes, or a signal
/// arrives. Each look returns the lines to print and the verdict; up to
/// [`FAILED_LOOKS_ALLOWED`] failed looks in a row are warned about and ridden out.
///
/// # Errors
/// When `what` cannot be read that many looks in a row.
async fn look_until(
    what: &str,
    mut look: impl AsyncFnMut() -> Result<(Vec<String>, Outcome)>,
    (bound, holding): (Duration, &Cell<Option<u64>>),
    settings: &WatchSettings,
    signals: &mut Signals,
) -> Result<Ended> {
    let follow = async {
        let mut failed_looks = 0;
        let mut still_running = StillRunning::new(settings, bound);
        loop {
            match look().await {
                Ok((lines, outcome)) => {
                    failed_looks = 0;
                    still_running.after_look(lines.len());
                    for line in lines {
                        progress(&line);
                    }
                    match outcome {
                        Outcome::Completed => return Ok(Ended::Completed),
                        Outcome::Failed { reason } => return Ok(Ended::Failed { reason }),
                        Outcome::Rejected { reason } => return Ok(Ended::Rejected { reason }),
                        Outcome::InProgress => {}
                    }
                }
                Err(error) if failed_looks < FAILED_LOOKS_ALLOWED => {
                    failed_looks += 1;
                    warn(&format!(
                        "cannot read {what} (look {failed_looks} of {FAILED_LOOKS_ALLOWED} to fail in a row): {error:#}"
                    ));
                }
                Err(error) => return Err(error),
            }
            tokio::time::sleep(settings.poll_interval).await;
        }
    };
    tokio::pin!(follow);
    let mut deadline = tokio::time::Instant::now() + bound;
    loop {
        tokio::select! {
            ended = &mut follow => return ended,
            signal = signals.next() => return Ok(Ended::Interrupted { signal }),
            () = tokio::time::sleep_until(deadline) => {
                // A lifecycle hook holds the deployment: it is waiting, not failing. Wait until
                // ECS acts on the hook (its expiry, and a minute to move on), within --deadline.
                match held_until(holding.get(), settings) {
                    Some((later, expires)) if later > deadline => {
                        note(&format!(
                            "the bound has passed while a lifecycle hook holds {what}: waiting until the hook expires at about {} UTC",
                            crate::deployment::ecs::clock(expires)
                        ));
                        deadline = later;
                    }
                    _ => return Ok(Ended::TimedOut),
                }
            }
        }
    }
}

/// A minute after a hook expires, as an instant to sleep until, cut to `--deadline`'s watch
/// share; with the expiry in seconds since the Unix epoch.
fn held_until(
    expires: Option<u64>,
    settings: &WatchSettings,
) -> Option<(tokio::time::Instant, u64)> {
    let expires = expires?;
    let left = Duration::from_secs(expires.saturating_sub(unix_now()) + 60);
    let left = watch_bound(settings, left);
    Some((tokio::time::Instant::now() + left, expires))
}

/// One look at the service per poll interval until the deployment ends, the bound passes, or a
/// signal arrives.
///
/// # Errors
/// When the service cannot be read several looks in a row.
pub async fn watch_until(
    ecs: &impl Ecs,
    (cluster, service): (&str, &str),
    watch: &mut Watch,
    bound: Duration,
    settings: &WatchSettings,
    signals: &mut Signals,
) -> Result<Ended> {
    let mut stages = Stages::default();
    let mut targets = Targets::default();
    let mut comparing = settings.compare.map(Comparing::new);
    let holding = Cell::new(None);
    let mut gated = false;
    let look = async || {
        let description = ecs.describe_service(cluster, service).await?;
        let (mut lines, outcome) = watch.observe(&description);
        if let Some(comparing) = &mut comparing {
            let seen = Seen::Service(&description);
            let (more, decision) = comparing.look(ecs, &outcome, seen).await;
            lines.extend(more);
            if let Decision::RollBack(reason) = decision {
                return Ok((lines, Outcome::Rejected { reason }));
            }
        }
        if outcome == Outcome::InProgress {
            lines.extend(stages.look(ecs, (cluster, service)).await);
            holding.set(stages.log.holding_until());
            // `--gate`: the first PAUSE hook that waits for an action is the gate's moment.
            if let (Some(gate), false) = (settings.gate.as_deref(), gated)
                && let Some((arn, hook)) = stages.paused_hook()
            {
                gated = true;
                for line in lines.drain(..) {
                    progress(&line);
                }
                let go_on = ecs.continue_service_deployment(&arn, &hook, "CONTINUE");
                let passed = format!(
                    "gate passed: hook `{hook}` continued (ContinueServiceDeployment); the deployment goes on"
                );
                match gate_then_continue(gate, (cluster, service), &arn, go_on).await {
                    Ok(()) => lines.push(passed),
                    Err(reason) => return Ok((lines, Outcome::Rejected { reason })),
                }
            }
        }
        lines.extend(targets.look(ecs, &description, &outcome).await);
        Ok((lines, outcome))
    };
    look_until("the service", look, (bound, &holding), settings, signals).await
}

/// A line after `--still-running-every` without one, so a long quiet stretch does not look hung
/// (and CI that stops silent steps lets the watch go on).
struct StillRunning {
    started: tokio::time::Instant,
    last_said: tokio::time::Instant,
    every: Duration,
    bound: Duration,
}

impl StillRunning {
    fn new(settings: &WatchSettings, bound: Duration) -> Self {
        let now = tokio::time::Instant::now();
        Self {
            started: now,
            last_said: now,
            every: settings.still_running_every,
            bound,
        }
    }

    /// After a look that printed `printed` lines: says it is still running if it has been quiet
    /// for long enough.
    fn after_look(&mut self, printed: usize) {
        if printed > 0 {
            self.last_said = tokio::time::Instant::now();
        } else if self.last_said.elapsed() >= self.every {
            progress(&format!(
                "still running, no change in the last {}: watched {} of up to {}",
                minutes(self.every),
                span(self.started.elapsed()),
                minutes(self.bound)
            ));
            self.last_said = tokio::time::Instant::now();
        }
    }
}

/// The lifecycle stages of the service deployment in progress (ListServiceDeployments once, then
/// DescribeServiceDeployments each look). Extra detail only: if they cannot be read (an older
/// region, a policy without the actions), that is said once and the watch goes on without them.
#[derive(Default)]
struct Stages {
    arn: Option<String>,
    unavailable: bool,
    log: StageLog,
    /// The last state read.
    state: Option<crate::deployment::ecs::ServiceDeploymentState>,
}

impl Stages {
    /// The service deployment's ARN and the ID of a PAUSE hook that waits for an action.
    fn paused_hook(&self) -> Option<(String, String)> {
        let state = self.state.as_ref()?;
        state
            .lifecycle_hook_details
            .iter()
            .find(|hook| {
                hook.target_type.as_deref() == Some("PAUSE")
                    && hook.status.as_deref() == Some("AWAITING_ACTION")
            })
            .map(|hook| (state.service_deployment_arn.clone(), hook.hook_id.clone()))
    }

    async fn look(&mut self, ecs: &impl Ecs, (cluster, service): (&str, &str)) -> Vec<String> {
        if self.unavailable {
            return Vec::new();
        }
        let result = async {
            if self.arn.is_none() {
                self.arn = ecs.running_service_deployment(cluster, service).await?;
            }
            match &self.arn {
                Some(arn) => ecs.service_deployment(arn).await,
                None => Ok(None),
            }
        }
        .await;
        match result {
            Ok(Some(state)) => {
                let lines = self.log.observe(&state, unix_now());
                self.state = Some(state);
                lines
            }
            Ok(None) => Vec::new(),
            Err(error) => {
                self.unavailable = true;
                warn(&format!(
                    "lifecycle stages not shown: {error:#}; the deployment is still watched"
                ));
                Vec::new()
            }
        }
    }
}

/// The health of the service's targets (DescribeTargetHealth of each of its target groups, each
/// look until the deployment ends), as [`HealthLog`] words it: each group's count by state when
/// it changes, each target that starts failing, and when the deployment fails, the targets last
/// seen failing, with the load balancer's reasons. Extra detail only: if it cannot
/// be read (a policy without `elasticloadbalancing:DescribeTargetHealth`), that is said once and
/// the watch goes on without it.
#[derive(Default)]
struct Targets {
    unavailable: bool,
    log: HealthLog,
}

impl Targets {
    async fn look(
        &mut self,
        ecs: &impl Ecs,
        service: &ServiceDescription,
        outcome: &Outcome,
    ) -> Vec<String> {
        if self.unavailable || *outcome == Outcome::Completed {
            return Vec::new();
        }
        let mut lines = Vec::new();
        for arn in target_groups(service) {
            match ecs.target_health(&arn).await {
                Ok(targets) => lines.extend(self.log.observe(&arn, &targets)),
                Err(error) => {
                    self.unavailable = true;
                    warn(&format!(
                        "target health not shown: {error:#}; the deployment is still watched"
                    ));
                    break;
                }
            }
        }
        if matches!(outcome, Outcome::Failed { .. }) {
            lines.extend(self.log.failures());
        }
        lines
    }
}

/// Stops the deployment in progress with ROLLBACK (or, if ECS lists none, updates the service
/// back to `previous`), then waits until the service has settled on its previous revision.
///
/// # Errors
/// An ECS error, nothing to roll back to, a second signal, or a rollback that does not settle.
pub async fn roll_back(
    ecs: &impl Ecs,
    (cluster, service): (&str, &str),
    previous: Option<&str>,
    settings: &WatchSettings,
    signals: &mut Signals,
) -> Result<()> {
    let before = ecs.describe_service(cluster, service).await?;
    let stopped = ecs.roll_back_running_deployment(cluster, service).await?;
    match &stopped {
        Some(arn) => note(&format!(
            "rollback requested: `{arn}` stopped with ROLLBACK"
        )),
        None => match previous {
            Some(previous) => {
                note(&format!(
                    "no service deployment in progress to stop: updating `{service}` back to `{previous}`"
                ));
                ecs.update_service(cluster, service, previous).await?;
            }
            None => bail!("cannot roll back `{service}`: no earlier task definition is known"),
        },
    }
    let mut watch = Watch::primary(&before);
    let bound = rollback_bound(settings);
    let mut still_running = StillRunning::new(settings, bound);
    // Judged by the stopped service deployment's own status; by the service's deployments only
    // when ECS does not describe it (an UpdateService rollback, a policy without the action).
    let mut judged_by = stopped;
    let mut last_status: Option<String> = None;
    let follow = async {
        loop {
            let description = ecs.describe_service(cluster, service).await?;
            let mut lines = watch.observe(&description).0;
            let mut outcome = None;
            if let Some(arn) = judged_by.clone() {
                match ecs.service_deployment(&arn).await {
                    Ok(Some(state)) => {
                        if state.status != last_status {
                            lines.push(format!(
                                "rollback `{arn}`: {}",
                                state.status.as_deref().unwrap_or("status unknown")
                            ));
                            last_status.clone_from(&state.status);
                        }
                        outcome = Some(rollback_outcome(&state));
                    }
                    Ok(None) => judged_by = None,
                    Err(error) => {
                        warn(&format!(
                            "cannot read the rollback's service deployment: {error:#}; judging by the service's deployments"
                        ));
                        judged_by = None;
                    }
                }
            }
            still_running.after_look(lines.len());
            for line in lines {
                progress(&line);
            }
            let running = primary_task_definition(&description).unwrap_or("its previous revision");
            match outcome {
                Some(Outcome::Completed) => {
                    note(&format!(
                        "rolled back: ECS reports ROLLBACK_SUCCESSFUL; `{service}` runs `{running}`"
                    ));
                    return Ok(());
                }
                Some(Outcome::Failed { reason } | Outcome::Rejected { reason }) => {
                    return Err(Hinted::new(
                        format!("the rollback of `{service}` failed (ROLLBACK_FAILED): {reason}"),
                        format!("production may be on either revision: see `aws ecs describe-services --cluster {cluster} --services {service}`"),
                    )
                    .into());
                }
                None if settled(&description, previous) => {
                    note(&format!("rolled back: `{service}` runs `{running}`"));
                    return Ok(());
                }
                Some(Outcome::InProgress) | None => {}
            }
            tokio::time::sleep(settings.poll_interval).await;
        }
    };
    tokio::select! {
        result = follow => result,
        signal = signals.next() => Err(Interrupted {
            message: format!("{signal} again: stopped watching; the rollback goes on in ECS"),
        }
        .into()),
        () = tokio::time::sleep(bound) => Err(Hinted::new(
            format!("the rollback of `{service}` did not settle within {}", minutes(bound)),
            format!("see `aws ecs describe-services --cluster {cluster} --services {service}`"),
        )
        .into()),
    }
}

/// The error for a failed deployment, with the reasons of the tasks it stopped printed first.
pub async fn failure(ecs: &impl Ecs, cluster: &str, id: &str, reason: &str) -> anyhow::Error {
    match ecs.stopped_tasks(cluster, id).await {
        Ok(tasks) => {
            for task in &tasks {
                progress(&explain_stopped(task));
            }
        }
        Err(error) => warn(&format!("cannot list the stopped tasks: {error:#}")),
    }
    Hinted::new(
        format!("deployment `{id}` failed: {reason}"),
        "the lines above say why (targets' health, stopped tasks); the tasks' logs are in the task definition's log configuration",
    )
    .into()
}

/// After a failed deployment: the lines each hook function logged about `subject` (`` `d-…` ``,
/// or `` service/CLUSTER/SERVICE` ``) since `since_seconds`, when a run of it failed; the
/// platforms record no reason of their own.
pub async fn hook_failures(
    ecs: &impl Ecs,
    functions: &[HookFunction],
    since_seconds: u64,
    subject: &str,
) {
    let term = subject.trim_matches('`');
    for function in functions {
        match ecs.hook_log(function, since_seconds * 1000, term).await {
            Ok(messages) => {
                for line in failed_run_lines(&messages, subject) {
                    progress(&format!("hook `{}`: {line}", function.name));
                }
            }
            Err(error) => warn(&format!(
                "what hook `{}` logged is not shown: {error:#}",
                function.name
            )),
        }
    }
}

/// Who deploys a service: ECS itself, or CodeDeploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    Ecs,
    CodeDeploy,
}

/// `deploy`, `wait` and `rollback` drive services with the ECS or CODE_DEPLOY controller.
///
/// # Errors
/// When the service has another deployment controller (EXTERNAL).
pub fn controller(service: &ServiceDescription, name: &str) -> Result<Controller> {
    match service.controller() {
        "ECS" => Ok(Controller::Ecs),
        "CODE_DEPLOY" => Ok(Controller::CodeDeploy),
        other => Err(Hinted::new(
            format!("service `{name}` has the `{other}` deployment controller"),
            "bgtool deploys services with the ECS or CODE_DEPLOY deployment controller; an EXTERNAL one is deployed by its own tooling",
        )
        .into()),
    }
}

/// The CodeDeploy deployment of the service's group to act on: `--deployment` when given, else
/// the group's first deployment in progress (ListDeployments), if any. Returns the group too.
///
/// # Errors
/// A CodeDeploy error, or no group for the service.
pub async fn code_deploy_in_progress(
    codedeploy: &impl CodeDeploy,
    settings: &WatchSettings,
    target: (&str, &str),
    named: Option<&str>,
) -> Result<(DeploymentGroup, Option<String>)> {
    let group = deployment_group(codedeploy, settings, target).await?;
    let running = codedeploy
        .running_deployments(&group.application_name, &group.deployment_group_name)
        .await?;
    let id = named
        .map(ToOwned::to_owned)
        .or_else(|| running.into_iter().next());
    Ok((group, id))
}

/// The CodeDeploy deployment group that deploys `service`: the one `--application` and
/// `--deployment-group` name, or the one whose ECS services include it.
///
/// # Errors
/// A CodeDeploy error, or no group for the service.
pub async fn deployment_group(
    codedeploy: &impl CodeDeploy,
    settings: &WatchSettings,
    (cluster, service): (&str, &str),
) -> Result<DeploymentGroup> {
    if let Some((application, group)) = &settings.deployment_group {
        return codedeploy.deployment_group(application, group).await;
    }
    let listing = codedeploy.deployment_groups().await?;
    if settings.aws.verbose && !listing.skipped.is_empty() {
        note(&format!(
            "finding the deployment group: {} not readable with this identity's policy, skipped: {}",
            listing.skipped.len(),
            listing
                .skipped
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let found = group_of(&listing.groups, cluster, service).cloned().ok_or_else(|| {
        let unread = if listing.skipped.is_empty() {
            String::new()
        } else {
            format!(
                " ({} application or group not readable with this identity's policy; `--verbose` names them)",
                listing.skipped.len()
            )
        };
        Hinted::new(
            format!("no CodeDeploy deployment group deploys service `{service}` of cluster `{cluster}`{unread}"),
            "name it with `--application NAME --deployment-group NAME` (an emitted stack outputs both)",
        )
    })?;
    note(&format!(
        "service `{service}` deploys through CodeDeploy `{}`/`{}`",
        found.application_name, found.deployment_group_name
    ));
    Ok(found)
}

/// One look at CodeDeploy deployment `id` (and its ECS target) per poll interval until it ends,
/// the bound passes, or a signal arrives.
///
/// # Errors
/// When the deployment cannot be read several looks in a row.
pub async fn watch_code_deploy_until(
    ecs: &impl Ecs,
    (cluster, service): (&str, &str),
    (codedeploy, group): (&impl CodeDeploy, &DeploymentGroup),
    id: &str,
    bound: Duration,
    settings: &WatchSettings,
    signals: &mut Signals,
) -> Result<Ended> {
    let termination_wait = codedeploy::termination_wait(group);
    let ready_wait = codedeploy::ready_wait(group);
    let continue_command = format!("bgtool continue --cluster {cluster} --service {service}");
    let mut watch = codedeploy::Watch::default();
    let mut events = EventLog::new(&ecs.describe_service(cluster, service).await?);
    let mut targets = Targets::default();
    let mut comparing = settings.compare.map(Comparing::new);
    let mut gated = false;
    let look = async || {
        let deployment = codedeploy.deployment(id).await?;
        let target = codedeploy.deployment_target(id).await?;
        // The service's events and its targets' health say what CodeDeploy does not: failed
        // health checks and why, tasks that cannot start.
        let description = ecs.describe_service(cluster, service).await?;
        let mut lines = events.news(&description);
        let (more, outcome) = watch.observe(&deployment, target.as_ref());
        lines.extend(more);
        lines.extend(targets.look(ecs, &description, &outcome).await);
        if let Some(comparing) = &mut comparing {
            let seen = Seen::Target(target.as_ref());
            let (more, decision) = comparing.look(ecs, &outcome, seen).await;
            lines.extend(more);
            if let Decision::RollBack(reason) = decision {
                return Ok((lines, Outcome::Rejected { reason }));
            }
        }
        // `--gate`: CodeDeploy holds in Ready, test traffic on the replacement task set.
        if let (Some(gate), false) = (settings.gate.as_deref(), gated)
            && outcome == Outcome::InProgress
            && deployment.status == "Ready"
        {
            gated = true;
            for line in lines.drain(..) {
                progress(&line);
            }
            let go_on = codedeploy.continue_deployment(id, "READY_WAIT");
            if let Err(reason) = gate_then_continue(gate, (cluster, service), id, go_on).await {
                return Ok((lines, Outcome::Rejected { reason }));
            }
            lines.push(
                "gate passed: traffic moves to the replacement task set (ContinueDeployment)"
                    .to_owned(),
            );
            return Ok((lines, outcome));
        }
        lines.extend(watch.waiting(&deployment, ready_wait, unix_now(), &continue_command));
        lines.extend(watch.bake(
            target.as_ref(),
            termination_wait,
            unix_now(),
            &continue_command,
        ));
        if matches!(outcome, Outcome::Failed { .. }) {
            lines.extend(replacement_stopped_tasks(ecs, cluster, target.as_ref()).await);
        }
        Ok((lines, outcome))
    };
    // CodeDeploy's own holds (the ready wait, the termination wait) are in its bound already.
    look_until(
        "the deployment",
        look,
        (bound, &Cell::new(None)),
        settings,
        signals,
    )
    .await
}

/// Runs `--gate`, then, if it passed, `go_on`: the platform's call that lets the held deployment
/// continue.
///
/// # Errors
/// Why the deployment is rolled back: the gate failed, or the deployment could not be continued.
async fn gate_then_continue(
    gate: &str,
    target: (&str, &str),
    deployment: &str,
    go_on: impl Future<Output = Result<()>>,
) -> Result<(), String> {
    run_gate(gate, target, deployment).await?;
    go_on.await.map_err(|error| {
        format!("the gate passed, but the deployment could not be continued: {error:#}")
    })
}

/// Runs `--gate` for the deployment `deployment` of the service, saying so first.
///
/// # Errors
/// The gate's failure, worded for the rollback that follows.
async fn run_gate(
    gate: &str,
    (cluster, service): (&str, &str),
    deployment: &str,
) -> Result<(), String> {
    progress(&format!(
        "gate: the deployment holds with test traffic on the new version; running `{gate}`"
    ));
    let environment = [
        ("BGTOOL_CLUSTER", cluster),
        ("BGTOOL_SERVICE", service),
        ("BGTOOL_DEPLOYMENT_ID", deployment),
    ];
    super::gate::run(gate, &environment)
        .await
        .map_err(|how| format!("the gate `{gate}` {how}"))
}

/// Why the replacement (GREEN) task set's tasks stopped, one line each: its tasks are started by
/// the task set's ID. Nothing when there is none, or the lookup fails.
async fn replacement_stopped_tasks(
    ecs: &impl Ecs,
    cluster: &str,
    target: Option<&codedeploy::EcsTarget>,
) -> Vec<String> {
    let Some(green) = target
        .into_iter()
        .flat_map(|target| &target.task_sets_info)
        .find(|task_set| task_set.task_set_label.as_deref() == Some("GREEN"))
        .and_then(|task_set| task_set.identifer.as_deref())
    else {
        return Vec::new();
    };
    match ecs.stopped_tasks(cluster, green).await {
        Ok(tasks) => tasks.iter().map(explain_stopped).collect(),
        Err(error) => {
            warn(&format!("cannot list the stopped tasks: {error:#}"));
            Vec::new()
        }
    }
}

/// Looks at a stopped deployment before concluding that CodeDeploy started no rollback for it.
const LOOKS_FOR_A_ROLLBACK: u32 = 10;

/// Stops CodeDeploy deployment `id` with automatic rollback, then follows the rollback
/// deployment CodeDeploy starts until it ends.
///
/// # Errors
/// A CodeDeploy error, a rollback that fails, a second signal, or one that does not end in time.
pub async fn roll_back_code_deploy(
    codedeploy: &impl CodeDeploy,
    id: &str,
    settings: &WatchSettings,
    signals: &mut Signals,
) -> Result<()> {
    codedeploy.stop_deployment(id).await?;
    note(&format!(
        "rollback requested: StopDeployment of `{id}` with automatic rollback"
    ));
    let bound = rollback_bound(settings);
    let follow = async {
        let mut stopped_looks = 0;
        let rollback = loop {
            let deployment = codedeploy.deployment(id).await?;
            if let Some(rollback) = deployment
                .rollback_info
                .and_then(|info| info.rollback_deployment_id)
            {
                break Some(rollback);
            }
            if matches!(
                deployment.status.as_str(),
                "Stopped" | "Failed" | "Succeeded"
            ) {
                stopped_looks += 1;
                if stopped_looks >= LOOKS_FOR_A_ROLLBACK {
                    break None;
                }
            }
            tokio::time::sleep(settings.poll_interval).await;
        };
        let Some(rollback) = rollback else {
            note(&format!(
                "deployment `{id}` stopped; CodeDeploy started no rollback deployment (traffic had not moved)"
            ));
            return Ok(());
        };
        note(&format!(
            "CodeDeploy rolls back with deployment `{rollback}`"
        ));
        let mut watch = codedeploy::Watch::default();
        let mut still_running = StillRunning::new(settings, bound);
        loop {
            let deployment = codedeploy.deployment(&rollback).await?;
            let target = codedeploy.deployment_target(&rollback).await?;
            let (lines, outcome) = watch.observe(&deployment, target.as_ref());
            still_running.after_look(lines.len());
            for line in lines {
                progress(&line);
            }
            match outcome {
                Outcome::Completed => {
                    note(&format!("rolled back: deployment `{rollback}` succeeded"));
                    return Ok(());
                }
                Outcome::Failed { reason } | Outcome::Rejected { reason } => {
                    bail!("the rollback deployment `{rollback}` failed: {reason}")
                }
                Outcome::InProgress => {}
            }
            tokio::time::sleep(settings.poll_interval).await;
        }
    };
    tokio::select! {
        result = follow => result,
        signal = signals.next() => Err(Interrupted {
            message: format!("{signal} again: stopped watching; the rollback goes on in CodeDeploy"),
        }
        .into()),
        () = tokio::time::sleep(bound) => Err(Hinted::new(
            format!("the rollback of deployment `{id}` did not end within {}", minutes(bound)),
            format!("see `aws deploy get-deployment --deployment-id {id}`"),
        )
        .into()),
    }
}

/// A time watched: `12 min` (whole minutes, rounded down) from a minute on, `4.2 s` before.
fn span(duration: Duration) -> String {
    if duration.as_secs() >= 60 {
        format!("{} min", duration.as_secs() / 60)
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// `30 min`, or `0.5 s` for what is not whole minutes.
#[must_use]
pub fn minutes(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 60 && seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{} s", duration.as_secs_f64())
    }
}

/// SIGINT and SIGTERM, caught from the moment a deployment can start, so neither kills bgtool
/// halfway; each ends the watch instead.
pub struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Catches both signals from now on.
    ///
    /// # Errors
    /// When the signal handlers cannot be installed.
    pub fn install() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt()).context("cannot catch SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("cannot catch SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// The next signal caught: its name.
    pub async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
