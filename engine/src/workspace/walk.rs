//! Listing a directory tree without following a single symlink.

use cap_fs_ext::DirExt;
use cap_std::fs::{Dir, PermissionsExt};
use serde::{Deserialize, Serialize};

use super::error::{WorkspaceError, WsResult};
use super::limits::{LimitExceeded, WorkspaceLimits, shorten};
use super::paths::symlink_target_inside;

/// Permission bits kept for files and directories (no setuid, setgid or sticky bits).
pub(crate) const MODE_MASK: u32 = 0o777;

/// An entry left out of a listing, a snapshot or an import, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedEntry {
    /// The entry's path, relative to the tree's root (lossy for names that are not UTF-8).
    pub path: String,
    /// Why it was left out (`symlink to /etc/passwd leads outside the workspace`...).
    pub reason: String,
}

/// What a listed entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NodeKind {
    /// A regular file with its permission bits and size.
    File { mode: u32, size: u64 },
    /// A directory with its permission bits.
    Dir { mode: u32 },
    /// A symlink whose target stays inside the tree (the target as written).
    Symlink { target: String },
}

/// One listed entry: a normalized relative path and its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) path: String,
    pub(crate) kind: NodeKind,
}

/// Lists every entry under `root`, sorted by path (bytewise, so a directory precedes its
/// contents). Symlinks are never followed: a symlink whose target is absolute or climbs above
/// `root` is left out and reported in the second list (with a `tracing` warning), as are
/// sockets, FIFOs, devices and names that are not UTF-8. `descend(path)` decides whether a
/// directory's contents are listed (the directory itself always is).
///
/// The walk stops with an error once it has visited more than `limits.max_entries` entries
/// (listed and left out together) or would descend more than `limits.max_depth` levels, so
/// neither its memory nor its stack and open directories grow with what a guest made.
///
/// # Errors
/// An I/O error naming the directory or entry that could not be read;
/// [`WorkspaceError::Limit`] naming the entry or directory that reached a bound.
pub(crate) fn list_tree(
    root: &Dir,
    descend: &dyn Fn(&str) -> bool,
    limits: &WorkspaceLimits,
) -> WsResult<(Vec<Node>, Vec<SkippedEntry>)> {
    let mut walker = Walker {
        root,
        descend,
        limits,
        nodes: Vec::new(),
        skipped: Vec::new(),
    };
    walker.walk(root, "", 0)?;
    let Walker {
        mut nodes,
        mut skipped,
        ..
    } = walker;
    nodes.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((nodes, skipped))
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

fn skip(skipped: &mut Vec<SkippedEntry>, path: String, reason: String) {
    tracing::warn!(%path, %reason, "entry left out");
    skipped.push(SkippedEntry { path, reason });
}

/// True when following the symlink at `path` in `root`, and every symlink on its way, stays
/// inside `root` (a lexical check of the target alone is not enough: `a -> sub/up/../x` with
/// `sub/up -> ../..` climbs out). A dangling target counts as inside: the walk stops at the
/// first missing component, and nothing past it exists to lead out.
fn resolves_inside(root: &Dir, path: &str) -> bool {
    match root.canonicalize(path) {
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

struct Walker<'a> {
    root: &'a Dir,
    descend: &'a dyn Fn(&str) -> bool,
    limits: &'a WorkspaceLimits,
    nodes: Vec<Node>,
    skipped: Vec<SkippedEntry>,
}

impl Walker<'_> {
    /// Fails once the listing holds more entries than allowed (`path` is the last one).
    fn count(&self, path: &str) -> WsResult<()> {
        let seen = (self.nodes.len() + self.skipped.len()) as u64;
        if seen > self.limits.max_entries {
            return Err(LimitExceeded::new(
                "max_entries",
                self.limits.max_entries,
                format!(
                    "listing the workspace found more entries than that (stopped at `{}`)",
                    shorten(path)
                ),
            )
            .into());
        }
        Ok(())
    }

    /// Lists `dir` (at `prefix`, `depth` levels below the root) into the walker. Recursion
    /// is bounded by `max_depth`, which the caller checks before descending.
    fn walk(&mut self, dir: &Dir, prefix: &str, depth: u64) -> WsResult<()> {
        let shown = if prefix.is_empty() { "." } else { prefix };
        let entries = dir
            .entries()
            .map_err(|e| WorkspaceError::io("read directory", shown, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| WorkspaceError::io("read directory", shown, e))?;
            let os_name = entry.file_name();
            let Some(name) = os_name.to_str() else {
                let path = join(prefix, &os_name.to_string_lossy());
                skip(
                    &mut self.skipped,
                    path.clone(),
                    "the name is not valid UTF-8".into(),
                );
                self.count(&path)?;
                continue;
            };
            let path = join(prefix, name);
            let meta = entry
                .metadata()
                .map_err(|e| WorkspaceError::io("inspect", path.clone(), e))?;
            let ft = meta.file_type();
            let mode = meta.permissions().mode() & MODE_MASK;
            if ft.is_symlink() {
                let target = dir
                    .read_link_contents(name)
                    .map_err(|e| WorkspaceError::io("read symlink", path.clone(), e))?;
                let resolved = resolves_inside(self.root, &path);
                match (symlink_target_inside(&path, &target), target.to_str()) {
                    (Some(_), Some(_)) if !resolved => skip(
                        &mut self.skipped,
                        path.clone(),
                        format!(
                            "symlink to `{}` resolves outside the workspace through another symlink",
                            target.display()
                        ),
                    ),
                    (Some(_), Some(t)) => self.nodes.push(Node {
                        path: path.clone(),
                        kind: NodeKind::Symlink {
                            target: t.to_string(),
                        },
                    }),
                    _ => skip(
                        &mut self.skipped,
                        path.clone(),
                        format!(
                            "symlink to `{}` leads outside the workspace",
                            target.display()
                        ),
                    ),
                }
                self.count(&path)?;
            } else if ft.is_dir() {
                self.nodes.push(Node {
                    path: path.clone(),
                    kind: NodeKind::Dir { mode },
                });
                self.count(&path)?;
                if (self.descend)(&path) {
                    if depth >= self.limits.max_depth {
                        return Err(LimitExceeded::new(
                            "max_depth",
                            self.limits.max_depth,
                            format!("directory `{}` is nested deeper than that", shorten(&path)),
                        )
                        .into());
                    }
                    let sub = dir
                        .open_dir_nofollow(name)
                        .map_err(|e| WorkspaceError::io("open directory", path.clone(), e))?;
                    self.walk(&sub, &path, depth + 1)?;
                }
            } else if ft.is_file() {
                self.nodes.push(Node {
                    path: path.clone(),
                    kind: NodeKind::File {
                        mode,
                        size: meta.len(),
                    },
                });
                self.count(&path)?;
            } else {
                skip(
                    &mut self.skipped,
                    path.clone(),
                    "is not a regular file, directory or symlink (a socket, FIFO or device)".into(),
                );
                self.count(&path)?;
            }
        }
        Ok(())
    }
}
