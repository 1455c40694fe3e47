//! Input files (stub, being implemented).

/// Input file errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// Content that cannot be written as the file's type.
    #[error("input file `{path}`: {message}")]
    Content {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}
