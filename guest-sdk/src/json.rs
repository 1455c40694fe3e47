//! JSON input and result files (feature `json`).

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::files::{read_input, write_result};

/// Reads a JSON file into `T`.
///
/// # Errors
/// [`Error::Read`] when the file cannot be read; [`Error::ParseJson`] (with line and
/// column) when it is not the JSON `T` expects.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Case { a: i64, b: i64 }
///
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("case.json"), r#"{"a": 2, "b": 40}"#)?;
/// let case: Case = subrun_guest::read_json(dir.path().join("case.json"))?;
/// assert_eq!(case.a + case.b, 42);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_json<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<T> {
    let path = path.as_ref();
    let bytes = read_input(path)?;
    serde_json::from_slice(&bytes).map_err(|source| Error::ParseJson {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `value` as pretty-printed JSON with a final newline (see
/// [`write_result`](crate::write_result)).
///
/// # Errors
/// [`Error::EncodeJson`] when `value` cannot be encoded (a map with non-string keys);
/// [`Error::Write`] when the file cannot be written.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let out = dir.path().join("result.json");
/// subrun_guest::write_json(&out, &serde_json::json!({"score": 3}))?;
/// assert_eq!(std::fs::read_to_string(&out)?, "{\n  \"score\": 3\n}\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_json<T: Serialize + ?Sized>(path: impl AsRef<Path>, value: &T) -> Result<()> {
    let path = path.as_ref();
    let mut text = serde_json::to_vec_pretty(value).map_err(|source| Error::EncodeJson {
        path: path.to_path_buf(),
        source,
    })?;
    text.push(b'\n');
    write_result(path, text)
}
