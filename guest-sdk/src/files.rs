//! Input files, result files and static assets.

use std::path::Path;

use crate::error::{Error, Result};
use crate::paths::try_asset;

/// Reads a file: an input the grader placed in the workspace (relative paths are relative
/// to the workspace), or any path the runtime shows.
///
/// # Errors
/// [`Error::Read`] naming `path`.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("input.bin");
/// std::fs::write(&path, [0u8, 1, 2])?;
/// assert_eq!(subrun_guest::read_input(&path)?, [0, 1, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_input(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a file as UTF-8 text (see [`read_input`]).
///
/// # Errors
/// [`Error::Read`] naming `path`, also when the file is not UTF-8.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("case.txt"), "3 4\n")?;
/// let text = subrun_guest::read_input_to_string(dir.path().join("case.txt"))?;
/// assert_eq!(text, "3 4\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_input_to_string(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a result file (relative paths land in the workspace, where the grader collects
/// them), creating its parent directories, and replacing the file if it exists. Text and
/// bytes both work: anything that is `AsRef<[u8]>`.
///
/// # Errors
/// [`Error::Write`] naming `path` (a read-only location such as `/static`, a missing
/// permission, a full disk).
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let out = dir.path().join("results/score.txt");
/// subrun_guest::write_result(&out, "0.93\n")?;
/// assert_eq!(std::fs::read_to_string(&out)?, "0.93\n");
/// subrun_guest::write_result(&out, [1u8, 2, 3])?;
/// assert_eq!(std::fs::read(&out)?, [1, 2, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_result(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Result<()> {
    let path = path.as_ref();
    let write_error = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(write_error)?;
    }
    std::fs::write(path, contents).map_err(write_error)
}

/// Reads the static asset saved as `name` (see [`asset`](crate::asset)).
///
/// # Errors
/// [`Error::AssetName`] for a name that would leave the static root; [`Error::Read`] naming
/// the asset's full path when it is missing or unreadable.
///
/// ```
/// let err = subrun_guest::read_asset("surely-not-an-asset.bin").unwrap_err();
/// assert!(err.to_string().ends_with("surely-not-an-asset.bin"), "{err}");
/// ```
pub fn read_asset(name: &str) -> Result<Vec<u8>> {
    read_input(try_asset(name)?)
}

/// Reads the static asset saved as `name` as UTF-8 text.
///
/// # Errors
/// As [`read_asset`], and [`Error::Read`] when the asset is not UTF-8.
///
/// ```no_run
/// let vocabulary = subrun_guest::read_asset_to_string("vocabulary.txt")?;
/// # Ok::<(), subrun_guest::Error>(())
/// ```
pub fn read_asset_to_string(name: &str) -> Result<String> {
    read_input_to_string(try_asset(name)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_result_without_a_parent_is_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txt");
        write_result(&path, "a").unwrap();
        write_result(&path, "b").unwrap();
        assert_eq!(read_input_to_string(&path).unwrap(), "b");
    }

    #[test]
    fn text_reads_refuse_bytes_that_are_not_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bin");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert_eq!(read_input(&path).unwrap(), [0xff, 0xfe]);
        let err = read_input_to_string(&path).unwrap_err();
        assert!(matches!(err, Error::Read { .. }), "{err:?}");
    }

    #[test]
    fn a_write_below_a_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), "").unwrap();
        let target = dir.path().join("file/child.txt");
        let err = write_result(&target, "x").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot write {}", target.display())
        );
    }
}
