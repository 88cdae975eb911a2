//! The exit statuses bgtool documents, and how an error maps to one.

use std::process::ExitCode;

use crate::error::{CommandFailed, Interrupted, UsageError};

/// How bgtool ended. The numbers are part of the interface: scripts test them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The command did what was asked.
    Success,
    /// Bad input, an AWS error, or anything else that stopped the command.
    Failure,
    /// The command line itself was wrong (clap's own errors exit with this code too).
    Usage,
    /// SIGINT or SIGTERM stopped a deployment, which was rolled back (or left to ECS), or a
    /// `bgtool run` task, which was stopped.
    Interrupted,
    /// `bgtool run`: the container's command exited with this status (never 0).
    Command(u8),
}

impl ExitStatus {
    /// The status for an error that ended a command.
    #[must_use]
    pub fn of(error: &anyhow::Error) -> Self {
        if let Some(failed) = error
            .chain()
            .find_map(|cause| cause.downcast_ref::<CommandFailed>())
        {
            Self::Command(failed.status)
        } else if error.chain().any(<dyn std::error::Error>::is::<UsageError>) {
            Self::Usage
        } else if error
            .chain()
            .any(<dyn std::error::Error>::is::<Interrupted>)
        {
            Self::Interrupted
        } else {
            Self::Failure
        }
    }

    /// The process exit code.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Usage => 2,
            Self::Interrupted => 130,
            Self::Command(status) => status,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        Self::from(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_anywhere_in_the_chain_exit_2() {
        let error = anyhow::Error::new(UsageError::new("bad flag")).context("while reading flags");
        assert_eq!(ExitStatus::of(&error), ExitStatus::Usage);
        assert_eq!(ExitStatus::of(&error).code(), 2);
    }

    #[test]
    fn other_errors_exit_1() {
        let error = anyhow::anyhow!("ECS said no");
        assert_eq!(ExitStatus::of(&error), ExitStatus::Failure);
        assert_eq!(ExitStatus::Failure.code(), 1);
        assert_eq!(ExitStatus::Success.code(), 0);
    }

    #[test]
    fn a_failed_command_passes_its_status_through() {
        let error = anyhow::Error::new(CommandFailed {
            message: "container `app` exited 3".to_owned(),
            status: CommandFailed::status_of(3),
        });
        assert_eq!(ExitStatus::of(&error).code(), 3);
        assert_eq!(CommandFailed::status_of(256), 1);
        assert_eq!(CommandFailed::status_of(-1), 255);
        assert_eq!(CommandFailed::status_of(137), 137);
    }

    #[test]
    fn interrupted_deployments_exit_130() {
        let error = anyhow::Error::new(Interrupted {
            message: "stopped".to_owned(),
        })
        .context("deploying");
        assert_eq!(ExitStatus::of(&error).code(), 130);
    }
}
