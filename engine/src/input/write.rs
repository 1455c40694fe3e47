//! Writing input files into the workspace: validate and encode all, then write.

use std::collections::BTreeMap;

use super::{InputError, InputFile};
use crate::workspace::{Workspace, WorkspaceError};

/// Writes `files` into `ws` and returns their normalized paths, in order.
///
/// Every file is checked and encoded before the first is written: a path that is absolute,
/// contains `..`, goes through a symlink leading outside, names an existing directory or
/// repeats another file's path, and content that does not fit its type, all fail the call
/// with nothing written anywhere.
///
/// # Errors
/// [`InputError`] naming the first bad file; [`InputError::Workspace`] for a refused path or
/// a write that failed.
pub fn write_input_files(ws: &Workspace, files: &[InputFile]) -> Result<Vec<String>, InputError> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    let mut encoded = Vec::with_capacity(files.len());
    for file in files {
        let resolved = ws.check_writable(&file.path)?;
        if let Some(other) = seen.insert(resolved.clone(), &file.path) {
            return Err(InputError::Duplicate {
                path: file.path.clone(),
                other: other.to_string(),
            });
        }
        if ws
            .dir()
            .symlink_metadata(&resolved)
            .is_ok_and(|m| m.is_dir())
        {
            return Err(WorkspaceError::confinement(
                &file.path,
                "is an existing directory: expected a file path",
            )
            .into());
        }
        encoded.push((file, file.encode()?));
    }
    let mut written = Vec::with_capacity(encoded.len());
    for (file, bytes) in encoded {
        ws.write_file(&file.path, &bytes)?;
        tracing::debug!(path = %file.path, bytes = bytes.len(), "input file written");
        written.push(
            crate::assets::normalize_relative(&file.path).unwrap_or_else(|_| file.path.clone()),
        );
    }
    Ok(written)
}
