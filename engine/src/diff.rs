//! Workspace diffs: what changed between two snapshots.
//!
//! A [`WorkspaceDiff`] lists created, deleted and modified entries. Text files (valid UTF-8
//! without NUL bytes on both sides) get a unified diff with `a/<path>` and `b/<path>`
//! headers (`/dev/null` for the missing side) and added/removed line counts; binary files get
//! their old and new sizes. A change of permission bits, of a symlink's target or of an
//! entry's type counts as a modification.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};
use similar::{ChangeTag, TextDiff};

use crate::snapshot::{EntryKind, EntryType, Snapshot, SnapshotEntry};

/// Lines of context around each change in unified diffs.
const CONTEXT_LINES: usize = 3;

/// The changes between two snapshots, each list sorted by path.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceDiff {
    /// Entries only in the new snapshot.
    pub created: Vec<FileDiff>,
    /// Entries only in the old snapshot.
    pub deleted: Vec<FileDiff>,
    /// Entries in both whose content, permission bits, target or type differ.
    pub modified: Vec<FileDiff>,
}

/// How one entry changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDiff {
    /// The entry's path relative to the workspace.
    pub path: String,
    /// The entry before (`None` when created).
    pub old: Option<EntryInfo>,
    /// The entry after (`None` when deleted).
    pub new: Option<EntryInfo>,
    /// The content change.
    pub content: ContentDiff,
}

/// An entry's type and metadata, without its content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryInfo {
    /// File, directory or symlink.
    #[serde(rename = "type")]
    pub entry_type: EntryType,
    /// Permission bits as four octal digits (`0644`); `None` for symlinks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Size in bytes (files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Link target (symlinks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// The content part of a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ContentDiff {
    /// Text on every side present: a unified diff and line counts.
    Text {
        /// The unified diff (`--- a/path`, `+++ b/path`, hunks); empty when only the mode
        /// changed or the file is empty.
        unified: String,
        /// Lines added.
        added: usize,
        /// Lines removed.
        removed: usize,
    },
    /// At least one side is binary (not UTF-8, or holds a NUL byte).
    Binary {
        /// Size before (`None` when created or not a file before).
        old_size: Option<u64>,
        /// Size after (`None` when deleted or not a file after).
        new_size: Option<u64>,
    },
    /// Neither side is a file with content to compare (directories, symlinks, or a type
    /// change to or from one of them).
    None,
}

/// Compares two snapshots.
pub fn diff_snapshots(old: &Snapshot, new: &Snapshot) -> WorkspaceDiff {
    diff_entries(old.entries(), new.entries())
}

/// Compares two listings sorted by path (as [`Snapshot::entries`] are).
pub(crate) fn diff_entries(old: &[SnapshotEntry], new: &[SnapshotEntry]) -> WorkspaceDiff {
    let mut diff = WorkspaceDiff::default();
    let (mut i, mut j) = (0, 0);
    loop {
        let order = match (old.get(i), new.get(j)) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(a), Some(b)) => a.path.as_bytes().cmp(b.path.as_bytes()),
        };
        match order {
            Ordering::Less => {
                diff.deleted
                    .push(file_diff(&old[i].path, Some(&old[i].kind), None));
                i += 1;
            }
            Ordering::Greater => {
                diff.created
                    .push(file_diff(&new[j].path, None, Some(&new[j].kind)));
                j += 1;
            }
            Ordering::Equal => {
                if old[i].kind != new[j].kind {
                    diff.modified.push(file_diff(
                        &old[i].path,
                        Some(&old[i].kind),
                        Some(&new[j].kind),
                    ));
                }
                i += 1;
                j += 1;
            }
        }
    }
    diff
}

impl WorkspaceDiff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.created.is_empty() && self.deleted.is_empty() && self.modified.is_empty()
    }

    /// Every change, sorted by path.
    pub fn changes(&self) -> Vec<&FileDiff> {
        let mut all: Vec<&FileDiff> = self
            .created
            .iter()
            .chain(&self.deleted)
            .chain(&self.modified)
            .collect();
        all.sort_by(|a, b| a.path.cmp(&b.path));
        all
    }

    /// Lines added over all text files.
    pub fn lines_added(&self) -> usize {
        self.changes().iter().map(|c| c.lines().0).sum()
    }

    /// Lines removed over all text files.
    pub fn lines_removed(&self) -> usize {
        self.changes().iter().map(|c| c.lines().1).sum()
    }
}

impl FileDiff {
    /// `(added, removed)` lines; zero for anything but text.
    pub fn lines(&self) -> (usize, usize) {
        match &self.content {
            ContentDiff::Text { added, removed, .. } => (*added, *removed),
            ContentDiff::Binary { .. } | ContentDiff::None => (0, 0),
        }
    }
}

/// A patch-like rendering: unified diffs for text, one line per other change.
impl fmt::Display for WorkspaceDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for change in self.changes() {
            write!(f, "{change}")?;
        }
        Ok(())
    }
}

impl fmt::Display for FileDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.path;
        match (&self.old, &self.new) {
            (None, Some(n)) => writeln!(f, "created {} {path}{}", describe(n), mode_suffix(n))?,
            (Some(o), None) => writeln!(f, "deleted {} {path}", describe(o))?,
            (Some(o), Some(n)) => {
                if o.entry_type != n.entry_type {
                    writeln!(f, "type changed {path}: {} -> {}", describe(o), describe(n))?;
                } else if o.target != n.target {
                    writeln!(
                        f,
                        "symlink {path}: `{}` -> `{}`",
                        o.target.as_deref().unwrap_or(""),
                        n.target.as_deref().unwrap_or("")
                    )?;
                }
                if o.entry_type == n.entry_type && o.mode != n.mode {
                    writeln!(
                        f,
                        "mode changed {path}: {} -> {}",
                        o.mode.as_deref().unwrap_or("-"),
                        n.mode.as_deref().unwrap_or("-")
                    )?;
                }
            }
            (None, None) => {}
        }
        match &self.content {
            ContentDiff::Text { unified, .. } => f.write_str(unified),
            ContentDiff::Binary { old_size, new_size } => match (old_size, new_size) {
                (Some(o), Some(n)) => writeln!(f, "binary {path} differs: {o} bytes -> {n} bytes"),
                (None, Some(n)) => writeln!(f, "binary {path}: {n} bytes"),
                (Some(o), None) => writeln!(f, "binary {path}: was {o} bytes"),
                (None, None) => Ok(()),
            },
            ContentDiff::None => Ok(()),
        }
    }
}

fn describe(info: &EntryInfo) -> String {
    match info.entry_type {
        EntryType::File => "file".into(),
        EntryType::Directory => "directory".into(),
        EntryType::Symlink => format!("symlink -> `{}`", info.target.as_deref().unwrap_or("")),
    }
}

fn mode_suffix(info: &EntryInfo) -> String {
    info.mode
        .as_deref()
        .map_or_else(String::new, |m| format!(" (mode {m})"))
}

fn info(kind: &EntryKind) -> EntryInfo {
    EntryInfo {
        entry_type: kind.entry_type(),
        mode: kind.mode().map(|m| format!("{m:04o}")),
        size: match kind {
            EntryKind::File { content, .. } => Some(content.len() as u64),
            _ => None,
        },
        target: match kind {
            EntryKind::Symlink { target } => Some(target.clone()),
            _ => None,
        },
    }
}

fn file_content(kind: Option<&EntryKind>) -> Option<&[u8]> {
    match kind {
        Some(EntryKind::File { content, .. }) => Some(content),
        _ => None,
    }
}

/// Text means valid UTF-8 without NUL bytes.
fn as_text(bytes: &[u8]) -> Option<&str> {
    if bytes.contains(&0) {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

fn file_diff(path: &str, old: Option<&EntryKind>, new: Option<&EntryKind>) -> FileDiff {
    let (a, b) = (file_content(old), file_content(new));
    let content = if a.is_none() && b.is_none() {
        ContentDiff::None
    } else {
        match (a.map(as_text), b.map(as_text)) {
            (Some(None), _) | (_, Some(None)) => ContentDiff::Binary {
                old_size: a.map(|x| x.len() as u64),
                new_size: b.map(|x| x.len() as u64),
            },
            (ta, tb) => text_diff(path, ta.flatten(), tb.flatten()),
        }
    };
    FileDiff {
        path: path.to_string(),
        old: old.map(info),
        new: new.map(info),
        content,
    }
}

fn text_diff(path: &str, old: Option<&str>, new: Option<&str>) -> ContentDiff {
    let before = old.unwrap_or("");
    let after = new.unwrap_or("");
    let diff = TextDiff::from_lines(before, after);
    let (mut added, mut removed) = (0, 0);
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    let old_header = old.map_or_else(|| "/dev/null".to_string(), |_| format!("a/{path}"));
    let new_header = new.map_or_else(|| "/dev/null".to_string(), |_| format!("b/{path}"));
    let unified = if added == 0 && removed == 0 {
        String::new()
    } else {
        diff.unified_diff()
            .context_radius(CONTEXT_LINES)
            .header(&old_header, &new_header)
            .to_string()
    };
    ContentDiff::Text {
        unified,
        added,
        removed,
    }
}
