//! Errors of grading: subrun could not grade (not: a submission failed, which is a verdict).

use std::path::PathBuf;

use crate::problem::ProblemError;

/// Why grading could not be done. A failing submission is never an error: it is a
/// [`Verdict`](crate::Verdict).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GradeError {
    /// The problem is invalid.
    #[error(transparent)]
    Problem(#[from] ProblemError),
    /// A submission file could not be read.
    #[error("cannot read submission {}", path.display())]
    ReadSubmission {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file subrun does not know how to run or build.
    #[error(
        "{}: not a submission subrun knows how to run (.wasm, .wat, .py, .js, .mjs, .c, .cpp, .cc, .cxx or a Cargo project); pass a command instead (--command NAME=CMD)",
        path.display()
    )]
    UnknownSubmission {
        /// The file.
        path: PathBuf,
    },
    /// A source submission could not be built, and not because of its code (that is the
    /// verdict CE): not buildable, a toolchain piece missing, a tool that does not run.
    #[error("cannot build submission {}", path.display())]
    Build {
        /// The submission's path.
        path: PathBuf,
        /// Why.
        #[source]
        source: crate::build::BuildError,
    },
    /// The environment to run in is invalid.
    #[error("invalid environment")]
    Spec(#[source] subrun::SpecError),
    /// A module submission's file could not be written to the grader's own directory (it
    /// runs from there on wasi, not from the workspace).
    #[error("cannot stage the module of submission `{submission}`")]
    StageModule {
        /// The submission.
        submission: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The engine failed preparing a submission's sessions (workspace, spawn, setup).
    #[error("cannot prepare submission `{submission}`")]
    Prepare {
        /// The submission.
        submission: String,
        /// Why.
        #[source]
        source: subrun::Error,
    },
    /// The problem's checker program cannot run (checker programs run on the `wasi`
    /// runtime, which must be registered).
    #[error("invalid checker environment (checker programs run on the wasi runtime)")]
    CheckerSpec(#[source] subrun::SpecError),
    /// The engine failed preparing the checker program's session or runtime.
    #[error("cannot prepare the checker program")]
    PrepareChecker(#[source] subrun::Error),
    /// The shard cannot be (an index not below its count, or no shards).
    #[error("invalid shard")]
    Shard(#[from] crate::shard::ShardError),
    /// A shard of a problem with group dependencies: whether a dependency holds is decided
    /// by a whole group, whose cases are spread over the shards.
    #[error(
        "cannot grade a shard of this problem: group `{group}` depends on other groups, which no single shard can decide (grade it unsharded)"
    )]
    ShardWithDependencies {
        /// The first group with `depends_on`.
        group: String,
    },
    /// No submission was given.
    #[error("no submission to grade")]
    NoSubmission,
    /// A worker task panicked or was cancelled.
    #[error("a grading worker failed: {0}")]
    Worker(String),
}
