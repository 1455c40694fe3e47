//! Workspace globs (`**/*.py`, `out/*.txt`): relative patterns only, `*` does not cross `/`.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

/// Checks that a workspace glob is relative, has no `..` component and compiles.
///
/// # Errors
/// A message saying what is wrong.
pub(crate) fn check_pattern(pattern: &str) -> Result<(), String> {
    compile(pattern).map(|_| ())
}

fn compile(pattern: &str) -> Result<Glob, String> {
    if pattern.is_empty() {
        return Err("empty glob: expected a relative pattern like `**/*.txt`".into());
    }
    if pattern.starts_with('/') {
        return Err(format!(
            "glob `{pattern}` is absolute: workspace globs are relative to the workspace"
        ));
    }
    if pattern.split('/').any(|c| c == "..") {
        return Err(format!(
            "glob `{pattern}` contains `..`: globs may not leave the workspace"
        ));
    }
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| format!("invalid glob `{pattern}`: {}", e.kind()))
}

/// A compiled set of workspace globs.
#[derive(Clone, Debug)]
pub(crate) struct WorkspaceGlobs {
    set: GlobSet,
    empty: bool,
}

impl WorkspaceGlobs {
    /// Compiles `patterns`; each must pass [`check_pattern`].
    ///
    /// # Errors
    /// The first invalid pattern, with what is wrong.
    pub(crate) fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, String> {
        let mut b = GlobSetBuilder::new();
        for p in patterns {
            b.add(compile(p.as_ref())?);
        }
        let set = b.build().map_err(|e| e.to_string())?;
        Ok(Self {
            set,
            empty: patterns.is_empty(),
        })
    }

    /// True when no pattern was given.
    pub(crate) fn is_empty(&self) -> bool {
        self.empty
    }

    /// True when the relative, `/`-separated `path` matches one of the patterns.
    pub(crate) fn is_match(&self, path: &str) -> bool {
        self.set.is_match(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_are_confined_and_star_stays_in_its_directory() {
        let g = WorkspaceGlobs::new(&["*.txt", "out/**/*.json"]).unwrap();
        assert!(g.is_match("a.txt"));
        assert!(!g.is_match("dir/a.txt"));
        assert!(g.is_match("out/x/y/z.json"));
        assert!(check_pattern("../x").unwrap_err().contains("`..`"));
        assert!(check_pattern("/etc/*").unwrap_err().contains("absolute"));
        assert!(check_pattern("a/[").is_err());
    }
}
