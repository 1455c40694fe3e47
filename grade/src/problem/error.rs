//! Errors reading a problem.

use std::fmt::Write;
use std::path::PathBuf;

/// A problem that cannot be graded as given; nothing was run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProblemError {
    /// A file or directory could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The directory has none of the recognized layouts.
    #[error(
        "{} is not a problem directory: expected data/ (Kattis), problem.yaml (subrun) or cases/ (plain)",
        dir.display()
    )]
    NotAProblem {
        /// The directory.
        dir: PathBuf,
    },
    /// A file parsed but holds something invalid, or a file it names is missing.
    #[error("{}", invalid_message(file, key, case.as_deref(), message))]
    Invalid {
        /// The file at fault.
        file: PathBuf,
        /// The key path in it (`groups[0].cases[2].stdin_file`), empty for the whole file.
        key: String,
        /// The case concerned, when one is.
        case: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The problem's environment spec is invalid.
    #[error(transparent)]
    Spec(#[from] subrun::SpecError),
}

impl ProblemError {
    pub(crate) fn invalid(
        file: impl Into<PathBuf>,
        key: impl Into<String>,
        case: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        ProblemError::Invalid {
            file: file.into(),
            key: key.into(),
            case: case.map(str::to_owned),
            message: message.into(),
        }
    }
}

fn invalid_message(file: &std::path::Path, key: &str, case: Option<&str>, message: &str) -> String {
    let mut out = file.display().to_string();
    if !key.is_empty() {
        let _ = write!(out, ", key `{key}`");
    }
    if let Some(case) = case {
        let _ = write!(out, ", case `{case}`");
    }
    let _ = write!(out, ": {message}");
    out
}
