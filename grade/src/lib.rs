//! # subrun-grade
//!
//! Grading on top of subrun: each submission against every case of a problem, the output
//! compared by a checker, a verdict per case, points per group, and reports.
//!
//! ```text
//!  Problem::load(dir) ──▶ Problem { limits, checker, groups[ cases ] }     (validated; nothing run)
//!        │
//!  Grader::builder(problem, &registry).spec(..).submission(..).jobs(N).build()
//!        │   per submission, per worker: Session::prepare ─▶ submission files ─▶ pristine
//!        │   snapshot ─▶ spawn (setup once)
//!        ▼   per case: clear + pristine files ─▶ case files ─▶ execute(stdin) ─▶ judge(Outcome, checker)
//!  stream() / run_with(|case| ..) ──▶ CaseResult as each finishes ──▶ Report { submissions[ cases, groups, score ] }
//!
//!  .shard(i, n): only the items of shard i ──▶ Report { fingerprint, shard, groups, .. }
//!  Report::merge([shard 0, .., shard n-1]) ──▶ the Report of the whole run
//! ```
//!
//! The engine owns the execution vocabulary ([`subrun::Outcome`], sessions, runtimes); this
//! crate owns the judging vocabulary ([`Verdict`], [`Checker`], [`Scoring`]) and depends on
//! no runtime: the caller passes a [`subrun::Registry`]. A failing submission is a verdict;
//! [`GradeError`] means subrun could not grade. See `docs/grading.md`.

pub mod build;
pub mod checker;
mod error;
mod expected;
mod gate;
mod grader;
pub mod problem;
mod report;
mod scoring;
mod shard;
mod submission;
pub mod verdict;

pub use checker::{CheckOutcome, Checker, FloatTolerance, Mismatch};
pub use error::GradeError;
pub use grader::{Grader, GraderBuilder};
pub use problem::{Case, ExpectedFile, Group, Layout, Problem, ProblemError, ProblemLimits};
pub use report::{
    CaseKey, CaseResult, GroupOutline, GroupReport, MergeError, REPORT_FORMAT, Report,
    SubmissionReport,
};
pub use scoring::Scoring;
pub use shard::{Shard, ShardError};
pub use submission::Submission;
pub use verdict::{RuntimeFailure, Verdict};
