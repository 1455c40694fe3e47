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
    /// A file that is neither `.wasm`, `.wat` nor `.py`.
    #[error(
        "{}: not a submission subrun knows how to run (.wasm, .wat or .py); pass a command instead",
        path.display()
    )]
    UnknownSubmission {
        /// The file.
        path: PathBuf,
    },
    /// The environment to run in is invalid.
    #[error("invalid environment")]
    Spec(#[source] subrun::SpecError),
    /// The engine failed preparing a submission's sessions (workspace, spawn, setup).
    #[error("cannot prepare submission `{submission}`")]
    Prepare {
        /// The submission.
        submission: String,
        /// Why.
        #[source]
        source: subrun::Error,
    },
    /// The shard cannot be (an index not below its count, or no shards).
    #[error("invalid shard")]
    Shard(#[from] crate::shard::ShardError),
    /// No submission was given.
    #[error("no submission to grade")]
    NoSubmission,
    /// A worker task panicked or was cancelled.
    #[error("a grading worker failed: {0}")]
    Worker(String),
}
