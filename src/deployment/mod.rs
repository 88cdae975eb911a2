//! Deployments, for `deploy`, `wait`, `rollback` and `continue`. What ECS and CodeDeploy answer,
//! read purely into lines and verdicts: which task definition a service runs (`service`), how an
//! ECS deployment is going (`ecs`), how a CodeDeploy one is going and how long it may take
//! (`codedeploy`), the health of the targets (`target_health`). Then following one to its end
//! through the AWS traits: polls, signals, bounds, rollbacks (`follow`).

pub mod codedeploy;
pub mod ecs;
pub mod follow;
pub mod gate;
pub mod service;
pub mod target_health;
