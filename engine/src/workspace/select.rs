//! Selecting files by glob and reading them back.

use std::collections::BTreeMap;

use super::Workspace;
use super::content::FileContent;
use super::error::WorkspaceError;
use super::read::{ByteBudget, open_regular};
use super::walk::{NodeKind, list_tree};
use crate::glob::WorkspaceGlobs;

/// The directory part of `pattern` before its first component with a glob character or an
/// escape (`out/x/*.txt` -> `out/x`, `**/*.py` -> ``, `a.txt` -> ``).
fn literal_dir(pattern: &str) -> &str {
    let mut end = 0;
    let mut parts = pattern.split('/').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() || part.contains(['*', '?', '[', ']', '{', '}', '\\']) {
            break;
        }
        end += part.len() + 1;
    }
    &pattern[..end.saturating_sub(1)]
}

/// Whether a match of a pattern whose literal directory is `literal` can lie under `dir`.
fn can_reach(literal: &str, dir: &str) -> bool {
    let under =
        |a: &str, b: &str| a.len() > b.len() && a.starts_with(b) && a.as_bytes()[b.len()] == b'/';
    literal.is_empty() || literal == dir || under(literal, dir) || under(dir, literal)
}

impl Workspace {
    /// The regular files matching any of `patterns`, as sorted relative paths. Symlinks are
    /// never followed nor listed (a guest-made `out.txt -> ../../secret` is not a match).
    /// The walk only enters directories a pattern can reach (`out/*.txt` looks in `out`
    /// alone) and visits at most [`max_entries`](super::WorkspaceLimits::max_entries) entries
    /// and [`max_depth`](super::WorkspaceLimits::max_depth) levels.
    ///
    /// # Errors
    /// [`WorkspaceError::Glob`] for an absolute pattern, one with `..` or one that does not
    /// compile; [`WorkspaceError::Io`] when a directory cannot be read;
    /// [`WorkspaceError::Limit`] when the workspace holds more entries or levels than that.
    pub fn glob<S: AsRef<str>>(&self, patterns: &[S]) -> Result<Vec<String>, WorkspaceError> {
        let globs =
            WorkspaceGlobs::new(patterns).map_err(|message| WorkspaceError::Glob { message })?;
        if globs.is_empty() {
            return Ok(Vec::new());
        }
        let prefixes: Vec<&str> = patterns.iter().map(|p| literal_dir(p.as_ref())).collect();
        let reachable = |dir: &str| prefixes.iter().any(|l| can_reach(l, dir));
        let (nodes, _skipped) = list_tree(&self.dir, &reachable, &self.limits)?;
        Ok(nodes
            .into_iter()
            .filter(|n| matches!(n.kind, NodeKind::File { .. }) && globs.is_match(&n.path))
            .map(|n| n.path)
            .collect())
    }

    /// Reads every regular file matching `patterns` (see [`glob`](Self::glob)): text when
    /// valid UTF-8, bytes otherwise. All the files together may hold at most
    /// [`max_read_bytes`](super::WorkspaceLimits::max_read_bytes) (default 256 MiB); the
    /// listing is bounded as [`glob`](Self::glob)'s is.
    ///
    /// # Errors
    /// As [`glob`](Self::glob); [`WorkspaceError::Io`] naming a file that cannot be read
    /// (one replaced by a symlink meanwhile is refused, not followed);
    /// [`WorkspaceError::Limit`] naming the file that would pass the byte bound (nothing is
    /// returned then, never part of the files).
    pub fn read_globs<S: AsRef<str>>(
        &self,
        patterns: &[S],
    ) -> Result<BTreeMap<String, FileContent>, WorkspaceError> {
        let mut budget = ByteBudget::new("max_read_bytes", self.limits.max_read_bytes, "reading");
        let mut out = BTreeMap::new();
        for path in self.glob(patterns)? {
            let (file, len) = open_regular(&self.dir, &path)?;
            let bytes = budget.read(file, &path, len)?;
            out.insert(path, FileContent::from_bytes(bytes));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_only_enter_directories_they_can_reach() {
        assert_eq!(literal_dir("out/x/*.txt"), "out/x");
        assert_eq!(literal_dir("out/*.txt"), "out");
        assert_eq!(literal_dir("**/*.py"), "");
        assert_eq!(literal_dir("a.txt"), "");
        assert_eq!(literal_dir("a/b/c.txt"), "a/b");
        assert_eq!(literal_dir("a/{b,c}/d"), "a");
        assert_eq!(literal_dir("a\\*/d"), "");
        assert!(can_reach("out/x", "out"));
        assert!(can_reach("out/x", "out/x"));
        assert!(can_reach("out/x", "out/x/deeper"));
        assert!(!can_reach("out/x", "output"));
        assert!(!can_reach("out/x", "out/xy"));
        assert!(!can_reach("out", "in"));
        assert!(can_reach("", "anything"));
    }
}
