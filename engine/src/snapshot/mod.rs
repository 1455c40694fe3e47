//! Workspace snapshots (stub, being implemented).

/// Snapshot errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// A malformed archive.
    #[error("invalid snapshot archive: {0}")]
    Invalid(String),
}
