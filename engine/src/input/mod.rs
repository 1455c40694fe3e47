//! Input files: content a case writes into the workspace before a command runs.
//!
//! An [`InputFile`] has a path (relative, confined to the workspace), content (text, bytes or
//! structured data), and optionally a [`FileType`] and an [`InputCompression`]; both are
//! detected from the extension when not given (`data.jsonl.gz` is jsonl, gzip-compressed).
//! Structured [`InputContent::Data`] is serialized per type; text and bytes are written as
//! given (then compressed when asked).
//!
//! [`write_input_files`] validates and encodes every file before writing any, so one bad
//! file writes nothing.

mod detect;
mod encode;
mod write;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use write::write_input_files;

use crate::workspace::{WorkspaceError, base64_bytes};

/// One file to write into the workspace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputFile {
    /// Relative path in the workspace (no `..`, not absolute).
    pub path: String,
    /// What to write.
    pub content: InputContent,
    /// How to serialize [`InputContent::Data`]; detected from the extension when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_type: Option<FileType>,
    /// Compression applied after encoding; detected from the extension (`.gz`, `.bz2`) when
    /// `None`, else none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<InputCompression>,
}

/// The content of an input file. Serialized as `{"text": ...}`, `{"base64": ...}` or
/// `{"data": ...}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputContent {
    /// Text, written as UTF-8 exactly as given.
    Text(String),
    /// Bytes, written exactly as given (base64 in serialized form).
    #[serde(rename = "base64", with = "base64_bytes")]
    Bytes(Vec<u8>),
    /// Structured data, serialized according to the file type (json, jsonl, csv, tsv, yaml).
    Data(Value),
}

/// How an input file's content is serialized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    /// Plain text (`.txt`).
    Text,
    /// JSON, pretty-printed (`.json`).
    Json,
    /// One compact JSON value per line, from a list (`.jsonl`, `.ndjson`).
    Jsonl,
    /// Comma-separated values from a list of lists or a list of mappings (`.csv`).
    Csv,
    /// Tab-separated values, as csv (`.tsv`).
    Tsv,
    /// YAML (`.yaml`, `.yml`).
    Yaml,
    /// Raw bytes (`.bin`).
    Binary,
}

/// Compression applied to an input file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputCompression {
    /// Written as encoded.
    #[default]
    None,
    /// gzip (`.gz`).
    Gz,
    /// bzip2 (`.bz2`).
    Bz2,
}

impl std::fmt::Display for FileType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileType::Text => "text",
            FileType::Json => "json",
            FileType::Jsonl => "jsonl",
            FileType::Csv => "csv",
            FileType::Tsv => "tsv",
            FileType::Yaml => "yaml",
            FileType::Binary => "binary",
        })
    }
}

impl InputFile {
    /// A text file.
    pub fn text(path: impl Into<String>, text: impl Into<String>) -> Self {
        Self::new(path, InputContent::Text(text.into()))
    }

    /// A file of raw bytes.
    pub fn bytes(path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self::new(path, InputContent::Bytes(bytes.into()))
    }

    /// A file serialized from structured data (type from the extension unless set).
    pub fn data(path: impl Into<String>, data: Value) -> Self {
        Self::new(path, InputContent::Data(data))
    }

    fn new(path: impl Into<String>, content: InputContent) -> Self {
        Self {
            path: path.into(),
            content,
            file_type: None,
            compression: None,
        }
    }

    /// Sets the file type explicitly.
    #[must_use]
    pub fn with_type(mut self, file_type: FileType) -> Self {
        self.file_type = Some(file_type);
        self
    }

    /// Sets the compression explicitly.
    #[must_use]
    pub fn with_compression(mut self, compression: InputCompression) -> Self {
        self.compression = Some(compression);
        self
    }

    /// The type and compression this file is written with: the explicit ones, else those of
    /// the extension, else text for text content and binary for bytes.
    ///
    /// # Errors
    /// [`InputError::Content`] when structured data has no type to be serialized as.
    pub fn effective_format(&self) -> Result<(FileType, InputCompression), InputError> {
        let (ext_type, ext_compression) = detect::from_path(&self.path);
        let compression = self
            .compression
            .or(ext_compression)
            .unwrap_or(InputCompression::None);
        let file_type = match self.file_type.or(ext_type) {
            Some(t) => t,
            None => match &self.content {
                InputContent::Text(_) => FileType::Text,
                InputContent::Bytes(_) => FileType::Binary,
                InputContent::Data(_) => {
                    return Err(InputError::content(
                        &self.path,
                        "structured data needs a file type: set `file_type` or use an extension (.json, .jsonl, .csv, .tsv, .yaml, .yml)",
                    ));
                }
            },
        };
        Ok((file_type, compression))
    }

    /// The bytes this file is written as: content encoded per type, then compressed.
    ///
    /// # Errors
    /// [`InputError::Content`] naming the file when the content does not fit its type.
    pub fn encode(&self) -> Result<Vec<u8>, InputError> {
        let (file_type, compression) = self.effective_format()?;
        let raw = encode::encode_content(&self.path, &self.content, file_type)?;
        encode::compress(&self.path, raw, compression)
    }
}

/// Input file errors; every one names the file.
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
    /// Two input files resolve to the same workspace path.
    #[error("input file `{path}` is given twice (also as `{other}`)")]
    Duplicate {
        /// The later file's path.
        path: String,
        /// The earlier file's path.
        other: String,
    },
    /// The path is refused (`..`, absolute, a symlink leading outside) or cannot be written.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
}

impl InputError {
    pub(crate) fn content(path: &str, message: impl Into<String>) -> Self {
        InputError::Content {
            path: path.to_string(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests;
