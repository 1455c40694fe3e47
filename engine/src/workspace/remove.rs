//! Removing entries, including read-only directories a guest or a snapshot left behind.

use std::io;

use cap_fs_ext::DirExt;
use cap_std::fs::{Dir, Permissions, PermissionsExt};

use super::error::{WorkspaceError, WsResult};

/// Gives the owner read, write and search permission on the directory `path` and on every
/// directory below it (never through a symlink), so its contents can be removed.
pub(crate) fn make_tree_writable(dir: &Dir, path: &str) -> io::Result<()> {
    let meta = dir.symlink_metadata(path)?;
    if !meta.is_dir() {
        return Ok(());
    }
    let mode = meta.permissions().mode();
    if mode & 0o700 != 0o700 {
        dir.set_permissions(path, Permissions::from_mode((mode | 0o700) & 0o7777))?;
    }
    let sub = dir.open_dir_nofollow(path)?;
    make_children_writable(&sub)
}

/// [`make_tree_writable`] for every directory inside `dir` (not `dir` itself).
pub(crate) fn make_children_writable(dir: &Dir) -> io::Result<()> {
    for entry in dir.entries()? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            let name = entry.file_name();
            if let Some(name) = name.to_str() {
                make_tree_writable(dir, name)?;
            }
        }
    }
    Ok(())
}

/// Removes whatever is at `path` (file, symlink, or directory tree), never following a
/// symlink. A missing entry is not an error.
pub(crate) fn remove_entry(dir: &Dir, path: &str) -> WsResult<()> {
    let meta = match dir.symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(WorkspaceError::io("inspect", path, e)),
    };
    let result = if meta.is_dir() {
        make_tree_writable(dir, path).and_then(|()| dir.remove_dir_all(path))
    } else {
        dir.remove_file_or_symlink(path)
    };
    result.map_err(|e| WorkspaceError::io("remove", path, e))
}

/// Removes every entry of the directory `dir`, leaving it empty.
pub(crate) fn clear_dir(dir: &Dir) -> WsResult<()> {
    let entries = dir
        .entries()
        .map_err(|e| WorkspaceError::io("read directory", ".", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| WorkspaceError::io("read directory", ".", e))?;
        let name = entry.file_name();
        let shown = name.to_string_lossy().into_owned();
        let result = if entry
            .file_type()
            .map_err(|e| WorkspaceError::io("inspect", shown.clone(), e))?
            .is_dir()
        {
            make_tree_writable(dir, &shown).and_then(|()| dir.remove_dir_all(&name))
        } else {
            dir.remove_file_or_symlink(&name)
        };
        result.map_err(|e| WorkspaceError::io("remove", shown, e))?;
    }
    Ok(())
}
