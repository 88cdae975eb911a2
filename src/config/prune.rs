//! Settings of `prune`, checked before any call: a bare family name, a count that keeps at least
//! the newest revision, revision numbers, clusters and an age that parse.

use super::AwsSettings;
use crate::cli::PruneArgs;
use crate::error::UsageError;

/// Attempts per call for a run that may send hundreds of write calls in a row.
const PRUNE_ATTEMPTS: u32 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneSettings {
    pub family: String,
    /// How many of the newest ACTIVE revisions stay, at least 1.
    pub keep: usize,
    /// Revision numbers kept whatever their age.
    pub keep_revisions: Vec<u32>,
    /// The clusters to search for uses; empty means every cluster (ListClusters).
    pub clusters: Vec<String>,
    /// Delete INACTIVE revisions deregistered at least this many days ago.
    pub delete_inactive_after_days: Option<u32>,
    pub dry_run: bool,
    pub aws: AwsSettings,
}

impl PruneSettings {
    /// # Errors
    /// A [`UsageError`] for a family with a revision or an ARN in it, `--keep 0`, a revision or
    /// a day count that is not a whole number, or an empty cluster name.
    pub fn resolve(args: PruneArgs) -> Result<Self, UsageError> {
        let family = check_family(&args.family)?;
        let keep = match args.keep.trim().parse::<usize>() {
            Ok(0) => {
                return Err(UsageError::new(
                    "`--keep 0` would deregister the family's newest revision too",
                )
                .with_hint(
                    "keep at least 1: the build reads the newest ACTIVE revision, and a rollback needs the one before",
                ));
            }
            Ok(keep) => keep,
            Err(_) => {
                return Err(UsageError::new(format!(
                    "`--keep {}`: expected a whole number of revisions",
                    args.keep
                )));
            }
        };
        let mut keep_revisions = Vec::with_capacity(args.keep_revisions.len());
        for value in &args.keep_revisions {
            keep_revisions.push(check_revision(&family, value)?);
        }
        for cluster in &args.clusters {
            if cluster.trim().is_empty() {
                return Err(UsageError::new(
                    "`--cluster` needs a name, got an empty string",
                ));
            }
        }
        let delete_inactive_after_days = args
            .delete_inactive_after
            .as_deref()
            .map(|days| {
                days.trim().parse::<u32>().map_err(|_| {
                    UsageError::new(format!(
                        "`--delete-inactive-after {days}`: expected a whole number of days"
                    ))
                })
            })
            .transpose()?;
        let mut aws = AwsSettings::resolve(args.aws)?;
        aws.patient_attempts = Some(PRUNE_ATTEMPTS);
        Ok(Self {
            family,
            keep,
            keep_revisions,
            clusters: args.clusters,
            delete_inactive_after_days,
            dry_run: args.dry_run,
            aws,
        })
    }
}

/// A family name as ECS allows it: 1 to 255 letters, digits, `_` and `-`.
fn check_family(value: &str) -> Result<String, UsageError> {
    if let Some((family, revision)) = value
        .rsplit_once(":task-definition/")
        .map_or(value, |(_, name)| name)
        .split_once(':')
    {
        return Err(UsageError::new(format!(
            "`--family {value}` names a revision, not a family"
        ))
        .with_hint(format!(
            "give the family alone (`--family {family}`); to keep that revision, add `--keep-revision {revision}`"
        )));
    }
    let valid = !value.is_empty()
        && value.len() <= 255
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    if valid {
        Ok(value.to_owned())
    } else {
        Err(UsageError::new(format!(
            "`--family {value}` is not a task definition family name"
        ))
        .with_hint("a family has 1 to 255 letters, digits, `_` and `-`, e.g. `web`"))
    }
}

/// `N` or `FAMILY:N` of this family.
fn check_revision(family: &str, value: &str) -> Result<u32, UsageError> {
    let number = match value.rsplit_once(':') {
        Some((named, number)) if named == family => number,
        Some(_) => {
            return Err(UsageError::new(format!(
                "`--keep-revision {value}` is not a revision of family `{family}`"
            )));
        }
        None => value,
    };
    number
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|revision| *revision > 0)
        .ok_or_else(|| {
            UsageError::new(format!(
                "`--keep-revision {value}`: expected a revision number, e.g. `12`"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_with_a_revision_is_refused_with_both_halves_named() {
        let error = check_family("web:3").unwrap_err();
        assert_eq!(
            error.message,
            "`--family web:3` names a revision, not a family"
        );
        assert_eq!(
            error.hint.as_deref(),
            Some(
                "give the family alone (`--family web`); to keep that revision, add `--keep-revision 3`"
            )
        );
        let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3";
        assert!(
            check_family(arn)
                .unwrap_err()
                .message
                .contains("names a revision")
        );
        assert!(check_family("web app").is_err());
        assert!(check_family("").is_err());
        assert_eq!(check_family("web_app-2").unwrap(), "web_app-2");
    }

    #[test]
    fn revisions_to_keep_are_numbers_of_this_family() {
        assert_eq!(check_revision("web", "12").unwrap(), 12);
        assert_eq!(check_revision("web", "web:12").unwrap(), 12);
        assert!(check_revision("web", "worker:12").is_err());
        assert!(check_revision("web", "0").is_err());
        assert!(check_revision("web", "latest").is_err());
    }
}
