//! Reading a problem directory: detecting its layout.

use std::path::Path;

use super::{Problem, ProblemError, dmoj, kattis, native, plain};

impl Problem {
    /// Reads the problem in `dir`, detecting its layout (see the module docs).
    ///
    /// # Errors
    /// [`ProblemError`] naming the file, the key and the case when anything is missing,
    /// unreadable or invalid; [`ProblemError::NotAProblem`] when no layout matches.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, ProblemError> {
        let dir = dir.as_ref();
        let meta = std::fs::metadata(dir).map_err(|source| ProblemError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(ProblemError::NotAProblem {
                dir: dir.to_path_buf(),
            });
        }
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "problem".to_owned());
        let yaml = dir.join("problem.yaml");
        let problem = if yaml.is_file() && has_groups_key(&yaml) {
            native::load(dir, name)?
        } else if dir.join("init.yml").is_file() {
            dmoj::load(dir, name)?
        } else if dir.join("data").is_dir() {
            kattis::load(dir, name)?
        } else if yaml.is_file() {
            native::load(dir, name)?
        } else if dir.join("cases").is_dir() {
            plain::load(dir, name)?
        } else {
            return Err(ProblemError::NotAProblem {
                dir: dir.to_path_buf(),
            });
        };
        tracing::debug!(problem = %problem.name, layout = ?problem.layout, groups = problem.groups.len(), cases = problem.case_count(), "problem loaded");
        Ok(problem)
    }

    /// The number of cases over all groups.
    pub fn case_count(&self) -> usize {
        self.groups.iter().map(|g| g.cases.len()).sum()
    }
}

/// True when `path` is a YAML mapping with a top-level `groups` key (subrun's format). A
/// file that does not parse is handed to the subrun loader too, which reports the error.
fn has_groups_key(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return true;
    };
    match serde_yaml::from_str::<serde_yaml::Value>(&text) {
        Ok(v) => v.get("groups").is_some(),
        Err(_) => true,
    }
}
