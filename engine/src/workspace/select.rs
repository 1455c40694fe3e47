//! Selecting files by glob and reading them back.

use std::collections::BTreeMap;
use std::io::Read;

use super::Workspace;
use super::content::FileContent;
use super::error::WorkspaceError;
use super::walk::{NodeKind, list_tree};
use super::write::open_nofollow;
use crate::glob::WorkspaceGlobs;

impl Workspace {
    /// The regular files matching any of `patterns`, as sorted relative paths. Symlinks are
    /// never followed nor listed (a guest-made `out.txt -> ../../secret` is not a match).
    ///
    /// # Errors
    /// [`WorkspaceError::Glob`] for an absolute pattern, one with `..` or one that does not
    /// compile; [`WorkspaceError::Io`] when a directory cannot be read.
    pub fn glob<S: AsRef<str>>(&self, patterns: &[S]) -> Result<Vec<String>, WorkspaceError> {
        let globs =
            WorkspaceGlobs::new(patterns).map_err(|message| WorkspaceError::Glob { message })?;
        if globs.is_empty() {
            return Ok(Vec::new());
        }
        let (nodes, _skipped) = list_tree(&self.dir, &|_| true)?;
        Ok(nodes
            .into_iter()
            .filter(|n| matches!(n.kind, NodeKind::File { .. }) && globs.is_match(&n.path))
            .map(|n| n.path)
            .collect())
    }

    /// Reads every regular file matching `patterns` (see [`glob`](Self::glob)): text when
    /// valid UTF-8, bytes otherwise.
    ///
    /// # Errors
    /// As [`glob`](Self::glob); [`WorkspaceError::Io`] naming a file that cannot be read
    /// (one replaced by a symlink meanwhile is refused, not followed).
    pub fn read_globs<S: AsRef<str>>(
        &self,
        patterns: &[S],
    ) -> Result<BTreeMap<String, FileContent>, WorkspaceError> {
        let mut out = BTreeMap::new();
        for path in self.glob(patterns)? {
            let mut file = open_nofollow(&self.dir, &path)
                .map_err(|e| WorkspaceError::io("read", path.clone(), e))?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)
                .map_err(|e| WorkspaceError::io("read", path.clone(), e))?;
            out.insert(path, FileContent::from_bytes(bytes));
        }
        Ok(out)
    }
}
