//! Workspace errors.

use std::io;

/// A workspace operation that failed. Every variant names the path it was about.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkspaceError {
    /// A path that would leave the workspace (`..`, an absolute path, a symlink that leads
    /// outside) or that is not a valid relative path.
    #[error("path `{path}` {reason}")]
    Confinement {
        /// The offending path, as given.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// A glob that is absolute, contains `..` or does not compile.
    #[error("{message}")]
    Glob {
        /// What is wrong, naming the pattern.
        message: String,
    },
    /// A bound of [`WorkspaceLimits`](super::WorkspaceLimits) was reached before anything
    /// past it was read.
    #[error(transparent)]
    Limit(#[from] super::limits::LimitExceeded),
    /// A filesystem operation failed.
    #[error("cannot {op} `{path}`")]
    Io {
        /// What was being done (`read`, `create directory`...).
        op: &'static str,
        /// The path, relative to the workspace (or a host path for host-side operations).
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl WorkspaceError {
    /// A refused path.
    pub(crate) fn confinement(path: impl Into<String>, reason: impl Into<String>) -> Self {
        WorkspaceError::Confinement {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// An I/O failure; cap-std's "a path led outside of the filesystem" becomes a
    /// [`Confinement`](WorkspaceError::Confinement) error.
    pub(crate) fn io(op: &'static str, path: impl Into<String>, source: io::Error) -> Self {
        let path = path.into();
        if is_escape(&source) {
            return WorkspaceError::confinement(path, "leads outside the workspace");
        }
        WorkspaceError::Io { op, path, source }
    }
}

/// True for cap-std's escape-attempt error (its message is fixed in cap-primitives).
fn is_escape(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::PermissionDenied
        && e.to_string().contains("outside of the filesystem")
}

/// Shorthand for results of workspace operations.
pub(crate) type WsResult<T> = Result<T, WorkspaceError>;
