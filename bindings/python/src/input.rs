//! `subrun.InputFile`: a file to write into a session's workspace.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};
use subrun::InputFile;
use subrun::input::{FileType, InputCompression};

/// A file to write into the workspace. `content` is `str` (written as UTF-8), `bytes`
/// (written as given) or JSON-like data (lists, dicts, numbers...), serialized by
/// `file_type`: json, jsonl, csv, tsv, yaml (default: from the extension, `data.jsonl.gz`).
/// `compression` (`gz`, `bz2`) is applied after; default from the extension.
#[pyclass(name = "InputFile", module = "subrun", frozen)]
pub(crate) struct PyInputFile {
    pub(crate) file: InputFile,
}

/// A `str`/`bytes`/data value as an input file at `path`.
pub(crate) fn input_file(path: String, content: &Bound<'_, PyAny>) -> PyResult<InputFile> {
    if let Ok(text) = content.cast::<PyString>() {
        return Ok(InputFile::text(path, text.to_str()?));
    }
    if let Ok(bytes) = content.cast::<PyBytes>() {
        return Ok(InputFile::bytes(path, bytes.as_bytes()));
    }
    if let Ok(bytes) = content.cast::<PyByteArray>() {
        return Ok(InputFile::bytes(path, bytes.to_vec()));
    }
    let py = content.py();
    let json: String = py
        .import("json")?
        .call_method1("dumps", (content,))
        .and_then(|j| j.extract())
        .map_err(|e| {
            PyTypeError::new_err(format!(
                "input file {path}: content is neither str, bytes nor JSON data: {e}"
            ))
        })?;
    let value = serde_json::from_str(&json).map_err(|e| {
        PyTypeError::new_err(format!("input file {path}: content is not JSON data: {e}"))
    })?;
    Ok(InputFile::data(path, value))
}

/// Parses a lowercase name (`json`, `gz`) into one of the engine's enums, naming the key.
fn parse_name<T: serde::de::DeserializeOwned>(
    path: &str,
    key: &str,
    name: &str,
    allowed: &str,
) -> PyResult<T> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        crate::errors::WorkspaceError::new_err(format!(
            "input file {path}: {key}: unknown value {name:?} (expected one of {allowed})"
        ))
    })
}

#[pymethods]
impl PyInputFile {
    #[new]
    #[pyo3(signature = (path, content, *, file_type = None, compression = None))]
    fn new(
        path: String,
        content: &Bound<'_, PyAny>,
        file_type: Option<&str>,
        compression: Option<&str>,
    ) -> PyResult<Self> {
        let mut file = input_file(path, content)?;
        if let Some(t) = file_type {
            let t: FileType = parse_name(
                &file.path,
                "file_type",
                t,
                "text, json, jsonl, csv, tsv, yaml, binary",
            )?;
            file = file.with_type(t);
        }
        if let Some(c) = compression {
            let c: InputCompression = parse_name(&file.path, "compression", c, "none, gz, bz2")?;
            file = file.with_compression(c);
        }
        Ok(Self { file })
    }

    /// The relative path in the workspace.
    #[getter]
    fn path(&self) -> &str {
        &self.file.path
    }

    /// The encoded bytes as they will be written (serialized, compressed).
    fn encode<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self
            .file
            .encode()
            .map_err(|e| crate::errors::WorkspaceError::new_err(crate::errors::chain(&e)))?;
        Ok(PyBytes::new(py, &bytes))
    }

    fn __repr__(&self) -> String {
        format!("InputFile({:?})", self.file.path)
    }
}
