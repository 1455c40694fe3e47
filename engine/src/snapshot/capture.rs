//! Taking a snapshot of a workspace.

use std::collections::HashSet;

use bytes::Bytes;

use super::entry::{EntryKind, SnapshotEntry};
use super::error::SnapshotError;
use super::filter::SnapshotFilter;
use crate::workspace::limits::bytes as shown_bytes;
use crate::workspace::read::{ByteBudget, open_regular};
use crate::workspace::walk::{Node, NodeKind, SkippedEntry, list_tree};
use crate::workspace::{LimitExceeded, Workspace, WorkspaceError};

use super::tar_read::check_path;

/// Lists and reads the entries of `ws` that `filter` keeps, sorted by path.
pub(crate) fn collect(
    ws: &Workspace,
    filter: &SnapshotFilter,
) -> Result<(Vec<SnapshotEntry>, Vec<SkippedEntry>), SnapshotError> {
    let (nodes, skipped) = list_tree(ws.dir(), &|p| filter.descend(p), ws.limits())?;
    let kept = select(&nodes, filter);
    let limits = ws.limits();
    // Every kept file's length is checked before any is read, so a workspace that cannot be
    // captured costs no reading at all.
    let mut total: u64 = 0;
    for node in &kept {
        check_path(&node.path)?;
        if let NodeKind::File { size, .. } = node.kind {
            total = total.saturating_add(size);
            if total > limits.max_snapshot_bytes {
                return Err(WorkspaceError::from(LimitExceeded::new(
                    "max_snapshot_bytes",
                    limits.max_snapshot_bytes,
                    format!(
                        "capturing the workspace: its files reach {} at `{}` ({})",
                        shown_bytes(total),
                        node.path,
                        shown_bytes(size)
                    ),
                ))
                .into());
            }
        }
    }
    let mut budget = ByteBudget::new("max_snapshot_bytes", limits.max_snapshot_bytes, "capturing");
    let mut entries = Vec::with_capacity(kept.len());
    for node in kept {
        let kind = match &node.kind {
            NodeKind::File { mode, size } => {
                let (file, _) = open_regular(ws.dir(), &node.path)?;
                let content = budget.read(file, &node.path, *size)?;
                EntryKind::File {
                    mode: *mode,
                    content: Bytes::from(content),
                }
            }
            NodeKind::Dir { mode } => EntryKind::Directory { mode: *mode },
            NodeKind::Symlink { target } => EntryKind::Symlink {
                target: target.clone(),
            },
        };
        entries.push(SnapshotEntry {
            path: node.path.clone(),
            kind,
        });
    }
    Ok((entries, skipped))
}

/// Applies the filter rules (see [`SnapshotFilter`]) to a listing.
fn select<'a>(nodes: &'a [Node], filter: &SnapshotFilter) -> Vec<&'a Node> {
    let is_dir = |n: &Node| matches!(n.kind, NodeKind::Dir { .. });
    // Directories that hold at least one listed entry.
    let non_empty: HashSet<&str> = nodes.iter().filter_map(|n| parent(&n.path)).collect();
    let mut kept_dirs: HashSet<&str> = HashSet::new();
    let mut keep_leaf = |n: &'a Node| {
        let kept = if is_dir(n) {
            !non_empty.contains(n.path.as_str()) && filter.descend(&n.path) && filter.keeps(&n.path)
        } else {
            filter.keeps(&n.path)
        };
        if kept {
            // Every directory above a kept entry is kept.
            let mut p = parent(&n.path);
            while let Some(dir) = p {
                if !kept_dirs.insert(dir) {
                    break;
                }
                p = parent(dir);
            }
        }
        kept
    };
    let leaves: Vec<bool> = nodes.iter().map(&mut keep_leaf).collect();
    nodes
        .iter()
        .zip(leaves)
        .filter(|(n, leaf)| *leaf || kept_dirs.contains(n.path.as_str()))
        .map(|(n, _)| n)
        .collect()
}

fn parent(path: &str) -> Option<&str> {
    path.rsplit_once('/').map(|(p, _)| p)
}
