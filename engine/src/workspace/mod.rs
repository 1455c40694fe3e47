//! The workspace: a directory every path into which is confined (stub, being implemented).

/// Workspace errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkspaceError {
    /// A path that would leave the workspace.
    #[error("path `{path}` {reason}")]
    Confinement {
        /// The offending path.
        path: String,
        /// Why it is refused.
        reason: String,
    },
}
