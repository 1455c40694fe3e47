//! Copying host files and directories into the workspace (the host side uses ambient
//! authority; the workspace side is confined).

use std::path::Path;

use cap_std::fs::{Dir, PermissionsExt};
use serde::{Deserialize, Serialize};

use super::Workspace;
use super::error::WorkspaceError;
use super::limits::WorkspaceLimits;
use super::walk::{MODE_MASK, NodeKind, SkippedEntry, list_tree};
use super::write::{FileSource, WriteNode, write_tree};

/// What an import copied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Regular files copied.
    pub files: usize,
    /// Directories created.
    pub dirs: usize,
    /// Symlinks recreated (their targets stay inside the imported tree).
    pub symlinks: usize,
    /// Entries left out: symlinks leading outside the imported tree, sockets, FIFOs, devices
    /// and names that are not UTF-8.
    pub skipped: Vec<SkippedEntry>,
}

impl Workspace {
    /// Copies the contents of the host directory `host_dir` into the workspace root (ambient
    /// authority on the host side): files with their permission bits, directories (empty ones
    /// too), and symlinks whose targets stay inside `host_dir`. Existing entries at the same
    /// paths are replaced; others are kept. `host_dir` itself is never modified.
    ///
    /// # Errors
    /// [`WorkspaceError::Io`] naming the host or workspace path that failed.
    pub fn import_host_dir(
        &self,
        host_dir: impl AsRef<Path>,
    ) -> Result<ImportSummary, WorkspaceError> {
        let host_dir = host_dir.as_ref();
        let src = open_host_dir(host_dir)?;
        copy_tree(&self.dir, &src, "", &self.limits)
    }

    /// Copies the host file or directory `host_path` (ambient authority) to `rel` in the
    /// workspace, as [`import_host_dir`](Self::import_host_dir) does for directories. Used
    /// for static assets in agent mode.
    ///
    /// # Errors
    /// [`WorkspaceError::Confinement`] when `rel` leads outside; [`WorkspaceError::Io`]
    /// naming the host or workspace path that failed.
    pub fn copy_host_path(
        &self,
        host_path: impl AsRef<Path>,
        rel: &str,
    ) -> Result<ImportSummary, WorkspaceError> {
        let shown = host_path.as_ref().display().to_string();
        let rel = self.check_writable(rel)?;
        // The host path may itself be a symlink (an asset path usually is canonical already).
        let host_path = &host_path
            .as_ref()
            .canonicalize()
            .map_err(|e| WorkspaceError::io("inspect host path", shown.clone(), e))?;
        let meta = std::fs::metadata(host_path)
            .map_err(|e| WorkspaceError::io("inspect host path", shown.clone(), e))?;
        if meta.is_dir() {
            let src = open_host_dir(host_path)?;
            return copy_tree(&self.dir, &src, &rel, &self.limits);
        }
        let parent = host_path.parent().unwrap_or(Path::new("/"));
        let name = host_path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| WorkspaceError::confinement(shown.clone(), "has no UTF-8 file name"))?;
        let src = open_host_dir(parent)?;
        check_import_bytes(meta.len(), &shown, &self.limits)?;
        let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & MODE_MASK;
        write_tree(
            &self.dir,
            &[WriteNode::File {
                path: &rel,
                mode,
                source: FileSource::Dir {
                    dir: &src,
                    path: name,
                    len: meta.len(),
                },
            }],
        )?;
        Ok(ImportSummary {
            files: 1,
            ..ImportSummary::default()
        })
    }
}

/// Refuses an import whose files add up to more than `max_import_bytes`, before it writes.
fn check_import_bytes(
    total: u64,
    what: &str,
    limits: &WorkspaceLimits,
) -> Result<(), WorkspaceError> {
    if total > limits.max_import_bytes {
        return Err(super::limits::LimitExceeded::new(
            "max_import_bytes",
            limits.max_import_bytes,
            format!(
                "{what} holds {total} bytes of files (lengths, holes of sparse files included)"
            ),
        )
        .into());
    }
    Ok(())
}

fn open_host_dir(path: &Path) -> Result<Dir, WorkspaceError> {
    Dir::open_ambient_dir(path, cap_std::ambient_authority())
        .map_err(|e| WorkspaceError::io("open host directory", path.display().to_string(), e))
}

/// Copies everything under `src` to `prefix` (empty for the root) in `dst`.
/// Host trees are streamed, not held, so only the workspace's depth bound applies.
fn copy_tree(
    dst: &Dir,
    src: &Dir,
    prefix: &str,
    limits: &WorkspaceLimits,
) -> Result<ImportSummary, WorkspaceError> {
    let (nodes, skipped) = list_tree(src, &|_| true, &limits.for_host_import())?;
    let total = nodes.iter().fold(0_u64, |sum, n| match n.kind {
        NodeKind::File { size, .. } => sum.saturating_add(size),
        _ => sum,
    });
    check_import_bytes(total, "the imported directory", limits)?;
    let join = |p: &str| {
        if prefix.is_empty() {
            p.to_string()
        } else {
            format!("{prefix}/{p}")
        }
    };
    let targets: Vec<String> = nodes.iter().map(|n| join(&n.path)).collect();
    let mut summary = ImportSummary {
        skipped,
        ..ImportSummary::default()
    };
    let mut writes = Vec::with_capacity(nodes.len() + 1);
    if !prefix.is_empty() {
        writes.push(WriteNode::Dir {
            path: prefix,
            mode: src
                .dir_metadata()
                .map(|m| m.permissions().mode() & MODE_MASK)
                .unwrap_or(0o755),
        });
    }
    for (node, target) in nodes.iter().zip(&targets) {
        match &node.kind {
            NodeKind::Dir { mode } => {
                summary.dirs += 1;
                writes.push(WriteNode::Dir {
                    path: target,
                    mode: *mode,
                });
            }
            NodeKind::File { mode, size } => {
                summary.files += 1;
                writes.push(WriteNode::File {
                    path: target,
                    mode: *mode,
                    source: FileSource::Dir {
                        dir: src,
                        path: &node.path,
                        len: *size,
                    },
                });
            }
            NodeKind::Symlink { target: link } => {
                summary.symlinks += 1;
                writes.push(WriteNode::Symlink {
                    path: target,
                    target: link,
                });
            }
        }
    }
    write_tree(dst, &writes)?;
    Ok(summary)
}
