//! Deployments, for `deploy`, `wait`, `rollback` and `continue`. What ECS and CodeDeploy answer,
//! read purely into lines and verdicts: which task definition a service runs (`service`), how an
//! ECS deployment is going (`ecs`), how a CodeDeploy one is going and how long it may take
//! (`codedeploy`), the health of the targets (`target_health`). Then following one to its end
//! through the AWS traits: polls, signals, bounds, rollbacks (`follow`).

pub mod codedeploy;
pub mod compare;
pub mod comparing;
pub mod ecs;
pub mod follow;
pub mod gate;
pub mod hook_log;
pub mod service;
pub mod target_health;

/// The wall clock, in seconds since the Unix epoch: for saying when a bake ends, and the
/// windows `--compare` reads.
#[must_use]
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
