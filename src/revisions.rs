//! Which revisions of a task definition family `bgtool prune` keeps, and why. Pure: the
//! revisions, their uses and their ages come in as data; the plan goes out.

use std::collections::BTreeMap;

/// Something that uses a revision: a service, one of its deployments or task sets, or a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// The task definition, as a full ARN or `family:revision`.
    pub task_definition: String,
    /// Who uses it, for the plan: e.g. "service `web` in cluster `prod` (PRIMARY deployment)".
    pub by: String,
}

/// One revision of the family and what is decided for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub revision: u32,
    pub arn: String,
    /// Why it stays; empty when it goes.
    pub kept_because: Vec<String>,
}

impl Decision {
    #[must_use]
    pub fn goes(&self) -> bool {
        self.kept_because.is_empty()
    }
}

/// An INACTIVE revision and when it became INACTIVE (seconds since the epoch), if ECS says.
#[derive(Debug, Clone, PartialEq)]
pub struct Inactive {
    pub arn: String,
    pub deregistered_at: Option<f64>,
    /// Used when ECS gives no deregistration time: the registration time.
    pub registered_at: Option<f64>,
}

/// The revision number of `reference` (a task definition ARN or `family:revision`) when it
/// belongs to `family` exactly: `web` is not `web-worker`, nor `web` of another account's ARN
/// path segment.
#[must_use]
pub fn revision_of(reference: &str, family: &str) -> Option<u32> {
    let name = reference
        .rsplit_once(":task-definition/")
        .map_or(reference, |(_, name)| name);
    let (found_family, revision) = name.rsplit_once(':')?;
    if found_family != family {
        return None;
    }
    revision.parse().ok().filter(|revision| *revision > 0)
}

/// The uses of each revision of `family`, by revision number.
fn uses_by_revision<'a>(family: &str, uses: &'a [Use]) -> BTreeMap<u32, Vec<&'a str>> {
    let mut by_revision: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    for found in uses {
        if let Some(revision) = revision_of(&found.task_definition, family) {
            let whom = by_revision.entry(revision).or_default();
            if !whom.contains(&found.by.as_str()) {
                whom.push(&found.by);
            }
        }
    }
    by_revision
}

fn with_revisions(family: &str, arns: &[String]) -> Vec<(u32, String)> {
    let mut revisions: Vec<(u32, String)> = arns
        .iter()
        .filter_map(|arn| revision_of(arn, family).map(|revision| (revision, arn.clone())))
        .collect();
    revisions.sort_unstable_by_key(|(revision, _)| std::cmp::Reverse(*revision));
    revisions.dedup_by_key(|(revision, _)| *revision);
    revisions
}

/// The ACTIVE revisions' fate, newest first: the `keep` newest stay, as does every revision in
/// `also_keep` or used by anything in `uses`; the rest go.
#[must_use]
pub fn plan_active(
    family: &str,
    active: &[String],
    keep: usize,
    also_keep: &[u32],
    uses: &[Use],
) -> Vec<Decision> {
    let in_use = uses_by_revision(family, uses);
    with_revisions(family, active)
        .into_iter()
        .enumerate()
        .map(|(position, (revision, arn))| {
            let mut kept_because = Vec::new();
            if position < keep {
                kept_because.push(if keep == 1 {
                    "the newest".to_owned()
                } else {
                    format!("one of the {keep} newest")
                });
            }
            if also_keep.contains(&revision) {
                kept_because.push("named by --keep-revision".to_owned());
            }
            for by in in_use.get(&revision).into_iter().flatten() {
                kept_because.push(format!("used by {by}"));
            }
            Decision {
                revision,
                arn,
                kept_because,
            }
        })
        .collect()
}

/// The INACTIVE revisions' fate, newest first: one goes when it became INACTIVE at least
/// `minimum_age_seconds` before `now`, nothing uses it, and `also_keep` does not name it.
#[must_use]
pub fn plan_inactive(
    family: &str,
    inactive: &[Inactive],
    now: f64,
    minimum_age_seconds: f64,
    also_keep: &[u32],
    uses: &[Use],
) -> Vec<Decision> {
    let in_use = uses_by_revision(family, uses);
    let mut decisions: Vec<Decision> = inactive
        .iter()
        .filter_map(|found| {
            let revision = revision_of(&found.arn, family)?;
            let mut kept_because = Vec::new();
            if also_keep.contains(&revision) {
                kept_because.push("named by --keep-revision".to_owned());
            }
            for by in in_use.get(&revision).into_iter().flatten() {
                kept_because.push(format!("used by {by}"));
            }
            match found.deregistered_at.or(found.registered_at) {
                // With no minimum age, when does not matter.
                _ if minimum_age_seconds <= 0.0 => {}
                Some(since) if now - since >= minimum_age_seconds => {}
                Some(since) => kept_because.push(format!(
                    "deregistered {} days ago ({} asked)",
                    days(now - since),
                    days(minimum_age_seconds)
                )),
                None => kept_because.push("ECS gives no time it was deregistered".to_owned()),
            }
            Some(Decision {
                revision,
                arn: found.arn.clone(),
                kept_because,
            })
        })
        .collect();
    decisions.sort_unstable_by_key(|decision| std::cmp::Reverse(decision.revision));
    decisions.dedup_by_key(|decision| decision.revision);
    decisions
}

/// Whole days, rounded down, for messages.
fn days(seconds: f64) -> String {
    let whole = (seconds.max(0.0) / 86_400.0).floor();
    format!("{whole:.0}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn(family: &str, revision: u32) -> String {
        format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:{revision}")
    }

    fn used(task_definition: &str, by: &str) -> Use {
        Use {
            task_definition: task_definition.to_owned(),
            by: by.to_owned(),
        }
    }

    fn going(decisions: &[Decision]) -> Vec<u32> {
        decisions
            .iter()
            .filter(|decision| decision.goes())
            .map(|decision| decision.revision)
            .collect()
    }

    #[test]
    fn revisions_belong_to_their_exact_family() {
        assert_eq!(revision_of(&arn("web", 12), "web"), Some(12));
        assert_eq!(revision_of("web:3", "web"), Some(3));
        assert_eq!(revision_of(&arn("web-worker", 12), "web"), None);
        assert_eq!(revision_of(&arn("web", 12), "we"), None);
        assert_eq!(revision_of("web", "web"), None);
        assert_eq!(revision_of("web:latest", "web"), None);
        assert_eq!(revision_of("web:0", "web"), None);
    }

    #[test]
    fn the_newest_stay_and_the_rest_go_oldest_included() {
        let active: Vec<String> = (1..=8).map(|revision| arn("web", revision)).collect();
        let plan = plan_active("web", &active, 3, &[], &[]);
        assert_eq!(
            plan.iter()
                .map(|decision| decision.revision)
                .collect::<Vec<_>>(),
            vec![8, 7, 6, 5, 4, 3, 2, 1]
        );
        assert_eq!(going(&plan), vec![5, 4, 3, 2, 1]);
        assert_eq!(plan[0].kept_because, vec!["one of the 3 newest"]);
    }

    #[test]
    fn a_used_revision_stays_with_every_reason() {
        let active: Vec<String> = (1..=6).map(|revision| arn("web", revision)).collect();
        let uses = [
            used(
                &arn("web", 2),
                "service `web` in cluster `prod` (PRIMARY task set)",
            ),
            used(&arn("web", 2), "task `abc` in cluster `prod`"),
            used(&arn("web", 2), "task `abc` in cluster `prod`"),
            used(&arn("web-worker", 3), "service `worker` in cluster `prod`"),
            used("web:6", "service `web` in cluster `prod` (its revision)"),
        ];
        let plan = plan_active("web", &active, 1, &[4], &uses);
        assert_eq!(going(&plan), vec![5, 3, 1]);
        let two = plan.iter().find(|decision| decision.revision == 2).unwrap();
        assert_eq!(
            two.kept_because,
            vec![
                "used by service `web` in cluster `prod` (PRIMARY task set)",
                "used by task `abc` in cluster `prod`"
            ]
        );
        let six = &plan[0];
        assert_eq!(six.kept_because.len(), 2);
        let four = plan.iter().find(|decision| decision.revision == 4).unwrap();
        assert_eq!(four.kept_because, vec!["named by --keep-revision"]);
    }

    #[test]
    fn other_families_in_the_listing_are_left_alone() {
        let active = vec![arn("web", 2), arn("web-worker", 9), arn("web", 1)];
        let plan = plan_active("web", &active, 1, &[], &[]);
        assert_eq!(
            plan.iter()
                .map(|decision| decision.revision)
                .collect::<Vec<_>>(),
            vec![2, 1]
        );
    }

    #[test]
    fn inactive_revisions_go_only_once_old_enough_and_unused() {
        let day = 86_400.0;
        let now = 100.0 * day;
        let inactive = vec![
            Inactive {
                arn: arn("web", 1),
                deregistered_at: Some(now - 40.0 * day),
                registered_at: Some(0.0),
            },
            Inactive {
                arn: arn("web", 2),
                deregistered_at: Some(now - 3.5 * day),
                registered_at: Some(0.0),
            },
            Inactive {
                arn: arn("web", 3),
                deregistered_at: None,
                registered_at: Some(now - 31.0 * day),
            },
            Inactive {
                arn: arn("web", 4),
                deregistered_at: None,
                registered_at: None,
            },
            Inactive {
                arn: arn("web", 5),
                deregistered_at: Some(now - 90.0 * day),
                registered_at: None,
            },
        ];
        let uses = [used(&arn("web", 5), "service `old` in cluster `prod`")];
        let any_age = plan_inactive("web", &inactive, now, 0.0, &[], &uses);
        assert_eq!(going(&any_age), vec![4, 3, 2, 1]);
        let plan = plan_inactive("web", &inactive, now, 30.0 * day, &[], &uses);
        assert_eq!(going(&plan), vec![3, 1]);
        let two = plan.iter().find(|decision| decision.revision == 2).unwrap();
        assert_eq!(two.kept_because, vec!["deregistered 3 days ago (30 asked)"]);
        let four = plan.iter().find(|decision| decision.revision == 4).unwrap();
        assert_eq!(
            four.kept_because,
            vec!["ECS gives no time it was deregistered"]
        );
        let five = &plan[0];
        assert_eq!(
            five.kept_because,
            vec!["used by service `old` in cluster `prod`"]
        );
    }
}
