//! Error types that carry more than a message: advice for the user, or the mark of a usage error.

use std::fmt;

/// An error with advice: reported as `error: MESSAGE` followed by `hint: HINT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}

impl Hinted {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl fmt::Display for Hinted {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {}

/// A command line that parsed but does not make sense (exit status 2), found while resolving
/// flags into settings, before any work starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    pub message: String,
    pub hint: Option<String>,
}

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}

/// A deployment stopped by SIGINT or SIGTERM (exit status 130), after its rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupted {
    pub message: String,
}

impl fmt::Display for Interrupted {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for Interrupted {}

/// `bgtool run`'s command exited non-zero: bgtool exits with the same status, as a shell would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandFailed {
    pub message: String,
    /// The container's exit code, as an exit status (1 to 255).
    pub status: u8,
}

impl CommandFailed {
    /// An exit status for a container's exit code: the low byte as a shell gives it, never 0 for
    /// a code that is not 0.
    #[must_use]
    pub fn status_of(code: i64) -> u8 {
        match u8::try_from(code.rem_euclid(256)) {
            Ok(0) | Err(_) => 1,
            Ok(status) => status,
        }
    }
}

impl fmt::Display for CommandFailed {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for CommandFailed {}

/// AWS refused a call for want of permission: a [`Hinted`] that callers can tell apart, since
/// some denials only mean "not ours" (another team's CodeDeploy group in a shared account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessDenied(pub Hinted);

impl fmt::Display for AccessDenied {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0.message)
    }
}

impl std::error::Error for AccessDenied {}

/// Whether AWS refused the call for want of permission.
#[must_use]
pub fn is_access_denied(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<AccessDenied>().is_some())
}

/// The first hint anywhere in an error's chain.
#[must_use]
pub fn hint_of(error: &anyhow::Error) -> Option<&str> {
    error.chain().find_map(|cause| {
        if let Some(hinted) = cause.downcast_ref::<Hinted>() {
            Some(hinted.hint.as_str())
        } else if let Some(denied) = cause.downcast_ref::<AccessDenied>() {
            Some(denied.0.hint.as_str())
        } else {
            cause
                .downcast_ref::<UsageError>()
                .and_then(|usage| usage.hint.as_deref())
        }
    })
}
