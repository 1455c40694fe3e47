//! Type and compression from a file name (`data.jsonl.gz` -> jsonl, gz).

use super::{FileType, InputCompression};

/// The type and compression a path's extensions name, if any.
pub(crate) fn from_path(path: &str) -> (Option<FileType>, Option<InputCompression>) {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let (stem, compression) = match name.rsplit_once('.') {
        Some((stem, "gz" | "gzip")) => (stem.to_string(), Some(InputCompression::Gz)),
        Some((stem, "bz2" | "bzip2")) => (stem.to_string(), Some(InputCompression::Bz2)),
        _ => (name.clone(), None),
    };
    let file_type = stem.rsplit_once('.').and_then(|(_, ext)| match ext {
        "txt" | "text" => Some(FileType::Text),
        "json" => Some(FileType::Json),
        "jsonl" | "ndjson" => Some(FileType::Jsonl),
        "csv" => Some(FileType::Csv),
        "tsv" => Some(FileType::Tsv),
        "yaml" | "yml" => Some(FileType::Yaml),
        "bin" => Some(FileType::Binary),
        _ => None,
    });
    (file_type, compression)
}
