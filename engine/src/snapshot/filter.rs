//! `keep_globs` and `ignore_globs`.

use crate::glob::WorkspaceGlobs;
use crate::spec::SnapshotConfig;

use super::error::SnapshotError;

/// Which workspace entries a snapshot holds.
///
/// - A file or symlink is kept when `keep_globs` is empty or one of them matches its path,
///   and no `ignore_globs` pattern matches it.
/// - A directory matched by `ignore_globs` is left out with everything under it.
/// - Any other directory is kept when something under it is kept, or when it is empty in the
///   workspace and passes the same rule as a file. A directory that holds only left-out
///   entries is left out.
pub(crate) struct SnapshotFilter {
    keep: WorkspaceGlobs,
    ignore: WorkspaceGlobs,
}

impl SnapshotFilter {
    pub(crate) fn new(config: &SnapshotConfig) -> Result<Self, SnapshotError> {
        let compile = |field: &str, globs: &[String]| {
            for (i, g) in globs.iter().enumerate() {
                crate::glob::check_pattern(g).map_err(|message| SnapshotError::Config {
                    key: format!("snapshot.{field}[{i}]"),
                    message,
                })?;
            }
            WorkspaceGlobs::new(globs).map_err(|message| SnapshotError::Config {
                key: format!("snapshot.{field}"),
                message,
            })
        };
        Ok(Self {
            keep: compile("keep_globs", &config.keep_globs)?,
            ignore: compile("ignore_globs", &config.ignore_globs)?,
        })
    }

    /// Whether the contents of directory `path` are looked at at all.
    pub(crate) fn descend(&self, path: &str) -> bool {
        !self.ignore.is_match(path)
    }

    /// Whether a file, symlink or empty directory at `path` is kept.
    pub(crate) fn keeps(&self, path: &str) -> bool {
        (self.keep.is_empty() || self.keep.is_match(path)) && !self.ignore.is_match(path)
    }
}
