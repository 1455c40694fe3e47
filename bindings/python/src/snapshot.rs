//! `subrun.Snapshot`, `subrun.WorkspaceDiff`, `subrun.FileDiff`, `subrun.Checkpoint` and
//! `subrun.diff_snapshots`.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use subrun::snapshot::{ContentDiff, EntryKind, FileDiff, Snapshot, WorkspaceDiff, diff_snapshots};

use crate::errors::{WorkspaceError, chain};

/// A snapshot error as `WorkspaceError` (the message names the path or member).
pub(crate) fn snapshot_err(e: &subrun::snapshot::SnapshotError) -> PyErr {
    WorkspaceError::new_err(chain(e))
}

/// A workspace archived: a canonical tar (compressed as the spec's `snapshot.compression`
/// says), its listing and a checksum of its content.
#[pyclass(name = "Snapshot", module = "subrun", frozen)]
pub(crate) struct PySnapshot {
    pub(crate) snapshot: Snapshot,
}

#[pymethods]
impl PySnapshot {
    /// Reads an archive file (tar, tar.gz, tar.bz2 or tar.xz); every member is checked first.
    #[staticmethod]
    #[expect(
        clippy::needless_pass_by_value,
        reason = "pyo3 extracts arguments by value"
    )]
    fn from_path(path: PathBuf) -> PyResult<Self> {
        Snapshot::from_path(&path)
            .map(|snapshot| Self { snapshot })
            .map_err(|e| snapshot_err(&e))
    }

    /// Decodes archive bytes; every member is checked first.
    #[staticmethod]
    fn from_bytes(data: Vec<u8>) -> PyResult<Self> {
        Snapshot::from_archive_bytes(data)
            .map(|snapshot| Self { snapshot })
            .map_err(|e| snapshot_err(&e))
    }

    /// The sha256 (hex) of the uncompressed canonical tar: equal content, equal checksum.
    #[getter]
    fn checksum(&self) -> &str {
        self.snapshot.checksum()
    }

    /// The archive's bytes.
    #[getter]
    fn archive<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.snapshot.archive())
    }

    /// Every member's path, sorted (directories included).
    #[getter]
    fn paths(&self) -> Vec<String> {
        self.snapshot
            .entries()
            .iter()
            .map(|e| e.path.clone())
            .collect()
    }

    /// `(path, reason)` of each entry left out (symlinks leading outside, sockets...).
    #[getter]
    fn skipped(&self) -> Vec<(String, String)> {
        self.snapshot
            .skipped()
            .iter()
            .map(|s| (s.path.clone(), s.reason.clone()))
            .collect()
    }

    /// The content of the file at `path`, or `None` when it is not a file of the snapshot.
    fn read<'py>(&self, py: Python<'py>, path: &str) -> Option<Bound<'py, PyBytes>> {
        match &self.snapshot.entry(path)?.kind {
            EntryKind::File { content, .. } => Some(PyBytes::new(py, content)),
            EntryKind::Directory { .. } | EntryKind::Symlink { .. } => None,
        }
    }

    /// Writes the archive into `dir` as `snapshot-<16 hex>.tar[.gz|.bz2|.xz]`; returns its
    /// path.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "pyo3 extracts arguments by value"
    )]
    fn write_to_dir(&self, dir: PathBuf) -> PyResult<PathBuf> {
        self.snapshot
            .write_to_dir(&dir)
            .map_err(|e| snapshot_err(&e))
    }

    /// What changed from this snapshot to `new`.
    fn diff(&self, new: &PySnapshot) -> PyWorkspaceDiff {
        PyWorkspaceDiff {
            diff: diff_snapshots(&self.snapshot, &new.snapshot),
        }
    }

    fn __len__(&self) -> usize {
        self.snapshot.entry_count()
    }

    /// Equal when the content is (same checksum), whatever the compression.
    fn __eq__(&self, other: &Self) -> bool {
        self.snapshot.checksum() == other.snapshot.checksum()
    }

    fn __hash__(&self) -> u64 {
        u64::from_str_radix(&self.snapshot.checksum()[..16], 16).unwrap_or_default()
    }

    fn __repr__(&self) -> String {
        format!(
            "Snapshot({} entries, checksum={})",
            self.snapshot.entry_count(),
            &self.snapshot.checksum()[..16]
        )
    }
}

/// The changes between two snapshots (or a snapshot and the workspace).
#[pyclass(name = "WorkspaceDiff", module = "subrun", frozen)]
pub(crate) struct PyWorkspaceDiff {
    pub(crate) diff: WorkspaceDiff,
}

fn file_diffs(list: &[FileDiff], change: &'static str) -> Vec<PyFileDiff> {
    list.iter()
        .map(|d| PyFileDiff {
            diff: d.clone(),
            change,
        })
        .collect()
}

#[pymethods]
impl PyWorkspaceDiff {
    /// Entries only in the new side, sorted by path.
    #[getter]
    fn created(&self) -> Vec<PyFileDiff> {
        file_diffs(&self.diff.created, "created")
    }

    /// Entries only in the old side.
    #[getter]
    fn deleted(&self) -> Vec<PyFileDiff> {
        file_diffs(&self.diff.deleted, "deleted")
    }

    /// Entries on both sides whose content, mode, target or type differ.
    #[getter]
    fn modified(&self) -> Vec<PyFileDiff> {
        file_diffs(&self.diff.modified, "modified")
    }

    /// Lines added over every text file.
    #[getter]
    fn lines_added(&self) -> usize {
        self.diff.lines_added()
    }

    /// Lines removed over every text file.
    #[getter]
    fn lines_removed(&self) -> usize {
        self.diff.lines_removed()
    }

    /// The diff as JSON (`{"created": [...], "deleted": [...], "modified": [...]}`).
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.diff)
            .map_err(|e| crate::errors::Error::new_err(format!("cannot encode the diff: {e}")))
    }

    /// False when nothing changed.
    fn __bool__(&self) -> bool {
        !self.diff.is_empty()
    }

    /// The whole diff as text: one line per entry, unified diffs for text files.
    fn __str__(&self) -> String {
        self.diff.to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "WorkspaceDiff(created={}, deleted={}, modified={})",
            self.diff.created.len(),
            self.diff.deleted.len(),
            self.diff.modified.len()
        )
    }
}

/// How one entry changed.
#[pyclass(name = "FileDiff", module = "subrun", frozen)]
pub(crate) struct PyFileDiff {
    diff: FileDiff,
    change: &'static str,
}

#[pymethods]
impl PyFileDiff {
    /// The entry's path relative to the workspace.
    #[getter]
    fn path(&self) -> &str {
        &self.diff.path
    }

    /// `created`, `deleted` or `modified`.
    #[getter]
    fn change(&self) -> &'static str {
        self.change
    }

    /// `text` (a unified diff), `binary` (sizes) or `none` (directories, symlinks).
    #[getter]
    fn kind(&self) -> &'static str {
        match self.diff.content {
            ContentDiff::Text { .. } => "text",
            ContentDiff::Binary { .. } => "binary",
            ContentDiff::None => "none",
        }
    }

    /// The unified diff (`--- a/path`, `+++ b/path`, hunks), for text files.
    #[getter]
    fn unified(&self) -> Option<&str> {
        match &self.diff.content {
            ContentDiff::Text { unified, .. } => Some(unified),
            ContentDiff::Binary { .. } | ContentDiff::None => None,
        }
    }

    /// Lines added (text files; else 0).
    #[getter]
    fn added(&self) -> usize {
        match self.diff.content {
            ContentDiff::Text { added, .. } => added,
            ContentDiff::Binary { .. } | ContentDiff::None => 0,
        }
    }

    /// Lines removed (text files; else 0).
    #[getter]
    fn removed(&self) -> usize {
        match self.diff.content {
            ContentDiff::Text { removed, .. } => removed,
            ContentDiff::Binary { .. } | ContentDiff::None => 0,
        }
    }

    /// The entry type before (`file`, `directory`, `symlink`), `None` when created.
    #[getter]
    fn old_type(&self) -> Option<String> {
        entry_type(self.diff.old.as_ref())
    }

    /// The entry type after, `None` when deleted.
    #[getter]
    fn new_type(&self) -> Option<String> {
        entry_type(self.diff.new.as_ref())
    }

    /// The permission bits before and after, as four octal digits (`0644`).
    #[getter]
    fn modes(&self) -> (Option<String>, Option<String>) {
        let mode = |e: Option<&subrun::snapshot::EntryInfo>| e.and_then(|i| i.mode.clone());
        (mode(self.diff.old.as_ref()), mode(self.diff.new.as_ref()))
    }

    fn __str__(&self) -> String {
        self.diff.to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "FileDiff({} {:?}, {})",
            self.change,
            self.diff.path,
            self.kind()
        )
    }
}

fn entry_type(e: Option<&subrun::snapshot::EntryInfo>) -> Option<String> {
    e.and_then(|i| serde_json::to_value(i.entry_type).ok())
        .and_then(|v| v.as_str().map(str::to_string))
}

/// What `Session.finish_checkpoint()` produced (agent mode).
#[pyclass(name = "Checkpoint", module = "subrun", frozen, get_all)]
pub(crate) struct PyCheckpoint {
    /// The workspace now (also the new baseline).
    pub(crate) snapshot: Py<PySnapshot>,
    /// Where the archive was written, when the spec sets `snapshot.archive_save_dir`.
    pub(crate) archive_path: Option<PathBuf>,
    /// What changed since the previous baseline.
    pub(crate) diff: Py<PyWorkspaceDiff>,
}

/// What changed from `old` to `new`.
#[pyfunction(name = "diff_snapshots")]
fn py_diff_snapshots(old: &PySnapshot, new: &PySnapshot) -> PyWorkspaceDiff {
    old.diff(new)
}

/// Registers the snapshot classes and `diff_snapshots`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySnapshot>()?;
    m.add_class::<PyWorkspaceDiff>()?;
    m.add_class::<PyFileDiff>()?;
    m.add_class::<PyCheckpoint>()?;
    m.add_function(wrap_pyfunction!(py_diff_snapshots, m)?)?;
    Ok(())
}
