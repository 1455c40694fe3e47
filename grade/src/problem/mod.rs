//! Problems: a directory of test cases, read in place without conversion.
//!
//! Three layouts are recognized, in this order (see `docs/grading.md`):
//!
//! 1. **subrun**: a `problem.yaml` of subrun's own ([`native`]), told from a Kattis one by
//!    its top-level `groups` key (Kattis has none);
//! 2. **Kattis / ICPC**: a `data/` directory (`data/sample/*.in|.ans`, `data/secret/*.in|.ans`,
//!    subdirectories of `data/secret/` as groups), with an optional Kattis `problem.yaml`;
//!    a `problem.yaml` without `groups` and without `data/` is read as subrun's (and
//!    refused for its missing `groups`);
//! 3. **plain**: `cases/NAME.in` with `cases/NAME.out` or `cases/NAME.ans`.
//!
//! Everything is read and validated before anything runs: a bad file is a
//! [`ProblemError`] naming the file, the key and the case. DMOJ's `init.yml` and custom
//! checker programs are later steps: they become one more loader here and one more
//! [`Checker`] variant, and need no change to [`Problem`], [`Group`] or [`Case`].

mod error;
mod kattis;
pub mod native;
mod plain;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use subrun::EnvironmentSpec;
use subrun::input::InputFile;
use subrun::spec::units::ByteSize;

use crate::checker::Checker;
use crate::scoring::Scoring;

pub use error::ProblemError;

/// A problem, ready to grade.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Problem {
    /// The problem's name (its `name` key, else the directory's name).
    pub name: String,
    /// The directory it was read from. Never shown to a submission.
    pub dir: PathBuf,
    /// Which layout it was read as.
    pub layout: Layout,
    /// Limits for every case.
    pub limits: ProblemLimits,
    /// How outputs are compared.
    pub checker: Checker,
    /// Where to run, when the problem says (else the caller's spec).
    pub environment: Option<ProblemEnvironment>,
    /// The groups, in order, each with at least one case.
    pub groups: Vec<Group>,
}

/// A problem directory layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Layout {
    /// `cases/NAME.in` + `.out` / `.ans`.
    Plain,
    /// Kattis / ICPC `data/`.
    Kattis,
    /// subrun's own `problem.yaml`.
    Subrun,
}

/// Per-case limits a problem sets. `None` keeps the spec's own limit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProblemLimits {
    /// Wall-clock deadline per case.
    pub time: Option<Duration>,
    /// Memory per case.
    pub memory: Option<ByteSize>,
    /// Bytes kept per output stream.
    pub output: Option<ByteSize>,
}

/// Where a problem wants its submissions run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ProblemEnvironment {
    /// A runtime by name (`wasi`, `local`, `docker`), with the caller's spec when it is of
    /// that kind, else a spec with that `type` and nothing else.
    Runtime(String),
    /// A full environment spec (a file of the problem's).
    Spec(Box<EnvironmentSpec>),
}

/// A group of cases (samples, a subtask) with its points.
#[derive(Clone, Debug)]
pub struct Group {
    /// The group's name (unique in the problem).
    pub name: String,
    /// What the group is worth.
    pub points: f64,
    /// How its cases make its score.
    pub scoring: Scoring,
    /// Its cases, in order.
    pub cases: Vec<Case>,
}

/// One test case.
#[derive(Clone, Debug)]
pub struct Case {
    /// The case's name (unique in its group).
    pub name: String,
    /// Arguments appended to the submission's command.
    pub args: Vec<String>,
    /// Bytes on stdin (closed when `None`).
    pub stdin: Option<Vec<u8>>,
    /// Files written into the submission's workspace for this case only.
    pub files: Vec<InputFile>,
    /// The expected stdout; `None` accepts any output of a clean exit.
    pub answer: Option<Vec<u8>>,
}

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

/// Reads a file of the problem, naming it on failure.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, ProblemError> {
    std::fs::read(path).map_err(|source| ProblemError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// `NAME.in` files of `dir` paired with their answer (`NAME.ans`, else `NAME.out` when
/// `out_too`), sorted by name. An input without an answer, an answer without an input, or
/// both `.ans` and `.out` is an error naming the file.
pub(crate) fn paired_cases(dir: &Path, out_too: bool) -> Result<Vec<Case>, ProblemError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ProblemError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut inputs = Vec::new();
    let mut answers = std::collections::BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(|source| ProblemError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let (Some(stem), Some(ext)) = (path.file_stem(), path.extension()) else {
            continue;
        };
        let stem = stem.to_string_lossy().into_owned();
        match ext.to_str() {
            Some("in") => inputs.push(stem),
            Some("ans") => {
                answers.insert((stem, "ans"));
            }
            Some("out") if out_too => {
                answers.insert((stem, "out"));
            }
            _ => {}
        }
    }
    inputs.sort();
    let mut cases = Vec::with_capacity(inputs.len());
    for stem in &inputs {
        let has_ans = answers.remove(&(stem.clone(), "ans"));
        let has_out = answers.remove(&(stem.clone(), "out"));
        let ext = match (has_ans, has_out) {
            (true, true) => {
                return Err(ProblemError::invalid(
                    dir.join(format!("{stem}.out")),
                    "",
                    Some(stem),
                    format!("both {stem}.ans and {stem}.out exist: keep one answer"),
                ));
            }
            (true, false) => "ans",
            (false, true) => "out",
            (false, false) => {
                let wanted = if out_too { ".out or .ans" } else { ".ans" };
                return Err(ProblemError::invalid(
                    dir.join(format!("{stem}.in")),
                    "",
                    Some(stem),
                    format!("no answer: expected {stem}{wanted} beside it"),
                ));
            }
        };
        cases.push(Case {
            name: stem.clone(),
            args: Vec::new(),
            stdin: Some(read(&dir.join(format!("{stem}.in")))?),
            files: Vec::new(),
            answer: Some(read(&dir.join(format!("{stem}.{ext}")))?),
        });
    }
    if let Some((stem, ext)) = answers.into_iter().next() {
        return Err(ProblemError::invalid(
            dir.join(format!("{stem}.{ext}")),
            "",
            Some(&stem),
            format!("an answer without input: expected {stem}.in beside it"),
        ));
    }
    Ok(cases)
}

#[cfg(test)]
mod tests;
