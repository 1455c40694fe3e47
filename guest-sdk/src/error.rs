//! [`Error`]: what failed, and on which path.

use std::path::PathBuf;

/// A helper's failure, named after the operation and the path it concerned.
///
/// ```
/// let err = subrun_guest::read_input("no/such/file.txt").unwrap_err();
/// assert_eq!(err.to_string(), "cannot read no/such/file.txt");
/// assert!(matches!(err, subrun_guest::Error::Read { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read (missing, unreadable, or not UTF-8 where text was asked for).
    #[error("cannot read {}", path.display())]
    Read {
        /// The path as given (an asset: its full path under the static root).
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// stdin could not be read (or was not UTF-8 where text was asked for).
    #[error("cannot read stdin")]
    ReadStdin(#[source] std::io::Error),
    /// A result file (or its parent directory) could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The path as given.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An asset name that would leave the static root, or is empty.
    #[error("invalid asset name `{name}`: {reason}")]
    AssetName {
        /// The name as given.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A file's contents are not the JSON the caller expected.
    #[cfg(feature = "json")]
    #[error("{} does not hold the expected JSON", path.display())]
    ParseJson {
        /// The file.
        path: PathBuf,
        /// serde_json's description, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A value could not be encoded as JSON.
    #[cfg(feature = "json")]
    #[error("cannot encode the value for {} as JSON", path.display())]
    EncodeJson {
        /// The file it was meant for.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

/// `Result<T, subrun_guest::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
