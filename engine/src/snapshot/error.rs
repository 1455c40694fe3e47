//! Snapshot errors.

use std::io;

use crate::spec::Compression;
use crate::workspace::{LimitExceeded, WorkspaceError};

/// A snapshot could not be taken, read or restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// A keep or ignore glob is invalid; `key` is `snapshot.keep_globs[0]`-style.
    #[error("{key}: {message}")]
    Config {
        /// The config key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing the workspace failed (or a path led outside it), or a bound of
    /// [`WorkspaceLimits`](crate::workspace::WorkspaceLimits) was reached (`WorkspaceError::Limit`),
    /// also while reading an archive (members, bytes, nesting), before anything was written.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// The bytes are neither a tar archive nor a gzip, bzip2 or xz stream.
    #[error(
        "unrecognized snapshot archive: expected tar, tar.gz, tar.bz2 or tar.xz, found {found}"
    )]
    UnknownFormat {
        /// A description of the first bytes.
        found: String,
    },
    /// The compressed stream is truncated or corrupt.
    #[error("cannot decompress the {compression} snapshot archive (truncated or corrupt)")]
    Decompress {
        /// The detected compression.
        compression: Compression,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },
    /// The tar stream ends early.
    #[error("truncated snapshot archive: {reason}")]
    Truncated {
        /// Where it ends.
        reason: String,
    },
    /// The tar stream is malformed.
    #[error("corrupt snapshot archive: {reason}")]
    Corrupt {
        /// What is wrong.
        reason: String,
    },
    /// A member would be written outside the workspace (`../`, an absolute name, a symlink
    /// or hard link that leads outside, a path through a symlink member).
    #[error("snapshot archive member `{path}` {reason}: refusing to restore the archive")]
    UnsafeMember {
        /// The member's name as stored.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// A member's name is longer than filesystems allow (a component over 255 bytes, or the
    /// whole path over 4000), so it could not be restored.
    #[error("snapshot member `{path}` {reason}")]
    PathTooLong {
        /// The name, shortened in the middle when very long.
        path: String,
        /// Which length is over.
        reason: String,
    },
    /// A member of a kind snapshots do not hold (device, FIFO, sparse file...).
    #[error(
        "snapshot archive member `{path}` is a {kind}: only files, directories and symlinks are restored"
    )]
    UnsupportedMember {
        /// The member's name.
        path: String,
        /// Its tar entry type.
        kind: String,
    },
    /// Building or compressing the archive failed.
    #[error("cannot encode the snapshot archive")]
    Encode {
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Reading or writing an archive file on the host failed.
    #[error("cannot {op} `{path}`")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The host path.
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// [`finish_checkpoint`](crate::Session::finish_checkpoint) was called on a session in
    /// evaluation mode.
    #[error(
        "checkpoints are for agent mode: this session is in evaluation mode (use `update_snapshot` to take a snapshot)"
    )]
    NotAgentMode,
}

impl From<LimitExceeded> for SnapshotError {
    /// A bound reached: [`SnapshotError::Workspace`] with [`WorkspaceError::Limit`], the one
    /// route a limit takes through a snapshot.
    fn from(e: LimitExceeded) -> Self {
        SnapshotError::Workspace(WorkspaceError::Limit(e))
    }
}
