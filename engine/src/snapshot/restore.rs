//! Writing a snapshot into a workspace.

use super::Snapshot;
use super::entry::EntryKind;
use super::error::SnapshotError;
use crate::workspace::Workspace;
use crate::workspace::write::{FileSource, WriteNode, write_tree};

impl Snapshot {
    /// Makes `ws` hold exactly this snapshot: the workspace is emptied first (never following
    /// a symlink), then every member is written (files with their permission bits, empty
    /// directories, symlinks, directory modes last). Restoring into a fresh workspace is the
    /// usual case. The archive was validated when the snapshot was made, so a bad archive
    /// never reaches this point.
    ///
    /// # Errors
    /// [`SnapshotError::Workspace`] naming the entry that could not be removed or written.
    pub fn restore_into(&self, ws: &Workspace) -> Result<(), SnapshotError> {
        ws.clear()?;
        self.extract_into(ws)
    }

    /// Writes every member over the current content of `ws` without emptying it first:
    /// entries at the same paths are replaced (an existing symlink is replaced, never
    /// written through), other entries are kept.
    ///
    /// # Errors
    /// As [`restore_into`](Self::restore_into).
    pub fn extract_into(&self, ws: &Workspace) -> Result<(), SnapshotError> {
        let nodes: Vec<WriteNode<'_>> = self
            .entries
            .iter()
            .map(|e| match &e.kind {
                EntryKind::File { mode, content } => WriteNode::File {
                    path: &e.path,
                    mode: *mode,
                    source: FileSource::Bytes(content),
                },
                EntryKind::Directory { mode } => WriteNode::Dir {
                    path: &e.path,
                    mode: *mode,
                },
                EntryKind::Symlink { target } => WriteNode::Symlink {
                    path: &e.path,
                    target,
                },
            })
            .collect();
        write_tree(ws.dir(), &nodes)?;
        Ok(())
    }
}
