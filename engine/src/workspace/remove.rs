//! Removing entries, including read-only directories and trees of any depth that a guest or
//! a snapshot left behind.
//!
//! `std::fs::remove_dir_all` and cap-std's `remove_dir_all` recurse once per directory level:
//! a guest that nests directories 20,000 levels deep (it only needs a directory handle to
//! create the next level) overflows the host's stack, which aborts the whole process. The
//! removal here is a loop over an explicit stack that holds at most [`OPEN_LEVELS`] directory
//! handles; a subtree deeper than that is renamed up next to the tree being removed and
//! removed in turn, so depth costs neither stack nor file descriptors.

use std::ffi::{OsStr, OsString};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use cap_fs_ext::DirExt;
use cap_std::fs::{Dir, PermissionsExt};

use super::error::{WorkspaceError, WsResult};

/// Directory handles one removal holds open at once.
const OPEN_LEVELS: usize = 16;

/// Gives the owner read, write and search permission on the directory `name` in `parent`
/// (so it can be listed, emptied and moved), never through a symlink and never on anything but
/// that directory: it is opened `O_PATH|O_NOFOLLOW|O_DIRECTORY` and changed through that handle
/// (`/proc/self/fd`), so a name swapped meanwhile for a symlink or a hard link to a file is
/// refused, and setuid, setgid and sticky bits are dropped, not re-applied.
fn open_up(parent: &Dir, name: &OsStr) -> io::Result<()> {
    use rustix::fs::{Mode, OFlags};
    use std::os::fd::{AsFd as _, AsRawFd as _};
    let meta = parent.symlink_metadata(name)?;
    if !meta.is_dir() || meta.permissions().mode() & 0o700 == 0o700 {
        return Ok(());
    }
    let handle = match rustix::fs::openat(
        parent.as_fd(),
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        // Gone or no longer a directory: the removal that follows reports what it finds.
        Err(_) => return Ok(()),
    };
    let mode = rustix::fs::fstat(&handle)?.st_mode & 0o777;
    let link = format!("/proc/self/fd/{}", handle.as_raw_fd());
    rustix::fs::chmod(link.as_str(), Mode::from_raw_mode(mode | 0o700))?;
    Ok(())
}

/// One open directory of a removal: its handle, its name in the level above and the entries
/// still to remove (name, is a directory).
struct Level {
    dir: Dir,
    name: OsString,
    entries: Vec<(OsString, bool)>,
}

fn open_level(parent: &Dir, name: &OsStr) -> io::Result<Level> {
    open_up(parent, name)?;
    let dir = parent.open_dir_nofollow(name)?;
    let mut entries = Vec::new();
    for entry in dir.entries()? {
        let entry = entry?;
        entries.push((entry.file_name(), entry.file_type()?.is_dir()));
    }
    Ok(Level {
        dir,
        name: name.to_owned(),
        entries,
    })
}

/// A name in `parent` that nothing uses, for a subtree moved up.
fn fresh_name(parent: &Dir) -> io::Result<OsString> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    for _ in 0..1000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = OsString::from(format!(".subrun-rm-{}-{n}", std::process::id()));
        match parent.symlink_metadata(&name) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(name),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free name to move a deep subtree up",
    ))
}

fn ignore_missing(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Removes the directory `name` in `parent` with everything under it, whatever its depth,
/// never following a symlink.
pub(crate) fn remove_dir_tree(parent: &Dir, name: &OsStr) -> io::Result<()> {
    let mut pending = vec![name.to_owned()];
    while let Some(top) = pending.pop() {
        let mut stack = vec![open_level(parent, &top)?];
        loop {
            let depth = stack.len();
            let Some(level) = stack.last_mut() else { break };
            match level.entries.pop() {
                Some((child, false)) => ignore_missing(level.dir.remove_file_or_symlink(&child))?,
                Some((child, true)) if depth < OPEN_LEVELS => {
                    let next = open_level(&level.dir, &child)?;
                    stack.push(next);
                }
                Some((child, true)) => {
                    // Too deep to hold open: move the subtree up and remove it later.
                    open_up(&level.dir, &child)?;
                    let moved = fresh_name(parent)?;
                    level.dir.rename(&child, parent, &moved)?;
                    pending.push(moved);
                }
                None => {
                    let done = stack.pop().expect("the loop holds a level");
                    drop(done.dir);
                    let holder = stack.last().map_or(parent, |l| &l.dir);
                    ignore_missing(holder.remove_dir(&done.name))?;
                }
            }
        }
    }
    Ok(())
}

/// Removes whatever is at `path` (file, symlink, or directory tree), never following a
/// symlink in its last component. A missing entry is not an error.
pub(crate) fn remove_entry(dir: &Dir, path: &str) -> WsResult<()> {
    let meta = match dir.symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(WorkspaceError::io("inspect", path, e)),
    };
    let result = if meta.is_dir() {
        match path.rsplit_once('/') {
            None => remove_dir_tree(dir, OsStr::new(path)),
            Some((parent, name)) => dir
                .open_dir(parent)
                .and_then(|p| remove_dir_tree(&p, OsStr::new(name))),
        }
    } else {
        dir.remove_file_or_symlink(path)
    };
    result.map_err(|e| WorkspaceError::io("remove", path, e))
}

/// Removes every entry of the directory `dir` (names that are not UTF-8 too), leaving it
/// empty.
pub(crate) fn clear_dir(dir: &Dir) -> WsResult<()> {
    let mut names = Vec::new();
    for entry in dir
        .entries()
        .map_err(|e| WorkspaceError::io("read directory", ".", e))?
    {
        let entry = entry.map_err(|e| WorkspaceError::io("read directory", ".", e))?;
        names.push(entry.file_name());
    }
    for name in names {
        let shown = name.to_string_lossy().into_owned();
        let result = match dir.symlink_metadata(&name) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
            Ok(m) if m.is_dir() => remove_dir_tree(dir, &name),
            Ok(_) => ignore_missing(dir.remove_file_or_symlink(&name)),
        };
        result.map_err(|e| WorkspaceError::io("remove", shown, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cap_std::fs::Permissions;

    /// A chain of `depth` directories named `d` under `root`, with a file at the bottom.
    fn chain(root: &Dir, depth: usize) {
        let mut d = root.try_clone().unwrap();
        for _ in 0..depth {
            d.create_dir("d").unwrap();
            d = d.open_dir("d").unwrap();
        }
        d.write("leaf", b"x").unwrap();
        d.set_permissions(".", Permissions::from_mode(0o500))
            .unwrap();
    }

    /// Regression: `std::fs::remove_dir_all` and cap-std's recursive removal overflowed the
    /// stack (aborting the host process) on a directory chain a guest nested thousands of
    /// levels deep. Run on a small stack so a recursive removal would fail here too.
    #[test]
    fn a_directory_chain_thousands_of_levels_deep_is_removed_without_recursion() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Dir::open_ambient_dir(tmp.path(), cap_std::ambient_authority()).unwrap();
        chain(&root, 5000);
        root.write("keep", b"k").unwrap();
        let worker = std::thread::Builder::new()
            .stack_size(64 << 10)
            .spawn(move || {
                remove_entry(&root, "d").unwrap();
                root
            })
            .unwrap();
        let root = worker.join().expect("removal overflowed a 64 KiB stack");
        let left: Vec<_> = root
            .entries()
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            left,
            [OsString::from("keep")],
            "the chain or a moved-up part is left"
        );
    }

    #[test]
    fn clear_removes_names_that_are_not_utf8_and_read_only_trees() {
        use std::os::unix::ffi::OsStrExt;
        let tmp = tempfile::tempdir().unwrap();
        let root = Dir::open_ambient_dir(tmp.path(), cap_std::ambient_authority()).unwrap();
        let odd = OsStr::from_bytes(b"bad-\xff");
        root.create_dir(odd).unwrap();
        root.write("bad-\u{fffd}.txt", b"x").unwrap();
        chain(&root, 40);
        clear_dir(&root).unwrap();
        assert_eq!(root.entries().unwrap().count(), 0);
    }
}
