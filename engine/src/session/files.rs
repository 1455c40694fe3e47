//! Files in and out of a session's workspace, snapshots and checkpoints.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Session, lock};
use crate::diff::{WorkspaceDiff, diff_snapshots};
use crate::error::Error;
use crate::input::{InputFile, write_input_files};
use crate::runtime::Mode;
use crate::snapshot::{Snapshot, SnapshotError};
use crate::workspace::FileContent;

/// What [`Session::finish_checkpoint`] produced.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The workspace now (also the new baseline).
    pub snapshot: Snapshot,
    /// Where the archive was written, when the spec sets `snapshot.archive_save_dir`.
    pub archive_path: Option<PathBuf>,
    /// What changed since the previous baseline.
    pub diff: WorkspaceDiff,
}

impl Session {
    /// Writes input files into the workspace (all validated and encoded before any is
    /// written; see [`write_input_files`]). Returns their normalized paths.
    ///
    /// # Errors
    /// [`Error::Input`] naming the first bad file; nothing is written then.
    pub fn materialize_input_files(&self, files: &[InputFile]) -> Result<Vec<String>, Error> {
        Ok(write_input_files(self.workspace(), files)?)
    }

    /// Reads the regular files matching `globs` (symlinks are never followed): text when
    /// valid UTF-8, bytes otherwise. One call returns at most
    /// [`max_read_bytes`](crate::workspace::WorkspaceLimits::max_read_bytes) (default 256 MiB) in all
    /// (see [`SessionBuilder::workspace_limits`](crate::SessionBuilder::workspace_limits)).
    ///
    /// # Errors
    /// [`Error::Workspace`] for an invalid glob (absolute, `..`), an unreadable file, or a
    /// bound reached ([`WorkspaceError::Limit`](crate::workspace::WorkspaceError::Limit) naming the file
    /// and the setting; no file is returned then).
    pub fn get_file_contents<S: AsRef<str>>(
        &self,
        globs: &[S],
    ) -> Result<BTreeMap<String, FileContent>, Error> {
        Ok(self.workspace().read_globs(globs)?)
    }

    /// The baseline snapshot later diffs compare against.
    pub fn baseline(&self) -> Snapshot {
        lock(&self.baseline).clone()
    }

    /// Captures the workspace with the spec's snapshot settings and makes it the new
    /// baseline. The capture is bounded by the session's
    /// [`WorkspaceLimits`](crate::workspace::WorkspaceLimits) (entries, levels, bytes).
    ///
    /// # Errors
    /// [`Error::Snapshot`] when the workspace cannot be read or a bound is reached (the
    /// baseline is kept then).
    pub fn update_snapshot(&self) -> Result<Snapshot, Error> {
        let snapshot = Snapshot::capture(self.workspace(), &self.spec.snapshot)?;
        *lock(&self.baseline) = snapshot.clone();
        Ok(snapshot)
    }

    /// What changed in the workspace since the baseline (the baseline is kept).
    ///
    /// # Errors
    /// [`Error::Snapshot`] when the workspace cannot be read.
    pub fn diff_since_baseline(&self) -> Result<WorkspaceDiff, Error> {
        let now = Snapshot::capture(self.workspace(), &self.spec.snapshot)?;
        Ok(diff_snapshots(&lock(&self.baseline), &now))
    }

    /// Agent mode: captures the workspace, exports the archive to the spec's
    /// `snapshot.archive_save_dir` (relative to the spec's directory) when set, diffs it
    /// against the previous baseline and makes it the new baseline.
    ///
    /// The capture is bounded as [`update_snapshot`](Self::update_snapshot)'s is.
    ///
    /// # Errors
    /// [`SnapshotError::NotAgentMode`] in evaluation mode; [`Error::Snapshot`] when the
    /// workspace cannot be read, a bound is reached or the archive cannot be written (the
    /// baseline is kept then).
    pub fn finish_checkpoint(&self) -> Result<Checkpoint, Error> {
        if self.mode != Mode::Agent {
            return Err(SnapshotError::NotAgentMode.into());
        }
        let snapshot = Snapshot::capture(self.workspace(), &self.spec.snapshot)?;
        let archive_path = match &self.spec.snapshot.archive_save_dir {
            Some(dir) => Some(snapshot.write_to_dir(self.spec.resolve_path(dir))?),
            None => None,
        };
        let mut baseline = lock(&self.baseline);
        let diff = diff_snapshots(&baseline, &snapshot);
        *baseline = snapshot.clone();
        Ok(Checkpoint {
            snapshot,
            archive_path,
            diff,
        })
    }
}
