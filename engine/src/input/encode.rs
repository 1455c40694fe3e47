//! Serializing input content per type, and compressing it.

use std::io::Write;

use serde_json::Value;

use super::{FileType, InputCompression, InputContent, InputError};

/// The uncompressed bytes of `content` written as `file_type`.
pub(crate) fn encode_content(
    path: &str,
    content: &InputContent,
    file_type: FileType,
) -> Result<Vec<u8>, InputError> {
    let data = match content {
        InputContent::Text(t) => return Ok(t.clone().into_bytes()),
        InputContent::Bytes(b) => return Ok(b.clone()),
        InputContent::Data(v) => v,
    };
    match file_type {
        FileType::Text | FileType::Binary => Err(InputError::content(
            path,
            format!(
                "structured data cannot be written as a {file_type} file: use `text` or `base64` content, or a structured type (json, jsonl, csv, tsv, yaml)"
            ),
        )),
        FileType::Json => {
            let mut s = serde_json::to_string_pretty(data)
                .map_err(|e| InputError::content(path, format!("cannot write JSON: {e}")))?;
            s.push('\n');
            Ok(s.into_bytes())
        }
        FileType::Jsonl => {
            let Value::Array(items) = data else {
                return Err(InputError::content(
                    path,
                    format!(
                        "jsonl content must be a list of values, found {}",
                        kind(data)
                    ),
                ));
            };
            let mut out = String::new();
            for item in items {
                out.push_str(&item.to_string());
                out.push('\n');
            }
            Ok(out.into_bytes())
        }
        FileType::Csv => delimited(path, data, b','),
        FileType::Tsv => delimited(path, data, b'\t'),
        FileType::Yaml => serde_yaml::to_string(data)
            .map(String::into_bytes)
            .map_err(|e| InputError::content(path, format!("cannot write YAML: {e}"))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// CSV or TSV from a list of lists (rows as given) or a list of mappings (a header row from
/// the keys in order of first appearance; a missing key is an empty cell).
fn delimited(path: &str, data: &Value, delimiter: u8) -> Result<Vec<u8>, InputError> {
    let what = if delimiter == b',' { "csv" } else { "tsv" };
    let Value::Array(rows) = data else {
        return Err(InputError::content(
            path,
            format!(
                "{what} content must be a list of rows (lists or mappings), found {}",
                kind(data)
            ),
        ));
    };
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_writer(Vec::new());
    let csv_err = |e: csv::Error| InputError::content(path, format!("cannot write {what}: {e}"));
    match rows.first() {
        None => {}
        Some(Value::Array(_)) => {
            for (i, row) in rows.iter().enumerate() {
                let Value::Array(cells) = row else {
                    return Err(InputError::content(
                        path,
                        format!("row {i} is {} but row 0 is a list", kind(row)),
                    ));
                };
                let cells = cells
                    .iter()
                    .enumerate()
                    .map(|(j, c)| cell(path, c, &format!("row {i}, column {j}")))
                    .collect::<Result<Vec<_>, _>>()?;
                writer.write_record(&cells).map_err(csv_err)?;
            }
        }
        Some(Value::Object(_)) => {
            let mut header: Vec<&str> = Vec::new();
            for (i, row) in rows.iter().enumerate() {
                let Value::Object(map) = row else {
                    return Err(InputError::content(
                        path,
                        format!("row {i} is {} but row 0 is a mapping", kind(row)),
                    ));
                };
                for k in map.keys() {
                    if !header.contains(&k.as_str()) {
                        header.push(k);
                    }
                }
            }
            writer.write_record(&header).map_err(csv_err)?;
            for (i, row) in rows.iter().enumerate() {
                let cells = header
                    .iter()
                    .map(|k| {
                        row.get(*k).map_or(Ok(String::new()), |c| {
                            cell(path, c, &format!("row {i}, column `{k}`"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                writer.write_record(&cells).map_err(csv_err)?;
            }
        }
        Some(other) => {
            return Err(InputError::content(
                path,
                format!(
                    "{what} rows must be lists or mappings, row 0 is {}",
                    kind(other)
                ),
            ));
        }
    }
    writer
        .into_inner()
        .map_err(|e| InputError::content(path, format!("cannot write {what}: {}", e.error())))
}

fn cell(path: &str, v: &Value, at: &str) -> Result<String, InputError> {
    match v {
        Value::Null => Ok(String::new()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) => Ok(s.clone()),
        Value::Array(_) | Value::Object(_) => Err(InputError::content(
            path,
            format!("{at}: {} cannot be written as a cell", kind(v)),
        )),
    }
}

/// Compresses encoded bytes (gzip with mtime 0, so the same input gives the same bytes).
pub(crate) fn compress(
    path: &str,
    raw: Vec<u8>,
    compression: InputCompression,
) -> Result<Vec<u8>, InputError> {
    let err = |e: std::io::Error| InputError::content(path, format!("cannot compress: {e}"));
    match compression {
        InputCompression::None => Ok(raw),
        InputCompression::Gz => {
            let mut enc = flate2::GzBuilder::new()
                .mtime(0)
                .write(Vec::new(), flate2::Compression::default());
            enc.write_all(&raw).map_err(err)?;
            enc.finish().map_err(err)
        }
        InputCompression::Bz2 => {
            let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            enc.write_all(&raw).map_err(err)?;
            enc.finish().map_err(err)
        }
    }
}
