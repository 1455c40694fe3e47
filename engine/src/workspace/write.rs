//! Writing a tree of directories, files and symlinks into a workspace, exactly and without
//! ever following a symlink that is already there.

use std::io::{self, Read, Write};

use cap_std::fs::{Dir, OpenOptions, Permissions, PermissionsExt};

use super::error::{WorkspaceError, WsResult};
use super::remove::remove_entry;

/// Where a file's bytes come from.
pub(crate) enum FileSource<'a> {
    /// Bytes in memory.
    Bytes(&'a [u8]),
    /// A file in another directory (streamed, not loaded) and the length it was listed with:
    /// no more than that is copied.
    Dir {
        dir: &'a Dir,
        path: &'a str,
        len: u64,
    },
}

/// One entry to write. Paths are normalized relative paths (checked by the caller).
pub(crate) enum WriteNode<'a> {
    /// A directory and its permission bits.
    Dir { path: &'a str, mode: u32 },
    /// A regular file.
    File {
        path: &'a str,
        mode: u32,
        source: FileSource<'a>,
    },
    /// A symlink; the caller has checked that `target` stays inside the workspace.
    Symlink { path: &'a str, target: &'a str },
}

/// Writes `nodes` into `dir`: directories first, then files, then symlinks (so no symlink
/// from the tree can redirect a later write), then directory modes deepest first (so a
/// read-only directory does not block writing its contents). Anything already at a path
/// whose kind differs is replaced; an existing file is replaced, never written through.
///
/// # Errors
/// The first I/O failure, naming its path.
pub(crate) fn write_tree(dir: &Dir, nodes: &[WriteNode<'_>]) -> WsResult<()> {
    let mut restore_modes: Vec<(String, u32)> = Vec::new();
    for node in nodes {
        if let WriteNode::Dir { path, .. } = node {
            ensure_dir(dir, path, &mut restore_modes)?;
        }
    }
    for node in nodes {
        if let WriteNode::File { path, mode, source } = node {
            ensure_parent(dir, path, &mut restore_modes)?;
            remove_entry(dir, path)?;
            write_file(dir, path, *mode, source)?;
        }
    }
    for node in nodes {
        if let WriteNode::Symlink { path, target } = node {
            ensure_parent(dir, path, &mut restore_modes)?;
            remove_entry(dir, path)?;
            dir.symlink(target, path)
                .map_err(|e| WorkspaceError::io("create symlink", *path, e))?;
        }
    }
    let mut dirs: Vec<(&str, u32)> = nodes
        .iter()
        .filter_map(|n| match n {
            WriteNode::Dir { path, mode } => Some((*path, *mode)),
            _ => None,
        })
        .collect();
    // Directories that the tree does not set get their previous mode back.
    restore_modes.retain(|(p, _)| !dirs.iter().any(|(d, _)| d == p));
    dirs.extend(restore_modes.iter().map(|(p, m)| (p.as_str(), *m)));
    dirs.sort_by(|a, b| b.0.cmp(a.0));
    for (path, mode) in dirs {
        dir.set_permissions(path, Permissions::from_mode(mode))
            .map_err(|e| WorkspaceError::io("set permissions of", path, e))?;
    }
    Ok(())
}

fn ensure_parent(dir: &Dir, path: &str, restore: &mut Vec<(String, u32)>) -> WsResult<()> {
    match path.rsplit_once('/') {
        Some((parent, _)) => ensure_dir(dir, parent, restore),
        None => Ok(()),
    }
}

/// Makes every component of `path` a real directory the owner can write into: missing ones
/// are created, a file or symlink in the way is removed (never followed), and an existing
/// directory without owner write permission is opened up (its mode recorded in `restore`).
pub(crate) fn ensure_dir(dir: &Dir, path: &str, restore: &mut Vec<(String, u32)>) -> WsResult<()> {
    let mut prefix = String::new();
    for comp in path.split('/') {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(comp);
        match dir.symlink_metadata(&prefix) {
            Ok(m) if m.is_dir() => {
                let mode = m.permissions().mode() & 0o7777;
                if mode & 0o700 != 0o700 {
                    dir.set_permissions(&prefix, Permissions::from_mode(mode | 0o700))
                        .map_err(|e| WorkspaceError::io("set permissions of", prefix.clone(), e))?;
                    if !restore.iter().any(|(p, _)| p == &prefix) {
                        restore.push((prefix.clone(), mode));
                    }
                }
                continue;
            }
            Ok(_) => remove_entry(dir, &prefix)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(WorkspaceError::io("inspect", prefix, e)),
        }
        dir.create_dir(&prefix)
            .map_err(|e| WorkspaceError::io("create directory", prefix.clone(), e))?;
    }
    Ok(())
}

fn write_file(dir: &Dir, path: &str, mode: u32, source: &FileSource<'_>) -> WsResult<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    let mut file = dir
        .open_with(path, &opts)
        .map_err(|e| WorkspaceError::io("create", path, e))?;
    match source {
        FileSource::Bytes(bytes) => file
            .write_all(bytes)
            .map_err(|e| WorkspaceError::io("write", path, e))?,
        FileSource::Dir {
            dir: src,
            path: src_path,
            len,
        } => {
            let input = open_nofollow(src, src_path)
                .map_err(|e| WorkspaceError::io("read", *src_path, e))?;
            // One byte past the listed length tells a file that grew since it was listed.
            let copied = io::copy(&mut input.take(len.saturating_add(1)), &mut file)
                .map_err(|e| WorkspaceError::io("copy", path, e))?;
            if copied > *len {
                return Err(WorkspaceError::io(
                    "copy",
                    path,
                    io::Error::other(format!(
                        "the file grew past the {len} bytes it had when the import was checked"
                    )),
                ));
            }
        }
    }
    file.set_permissions(Permissions::from_mode(mode))
        .map_err(|e| WorkspaceError::io("set permissions of", path, e))?;
    Ok(())
}

/// Opens a regular file for reading, refusing a symlink in the last component.
pub(crate) fn open_nofollow(dir: &Dir, path: &str) -> io::Result<cap_std::fs::File> {
    use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt};
    let mut opts = OpenOptions::new();
    opts.read(true).follow(FollowSymlinks::No);
    dir.open_with(path, &opts)
}
