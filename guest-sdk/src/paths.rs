//! Where things are: the workspace and the static assets.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable that moves the static root for native runs (tests, the `local`
/// runtime): `SUBRUN_STATIC_DIR=fixtures/static cargo run` makes [`asset("x")`](asset) read
/// `fixtures/static/x`. Empty counts as unset.
pub const STATIC_DIR_ENV: &str = "SUBRUN_STATIC_DIR";

/// Where the `wasi` and `docker` runtimes show static assets: `/static/<save_path>`.
pub const DEFAULT_STATIC_ROOT: &str = "/static";

/// The workspace: the working directory. Under the `wasi` runtime it is `/`, where the
/// runtime shows the workspace (read-write; the spec's `workdir`, `/workspace` by default, is
/// the same directory), so relative paths land in the workspace. Natively it is the current
/// directory (`.` if that cannot be read).
///
/// ```
/// assert_eq!(subrun_guest::workspace(), std::env::current_dir().unwrap());
/// ```
pub fn workspace() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// The directory static assets are under: `$SUBRUN_STATIC_DIR` when set and not empty
/// ([`STATIC_DIR_ENV`]), else [`DEFAULT_STATIC_ROOT`].
///
/// ```
/// let root = subrun_guest::static_root();
/// if std::env::var_os(subrun_guest::STATIC_DIR_ENV).is_none() {
///     assert_eq!(root, std::path::Path::new("/static"));
/// }
/// ```
pub fn static_root() -> PathBuf {
    root_from(std::env::var_os(STATIC_DIR_ENV))
}

/// The static root for a value of [`STATIC_DIR_ENV`].
fn root_from(var: Option<std::ffi::OsString>) -> PathBuf {
    match var {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(DEFAULT_STATIC_ROOT),
    }
}

/// The path of the static asset saved as `name` (its `save_path`, e.g. `data.csv` or
/// `models/small.bin`): [`static_root()`]`/name`.
///
/// # Panics
/// When `name` is empty, absolute or contains `..` (it would leave the static root); use
/// [`try_asset`] for names that come from input.
///
/// ```
/// let path = subrun_guest::asset("data/iris.csv");
/// assert_eq!(path, subrun_guest::static_root().join("data/iris.csv"));
/// ```
pub fn asset(name: &str) -> PathBuf {
    match try_asset(name) {
        Ok(path) => path,
        Err(e) => panic!("{e}"),
    }
}

/// [`asset`] without the panic.
///
/// # Errors
/// [`Error::AssetName`] when `name` is empty, absolute or contains `..`.
///
/// ```
/// assert!(subrun_guest::try_asset("data.csv").is_ok());
/// let err = subrun_guest::try_asset("../etc/passwd").unwrap_err();
/// assert_eq!(err.to_string(), "invalid asset name `../etc/passwd`: `..` would leave the static root");
/// assert!(subrun_guest::try_asset("/etc/passwd").is_err());
/// assert!(subrun_guest::try_asset("").is_err());
/// ```
pub fn try_asset(name: &str) -> Result<PathBuf> {
    let refuse = |reason| Error::AssetName {
        name: name.to_string(),
        reason,
    };
    if name.is_empty() {
        return Err(refuse("it is empty"));
    }
    for c in Path::new(name).components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err(refuse("`..` would leave the static root")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse(
                    "it is absolute; give the save path below the static root",
                ));
            }
        }
    }
    Ok(static_root().join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "invalid asset name `../x`")]
    fn asset_panics_on_a_name_that_leaves_the_root() {
        let _ = asset("../x");
    }

    #[test]
    fn the_variable_moves_the_root_and_empty_means_unset() {
        assert_eq!(root_from(None), Path::new("/static"));
        assert_eq!(root_from(Some("".into())), Path::new("/static"));
        assert_eq!(
            root_from(Some("fixtures/static".into())),
            Path::new("fixtures/static")
        );
    }

    #[test]
    fn nested_save_paths_are_kept() {
        assert_eq!(
            try_asset("a/./b.txt").unwrap(),
            static_root().join("a/./b.txt")
        );
    }
}
