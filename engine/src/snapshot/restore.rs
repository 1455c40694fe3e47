//! Writing a snapshot into a workspace.
//!
//! [`Snapshot::restore_into`] is all or nothing: the snapshot is written into a staging
//! directory inside the workspace first, where any failure (a name the filesystem refuses, a
//! full disk) is found while the workspace still holds its old content. Only then are the old
//! top-level entries moved aside and the staged ones moved in, by renames within one
//! directory, which are undone if one fails.

use std::ffi::{OsStr, OsString};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use cap_fs_ext::DirExt;
use cap_std::fs::{Dir, Permissions, PermissionsExt};

use super::Snapshot;
use super::entry::EntryKind;
use super::error::SnapshotError;
use crate::workspace::remove::remove_dir_tree;
use crate::workspace::write::{FileSource, WriteNode, write_tree};
use crate::workspace::{Workspace, WorkspaceError};

impl Snapshot {
    /// Makes `ws` hold exactly this snapshot: files with their permission bits, empty
    /// directories, symlinks, directory modes; everything else in `ws` is removed (never
    /// following a symlink).
    ///
    /// All or nothing: the snapshot is first written into a staging directory inside `ws`
    /// (`.subrun-restore-*`), so a member the filesystem refuses or a full disk fails the
    /// restore while `ws` still holds exactly what it held before. Then the old top-level
    /// entries are moved aside and the staged ones moved in by renames, undone if one fails,
    /// and the old content is removed. The workspace needs room for both contents meanwhile.
    ///
    /// # Errors
    /// [`SnapshotError::Workspace`] naming the entry that could not be written, moved or
    /// removed. Unless the error is about removing the old content after the swap (the
    /// workspace then holds the snapshot and a leftover `.subrun-discard-*` directory), the
    /// workspace is unchanged.
    pub fn restore_into(&self, ws: &Workspace) -> Result<(), SnapshotError> {
        let root = ws.dir();
        let staging_name = self.fresh_name(root, "restore")?;
        root.create_dir(&staging_name)
            .map_err(|e| io_error("create directory", &staging_name, e))?;
        let staged = root
            .open_dir_nofollow(&staging_name)
            .map_err(|e| io_error("open directory", &staging_name, e))
            .and_then(|staging| {
                self.write_into(&staging, true)?;
                Ok(staging)
            });
        let staging = match staged {
            Ok(s) => s,
            Err(e) => {
                discard(root, &staging_name);
                return Err(e);
            }
        };
        let swapped = self.swap_in(root, &staging, &staging_name);
        drop(staging);
        if swapped.is_err() {
            discard(root, &staging_name);
        }
        swapped
    }

    /// Writes every member over the current content of `ws` without emptying it first:
    /// entries at the same paths are replaced (an existing symlink is replaced, never
    /// written through), other entries are kept.
    ///
    /// Unlike [`restore_into`](Self::restore_into) this writes in place: when the
    /// filesystem fails part way (a full disk), the members written so far stay written.
    ///
    /// # Errors
    /// [`SnapshotError::Workspace`] naming the entry that could not be written.
    pub fn extract_into(&self, ws: &Workspace) -> Result<(), SnapshotError> {
        self.write_into(ws.dir(), false)
    }

    /// Writes the members into `dir`. With `top_open`, top-level directories get owner
    /// `rwx` on top of their mode, so they can still be moved (their modes are set after).
    fn write_into(&self, dir: &Dir, top_open: bool) -> Result<(), SnapshotError> {
        let nodes: Vec<WriteNode<'_>> = self
            .entries
            .iter()
            .map(|e| match &e.kind {
                EntryKind::File { mode, content } => WriteNode::File {
                    path: &e.path,
                    mode: *mode,
                    source: FileSource::Bytes(content),
                },
                EntryKind::Directory { mode } => WriteNode::Dir {
                    path: &e.path,
                    mode: if top_open && !e.path.contains('/') {
                        mode | 0o700
                    } else {
                        *mode
                    },
                },
                EntryKind::Symlink { target } => WriteNode::Symlink {
                    path: &e.path,
                    target,
                },
            })
            .collect();
        write_tree(dir, &nodes)?;
        Ok(())
    }

    /// Moves the old top-level entries of `root` aside and the staged ones in, undoing the
    /// moves if one fails; then sets the top-level directory modes and removes the old
    /// content.
    fn swap_in(
        &self,
        root: &Dir,
        staging: &Dir,
        staging_name: &OsStr,
    ) -> Result<(), SnapshotError> {
        let trash_name = self.fresh_name(root, "discard")?;
        root.create_dir(&trash_name)
            .map_err(|e| io_error("create directory", &trash_name, e))?;
        let trash = match root.open_dir_nofollow(&trash_name) {
            Ok(t) => t,
            Err(e) => {
                discard(root, &trash_name);
                return Err(io_error("open directory", &trash_name, e));
            }
        };
        let old = match list_names(root) {
            Ok(names) => names
                .into_iter()
                .filter(|n| n != staging_name && *n != trash_name)
                .collect::<Vec<_>>(),
            Err(e) => {
                discard(root, &trash_name);
                return Err(io_error("read directory", OsStr::new("."), e));
            }
        };
        let mut aside = Moves::default();
        if let Err(e) = aside.move_all(root, &trash, &old) {
            aside.undo(&trash, root);
            discard(root, &trash_name);
            return Err(e);
        }
        let new = match list_names(staging) {
            Ok(names) => names,
            Err(e) => {
                aside.undo(&trash, root);
                discard(root, &trash_name);
                return Err(io_error("read directory", staging_name, e));
            }
        };
        let mut moved_in = Moves::default();
        if let Err(e) = moved_in.move_all(staging, root, &new) {
            moved_in.undo(root, staging);
            aside.undo(&trash, root);
            discard(root, &trash_name);
            return Err(e);
        }
        drop(trash);
        // From here on the workspace holds the snapshot.
        for entry in self.entries.iter().filter(|e| !e.path.contains('/')) {
            if let EntryKind::Directory { mode } = entry.kind {
                root.set_permissions(&entry.path, Permissions::from_mode(mode))
                    .map_err(|e| WorkspaceError::io("set permissions of", entry.path.clone(), e))?;
            }
        }
        root.remove_dir(staging_name)
            .map_err(|e| io_error("remove", staging_name, e))?;
        remove_dir_tree(root, &trash_name).map_err(|e| io_error("remove", &trash_name, e))?;
        Ok(())
    }
}

impl Snapshot {
    /// A top-level name in `root` that nothing uses and no member has:
    /// `.subrun-<what>-<pid>-<n>`.
    fn fresh_name(&self, root: &Dir, what: &str) -> Result<OsString, SnapshotError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        for _ in 0..1000 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let name = format!(".subrun-{what}-{}-{n}", std::process::id());
            if self.entry(&name).is_some() {
                continue;
            }
            match root.symlink_metadata(&name) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(name.into()),
                Err(e) => return Err(io_error("inspect", OsStr::new(&name), e)),
                Ok(_) => {}
            }
        }
        Err(io_error(
            "create a staging directory in",
            OsStr::new("."),
            io::Error::from(io::ErrorKind::AlreadyExists),
        ))
    }
}

/// Renames done so far (name, the directory's mode before it was opened up for the move).
#[derive(Default)]
struct Moves {
    done: Vec<(OsString, Option<u32>)>,
}

impl Moves {
    /// Moves each of `names` from `from` to `to` (same names).
    fn move_all(&mut self, from: &Dir, to: &Dir, names: &[OsString]) -> Result<(), SnapshotError> {
        for name in names {
            // Moving a directory to another parent rewrites its `..`: it needs owner write.
            let mode = from
                .symlink_metadata(name)
                .map_err(|e| io_error("inspect", name, e))?;
            let opened = if mode.is_dir() && mode.permissions().mode() & 0o700 != 0o700 {
                let m = mode.permissions().mode() & 0o7777;
                from.set_permissions(name, Permissions::from_mode(m | 0o700))
                    .map_err(|e| io_error("set permissions of", name, e))?;
                Some(m)
            } else {
                None
            };
            if let Err(e) = from.rename(name, to, name) {
                if let Some(m) = opened {
                    let _ = from.set_permissions(name, Permissions::from_mode(m));
                }
                return Err(io_error("move", name, e));
            }
            self.done.push((name.clone(), opened));
        }
        Ok(())
    }

    /// Moves everything back from `to` to `from`, restoring modes (best effort, logged).
    fn undo(&mut self, to: &Dir, from: &Dir) {
        for (name, mode) in self.done.drain(..).rev() {
            if let Err(e) = to.rename(&name, from, &name) {
                tracing::error!(name = %name.to_string_lossy(), error = %e, "cannot move an entry back while undoing a restore");
                continue;
            }
            if let Some(m) = mode {
                let _ = from.set_permissions(&name, Permissions::from_mode(m));
            }
        }
    }
}

fn list_names(dir: &Dir) -> io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in dir.entries()? {
        names.push(entry?.file_name());
    }
    Ok(names)
}

/// Removes a staging or trash directory after a failure (logged; the error being returned
/// matters more).
fn discard(root: &Dir, name: &OsStr) {
    if let Err(e) = remove_dir_tree(root, name) {
        tracing::warn!(name = %name.to_string_lossy(), error = %e, "cannot remove a restore's staging directory");
    }
}

fn io_error(op: &'static str, name: &OsStr, e: io::Error) -> SnapshotError {
    WorkspaceError::io(op, name.to_string_lossy().into_owned(), e).into()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::snapshot::entry::SnapshotEntry;
    use crate::spec::Compression;

    /// A snapshot whose listing holds `entries` as given (no archive behind it).
    fn snapshot_of(entries: Vec<SnapshotEntry>) -> Snapshot {
        Snapshot {
            archive: Bytes::new(),
            compression: Compression::None,
            checksum: String::new(),
            entries: entries.into(),
            skipped: Arc::new([]),
        }
    }

    fn file(path: &str, content: &'static [u8]) -> SnapshotEntry {
        SnapshotEntry {
            path: path.into(),
            kind: EntryKind::File {
                mode: 0o644,
                content: Bytes::from_static(content),
            },
        }
    }

    fn listing(ws: &Workspace) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<_> = walk(ws.path(), ws.path());
        out.sort();
        out
    }

    fn walk(root: &std::path::Path, dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                out.push((rel, b"<dir>".to_vec()));
                out.extend(walk(root, &p));
            } else {
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
        out
    }

    /// Regression: `restore_into` emptied the workspace first and then wrote the members, so
    /// a member the filesystem refuses (here a name longer than 255 bytes) lost everything
    /// the workspace held. The write now happens in a staging directory first.
    #[test]
    fn a_member_the_filesystem_refuses_leaves_the_workspace_as_it_was() {
        let ws = Workspace::create_temp().unwrap();
        ws.write_file("precious.txt", "keep me").unwrap();
        ws.write_file("dir/nested.txt", "me too").unwrap();
        let before = listing(&ws);
        let long = format!("ok/{}.txt", "n".repeat(300));
        let snap = snapshot_of(vec![
            SnapshotEntry {
                path: "ok".into(),
                kind: EntryKind::Directory { mode: 0o755 },
            },
            file(&long, b"x"),
            file("z.txt", b"z"),
        ]);
        let err = snap.restore_into(&ws).unwrap_err();
        assert!(err.to_string().contains("nnnn"), "{err}");
        assert_eq!(listing(&ws), before, "the workspace changed");
    }

    /// When one move fails part way, undoing puts back exactly what was moved.
    #[test]
    fn a_failed_move_is_undone() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Dir::open_ambient_dir(tmp.path(), cap_std::ambient_authority()).unwrap();
        root.create_dir("from").unwrap();
        root.create_dir("to").unwrap();
        let from = root.open_dir("from").unwrap();
        let to = root.open_dir("to").unwrap();
        from.write("a", b"a").unwrap();
        from.create_dir("b").unwrap();
        from.write("c", b"c").unwrap();
        // `c` cannot replace a non-empty directory in `to`.
        to.create_dir("c").unwrap();
        to.write("c/keep", b"k").unwrap();
        let names: Vec<OsString> = ["a", "b", "c"].into_iter().map(OsString::from).collect();
        let mut moves = Moves::default();
        let err = moves.move_all(&from, &to, &names).unwrap_err();
        assert!(err.to_string().contains("cannot move `c`"), "{err}");
        moves.undo(&to, &from);
        let mut back = list_names(&from).unwrap();
        back.sort();
        assert_eq!(back, names);
        assert_eq!(list_names(&to).unwrap(), [OsString::from("c")]);
    }

    #[test]
    fn a_restore_replaces_everything_and_leaves_no_staging_behind() {
        let ws = Workspace::create_temp().unwrap();
        ws.write_file("old.txt", "old").unwrap();
        ws.write_file("d/old.txt", "old").unwrap();
        let snap = snapshot_of(vec![
            SnapshotEntry {
                path: "d".into(),
                kind: EntryKind::Directory { mode: 0o555 },
            },
            file("d/new.txt", b"new"),
            file("top.txt", b"top"),
        ]);
        snap.restore_into(&ws).unwrap();
        assert_eq!(
            listing(&ws),
            [
                ("d".to_string(), b"<dir>".to_vec()),
                ("d/new.txt".to_string(), b"new".to_vec()),
                ("top.txt".to_string(), b"top".to_vec()),
            ]
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(ws.path().join("d"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o555);
    }
}
