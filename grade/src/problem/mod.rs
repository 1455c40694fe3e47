//! Problems: a directory of test cases, read in place without conversion.
//!
//! Four layouts are recognized, in this order (see `docs/grading.md`):
//!
//! 1. **subrun**: a `problem.yaml` of subrun's own ([`native`]), told from a Kattis one by
//!    its top-level `groups` key (Kattis has none);
//! 2. **DMOJ**: an `init.yml` (`test_cases`, batches, an optional zip `archive`; see
//!    [`dmoj`]);
//! 3. **Kattis / ICPC**: a `data/` directory (`data/sample/*.in|.ans`, `data/secret/*.in|.ans`,
//!    subdirectories of `data/secret/` as groups), with an optional Kattis `problem.yaml`;
//!    a `problem.yaml` without `groups` and without `data/` is read as subrun's (and
//!    refused for its missing `groups`);
//! 4. **plain**: `cases/NAME.in` with `cases/NAME.out` or `cases/NAME.ans`.
//!
//! Everything is read and validated before anything runs: a bad file is a
//! [`ProblemError`] naming the file, the key and the case, and so are group dependencies
//! that name no group or go in a circle. A checker program ([`Checker::Program`]) is found
//! and checked here too (it must exist, as a `.wasm` or `.wat` module).

pub(crate) mod dependencies;
pub mod dmoj;
mod error;
mod files;
mod kattis;
mod load;
pub mod native;
mod plain;
mod program;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use subrun::EnvironmentSpec;
use subrun::input::InputFile;
use subrun::spec::units::ByteSize;

use crate::checker::Checker;
use crate::scoring::Scoring;

pub use error::ProblemError;
pub(crate) use files::{paired_cases, read};

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
    /// DMOJ's `init.yml`.
    Dmoj,
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
    /// Groups that must be fully accepted (every case AC) before this one runs; when one is
    /// not, this group's cases are [`Verdict::Skipped`](crate::Verdict::Skipped). Each name
    /// is a group of the problem, and no group depends on itself through others (checked
    /// when the problem is read).
    pub depends_on: Vec<String>,
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
    /// Files the case must leave in the workspace, checked after it ran (by path order).
    pub expected_files: Vec<ExpectedFile>,
}

/// A file a case must leave in the submission's workspace, with its expected content. The
/// content stays in the grader: it is never written into a workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedFile {
    /// The workspace path (relative, `/`-separated, no `.` or `..` component).
    pub path: String,
    /// What the problem's checker compares the file with.
    pub content: Vec<u8>,
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_dmoj;
