//! The decoded listing of a snapshot.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// One member of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotEntry {
    /// Normalized relative path (`dir/file.txt`, no trailing `/`).
    pub path: String,
    /// What the member is.
    pub kind: EntryKind,
}

/// The kind and content of a snapshot member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file with its permission bits (`0o644`) and content.
    File {
        /// Permission bits (`mode & 0o777`).
        mode: u32,
        /// The file's bytes.
        content: Bytes,
    },
    /// A directory with its permission bits.
    Directory {
        /// Permission bits (`mode & 0o777`).
        mode: u32,
    },
    /// A symlink; its target always stays inside the workspace.
    Symlink {
        /// The target as written in the link (relative).
        target: String,
    },
}

/// What kind of entry something is, without its content (for listings and diffs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryType {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symlink.
    Symlink,
}

impl EntryKind {
    /// The kind without content.
    pub fn entry_type(&self) -> EntryType {
        match self {
            EntryKind::File { .. } => EntryType::File,
            EntryKind::Directory { .. } => EntryType::Directory,
            EntryKind::Symlink { .. } => EntryType::Symlink,
        }
    }

    /// Permission bits of files and directories; `None` for symlinks.
    pub fn mode(&self) -> Option<u32> {
        match self {
            EntryKind::File { mode, .. } | EntryKind::Directory { mode } => Some(*mode),
            EntryKind::Symlink { .. } => None,
        }
    }
}
