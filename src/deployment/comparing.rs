//! `deploy --compare` during a watch: which target group serves the new version (green) and which
//! the old (blue), whether production traffic is split between them at this look, and their
//! metrics read once a minute for the pure [`Comparison`] to judge. Calls go through [`Ecs`].

use crate::aws::Ecs;
use crate::deployment::codedeploy::EcsTarget;
use crate::deployment::compare::{CompareRule, Comparison, Decision, MeasuredGroup, Pair};
use crate::deployment::ecs::Outcome;
use crate::deployment::service::ServiceDescription;
use crate::diagnostics::warn;

/// What a look saw of the deployment: the ECS service, or the CodeDeploy deployment's target.
pub enum Seen<'look> {
    Service(&'look ServiceDescription),
    Target(Option<&'look EcsTarget>),
}

/// Green and blue, as the controller names them before their metrics' dimensions are known.
enum Sides {
    /// ECS blue/green: target group ARNs.
    Arns { green: String, blue: String },
    /// CodeDeploy: target group names.
    Names { green: String, blue: String },
}

/// The comparison of one deployment, with what it has learnt of the target groups.
pub struct Comparing {
    comparison: Comparison,
    /// ECS blue/green: the target group that took all production traffic at the first look.
    blue_arn: Option<String>,
    pair: Option<Pair>,
    /// Why nothing can be compared, once that is known: said once, then the watch goes on.
    given_up: bool,
}

impl Comparing {
    #[must_use]
    pub fn new(rule: CompareRule) -> Self {
        Self {
            comparison: Comparison::new(rule),
            blue_arn: None,
            pair: None,
            given_up: false,
        }
    }

    /// After a look that found the deployment `outcome`: compares while it is in progress, and
    /// notes at its completion if nothing could be.
    pub async fn look(
        &mut self,
        ecs: &impl Ecs,
        outcome: &Outcome,
        seen: Seen<'_>,
    ) -> (Vec<String>, Decision) {
        match (outcome, seen) {
            (Outcome::InProgress, Seen::Service(service)) => {
                self.look_at_service(ecs, service).await
            }
            (Outcome::InProgress, Seen::Target(target)) => self.look_at_target(ecs, target).await,
            (Outcome::Completed, _) => (self.at_completion().into_iter().collect(), Decision::GoOn),
            (Outcome::Failed { .. } | Outcome::Rejected { .. }, _) => (Vec::new(), Decision::GoOn),
        }
    }

    /// One look at an ECS blue/green deployment: the production listener rule's weights say
    /// which group is which (blue had them all when the watch began) and whether both take
    /// production traffic.
    async fn look_at_service(
        &mut self,
        ecs: &impl Ecs,
        service: &ServiceDescription,
    ) -> (Vec<String>, Decision) {
        if self.given_up {
            return (Vec::new(), Decision::GoOn);
        }
        let Some(rule) = service
            .placement
            .load_balancers
            .iter()
            .find_map(|balancer| {
                balancer
                    .advanced_configuration
                    .as_ref()?
                    .production_listener_rule
                    .clone()
            })
        else {
            return self.give_up(
                "the service names no production listener rule (it is not an ECS blue/green service behind an Application Load Balancer)",
            );
        };
        let weights = match ecs.rule_weights(&rule).await {
            Ok(weights) => weights,
            Err(error) => return self.give_up(&format!("{error:#}")),
        };
        if self.blue_arn.is_none() {
            let serving: Vec<_> = weights.iter().filter(|(_, weight)| *weight > 0).collect();
            if let (2, [(blue, _)]) = (weights.len(), serving.as_slice()) {
                self.blue_arn = Some(blue.clone());
            } else {
                return self.give_up(&format!(
                    "the production listener rule `{rule}` does not forward to one target group of two (it forwards {}), so which one serves the new version is not known",
                    describe_weights(&weights)
                ));
            }
        }
        let blue = self.blue_arn.clone().unwrap_or_default();
        let Some(green) = weights
            .iter()
            .map(|(arn, _)| arn)
            .find(|arn| **arn != blue)
            .cloned()
        else {
            return self.give_up(&format!(
                "the production listener rule `{rule}` no longer forwards to two target groups"
            ));
        };
        let weight = |arn: &str| {
            weights
                .iter()
                .find(|(group, _)| group == arn)
                .map_or(0, |(_, weight)| *weight)
        };
        let split = weight(&green) > 0 && weight(&blue) > 0;
        self.step(ecs, split, Sides::Arns { green, blue }).await
    }

    /// One look at a CodeDeploy deployment: its GREEN and BLUE task sets name their target
    /// groups and traffic weights.
    async fn look_at_target(
        &mut self,
        ecs: &impl Ecs,
        target: Option<&EcsTarget>,
    ) -> (Vec<String>, Decision) {
        if self.given_up {
            return (Vec::new(), Decision::GoOn);
        }
        let side = |label: &str| {
            target?
                .task_sets_info
                .iter()
                .find(|task_set| task_set.task_set_label.as_deref() == Some(label))
                .and_then(|task_set| {
                    let name = task_set.target_group.as_ref()?.name.clone()?;
                    Some((name, task_set.traffic_weight.unwrap_or(0.0)))
                })
        };
        let (Some((green, green_weight)), Some((blue, blue_weight))) =
            (side("GREEN"), side("BLUE"))
        else {
            // Until the replacement task set exists, there is nothing to compare.
            return (Vec::new(), Decision::GoOn);
        };
        let split = green_weight > 0.0 && blue_weight > 0.0;
        self.step(ecs, split, Sides::Names { green, blue }).await
    }

    /// When the deployment has completed: a note if production traffic was never seen on both
    /// versions at once.
    fn at_completion(&self) -> Option<String> {
        (!self.given_up && !self.comparison.ever_split()).then(|| {
            "compare: production traffic was never seen on both versions at once (an all-at-once shift, or one quicker than a look): nothing was compared".to_owned()
        })
    }

    async fn step(&mut self, ecs: &impl Ecs, split: bool, sides: Sides) -> (Vec<String>, Decision) {
        let Some((window, last)) = self.comparison.due(split, crate::deployment::unix_now()) else {
            return (Vec::new(), Decision::GoOn);
        };
        if self.pair.is_none() {
            match measure(ecs, &sides).await {
                Ok(pair) => {
                    crate::diagnostics::progress(&format!(
                        "compare: green is target group `{}`, blue is `{}`",
                        pair.green.name, pair.blue.name
                    ));
                    self.pair = Some(pair);
                }
                Err(error) => return self.give_up(&format!("{error:#}")),
            }
        }
        let Some(pair) = &self.pair else {
            return (Vec::new(), Decision::GoOn);
        };
        let traffic = ecs
            .traffic(pair, window)
            .await
            .map_err(|error| format!("{error:#}"));
        self.comparison.judge(traffic, last)
    }

    /// Says once why nothing can be compared; rolls back if `--compare-without-data roll-back`
    /// asks for a judged deployment.
    fn give_up(&mut self, why: &str) -> (Vec<String>, Decision) {
        self.given_up = true;
        let (line, decision) = self
            .comparison
            .without_data(&format!("`--compare` cannot judge this deployment: {why}"));
        if let Some(line) = line {
            warn(&line);
        }
        (Vec::new(), decision)
    }
}

/// Both groups' metric dimensions (DescribeTargetGroups).
async fn measure(ecs: &impl Ecs, sides: &Sides) -> anyhow::Result<Pair> {
    let (green, blue, by_arn) = match sides {
        Sides::Arns { green, blue } => (green, blue, true),
        Sides::Names { green, blue } => (green, blue, false),
    };
    let groups = ecs
        .measured_groups(&[green.clone(), blue.clone()], by_arn)
        .await?;
    let find = |wanted: &str| -> anyhow::Result<MeasuredGroup> {
        groups
            .iter()
            .find(|group| {
                if by_arn {
                    group.arn == wanted
                } else {
                    group.name == wanted
                }
            })
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("target group `{wanted}` was not found"))
    };
    Ok(Pair {
        green: find(green)?,
        blue: find(blue)?,
    })
}

/// `` `a` at 90, `b` at 10 ``.
fn describe_weights(weights: &[(String, u64)]) -> String {
    if weights.is_empty() {
        return "to no target group".to_owned();
    }
    weights
        .iter()
        .map(|(arn, weight)| {
            format!(
                "`{}` at {weight}",
                crate::deployment::target_health::group_name(arn)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
