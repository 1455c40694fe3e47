//! The workspace's `nosuid,nodev` self-bind (subrun as root), and taking it down.
//!
//! ```text
//!  spawn:   record {owner pid, start time, session, path} ─▶ mount --bind ws ws
//!           ─▶ remount MS_BIND|MS_REMOUNT|MS_NOSUID|MS_NODEV ─▶ create container (its bind of
//!           ws is cloned from this mount, so it is nosuid,nodev too)
//!  release: container removed ─▶ clear setuid/setgid bits under ws ─▶ umount(MNT_DETACH)
//!           ─▶ remove the record
//!  gc:      records whose owner is dead ─▶ release as above
//! ```
//!
//! While the container runs, a file a guest `chmod 4755`s in the workspace cannot run setuid
//! through the host path (the kernel refuses setuid on a `nosuid` mount) nor through the
//! container's bind. When the container is gone, every setuid/setgid bit the tree holds is
//! cleared before the mount goes, so nothing a guest wrote is ever executable-setuid on the
//! host, also after `subrun gc` cleaned up for a dead owner. Without root there is no bind (no
//! `CAP_SYS_ADMIN`): the container then runs as the workspace owner, so a setuid bit a guest
//! sets makes a file run as that same user, which gains nothing.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};
use subrun::ids::SessionId;
use subrun::process::ProcessId;

use crate::error::DockerError;
use crate::owner::{owner_of_record, owner_runs, record_name};

/// Where the records of live self-binds are kept (root only).
pub(crate) const RECORDS: &str = "/run/subrun/docker-binds";

/// The binds this process holds, by workspace, with how many runtimes use each: runtimes of
/// one session share a workspace, and binds stacked at one mount point could only be unmounted
/// from the top, so the first runtime mounts and the last one releases.
static LIVE: std::sync::Mutex<BTreeMap<PathBuf, (usize, Mounted)>> =
    std::sync::Mutex::new(BTreeMap::new());

/// A runtime's hold on the `nosuid,nodev` bind of its workspace onto itself; the last hold
/// dropped releases the bind.
#[derive(Debug)]
pub(crate) struct WorkspaceBind {
    path: PathBuf,
}

/// One bind mount and its record, released on drop.
#[derive(Debug)]
struct Mounted {
    path: PathBuf,
    record: PathBuf,
    /// The bind's mount id (`/proc/self/mountinfo` field 1), once known.
    mount_id: Option<u64>,
}

impl WorkspaceBind {
    /// Mounts `workspace` onto itself `nosuid,nodev` when this process is root (or holds the
    /// bind another runtime of this process made); `None` when not root. Ambient authority:
    /// mounts on the host.
    ///
    /// # Errors
    /// The record cannot be written or the kernel refused a mount.
    pub(crate) fn establish(
        workspace: &Path,
        session: &SessionId,
    ) -> Result<Option<Self>, DockerError> {
        if !rustix::process::geteuid().is_root() {
            return Ok(None);
        }
        let mut live = LIVE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((holds, _)) = live.get_mut(workspace) {
            *holds += 1;
        } else {
            let mounted = Mounted::mount(workspace, session)?;
            live.insert(workspace.to_path_buf(), (1, mounted));
        }
        Ok(Some(Self {
            path: workspace.to_path_buf(),
        }))
    }

    /// Gives up this hold without releasing the bind, even when it is the last one: the
    /// container may still run (kept after cleanup, or its removal failed), so the workspace
    /// stays `nosuid,nodev` until `subrun gc` finds this process dead and releases the bind
    /// from its record.
    pub(crate) fn keep_for_gc(self) {
        let mut live = LIVE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let last = live.get_mut(&self.path).is_some_and(|(holds, _)| {
            *holds -= 1;
            *holds == 0
        });
        if last && let Some((_, mounted)) = live.remove(&self.path) {
            tracing::info!(workspace = %self.path.display(), "keeping the workspace's nosuid bind while the container may run; subrun gc releases it");
            std::mem::forget(mounted);
        }
        drop(live);
        // The hold was given up above; the destructor must not give it up twice.
        std::mem::forget(self);
    }

    #[cfg(test)]
    fn record(&self) -> Option<PathBuf> {
        let live = LIVE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        live.get(&self.path).map(|(_, m)| m.record.clone())
    }
}

impl Drop for WorkspaceBind {
    fn drop(&mut self) {
        let mut live = LIVE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let last = live.get_mut(&self.path).is_some_and(|(holds, _)| {
            *holds -= 1;
            *holds == 0
        });
        if last {
            // Released under the lock: a runtime spawning on this workspace meanwhile waits
            // and then mounts afresh.
            drop(live.remove(&self.path));
        }
    }
}

impl Mounted {
    fn mount(workspace: &Path, session: &SessionId) -> Result<Self, DockerError> {
        let fail = |operation: &'static str, source: std::io::Error| DockerError::Bind {
            path: workspace.to_path_buf(),
            operation,
            source,
        };
        let owner = ProcessId::current().map_err(|e| fail("identify this process", e))?;
        let record = write_record(owner, session, workspace)
            .map_err(|e| fail("record the bind mount", e))?;
        let mut bind = Mounted {
            path: workspace.to_path_buf(),
            record,
            mount_id: None,
        };
        // From here on, dropping `bind` undoes whatever was done.
        mount(workspace, libc::MS_BIND).map_err(|e| fail("bind-mount it onto itself", e))?;
        mount(
            workspace,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_NOSUID | libc::MS_NODEV,
        )
        .map_err(|e| fail("remount it nosuid,nodev", e))?;
        bind.mount_id = topmost_mount(workspace).map(|m| m.id);
        if let Some(id) = bind.mount_id {
            let mut text = record_text(session, workspace);
            text.extend_from_slice(format!("\n{id}").as_bytes());
            std::fs::write(&bind.record, text).map_err(|e| fail("record the bind mount", e))?;
        }
        tracing::debug!(workspace = %workspace.display(), "workspace bound onto itself nosuid,nodev");
        Ok(bind)
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        release(&self.path, &self.record, self.mount_id);
    }
}

/// Clears setuid/setgid bits under `path`, unmounts the self-bind there (if it is still the
/// topmost mount there: mount id `id`, or, when the id was never recorded, a bind of that same
/// directory) and removes the record.
fn release(path: &Path, record: &Path, id: Option<u64>) {
    let cleared = clear_setid_bits(path);
    if cleared > 0 {
        tracing::info!(workspace = %path.display(), cleared, "cleared setuid/setgid bits a command left in the workspace");
    }
    let ours = topmost_mount(path).is_some_and(|m| match id {
        Some(id) => m.id == id,
        None => m.root != b"/" && path.as_os_str().as_bytes().ends_with(&m.root),
    });
    if ours && let Err(e) = unmount(path) {
        tracing::warn!(error = %e, workspace = %path.display(), "cannot unmount the workspace's nosuid bind");
    }
    if let Err(e) = std::fs::remove_file(record)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(error = %e, record = %record.display(), "cannot remove the bind record");
    }
}

/// Releases the self-binds whose owner is dead (for `subrun gc`), only `session`'s when
/// given; returns their workspaces.
pub(crate) fn release_stale(session: Option<&SessionId>) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(RECORDS) else {
        return Vec::new();
    };
    let mut released = Vec::new();
    for entry in entries.flatten() {
        let record = entry.path();
        let Some(owner) = entry.file_name().to_str().and_then(owner_of_record) else {
            continue;
        };
        if owner_runs(owner) {
            continue;
        }
        let Ok(text) = std::fs::read(&record) else {
            continue;
        };
        let Some((sess, path, id)) = parse_record(&text) else {
            continue;
        };
        if session.is_some_and(|s| s.to_string() != sess) {
            continue;
        }
        release(&path, &record, id);
        tracing::info!(workspace = %path.display(), owner = owner.pid, "released the nosuid bind of a dead owner");
        released.push(path);
    }
    released
}

fn write_record(
    owner: ProcessId,
    session: &SessionId,
    workspace: &Path,
) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(RECORDS)?;
    let text = record_text(session, workspace);
    for _ in 0..100 {
        let record = Path::new(RECORDS).join(record_name(owner, rand_suffix()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&record)
        {
            Ok(mut f) => {
                std::io::Write::write_all(&mut f, &text)?;
                return Ok(record);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free record name"))
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// `session\npath`, then `\nmount id` once the bind exists. Workspace paths hold no newline
/// (the engine makes them); the path is raw bytes.
fn record_text(session: &SessionId, workspace: &Path) -> Vec<u8> {
    let mut text = format!("{session}\n").into_bytes();
    text.extend_from_slice(workspace.as_os_str().as_bytes());
    text
}

fn parse_record(text: &[u8]) -> Option<(String, PathBuf, Option<u64>)> {
    let mut lines = text.split(|b| *b == b'\n');
    let session = std::str::from_utf8(lines.next()?).ok()?.to_string();
    let path = PathBuf::from(std::ffi::OsStr::from_bytes(lines.next()?));
    let id = lines
        .next()
        .and_then(|l| std::str::from_utf8(l).ok()?.trim().parse().ok());
    path.is_absolute().then_some((session, path, id))
}

fn c_path(path: &Path) -> std::io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)
}

/// `mount(path, path, NULL, flags, NULL)`.
fn mount(path: &Path, flags: libc::c_ulong) -> std::io::Result<()> {
    let p = c_path(path)?;
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call; the type and
    // data arguments may be NULL for bind mounts and remounts.
    let rc = unsafe {
        libc::mount(
            p.as_ptr(),
            p.as_ptr(),
            std::ptr::null(),
            flags,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW)`.
fn unmount(path: &Path) -> std::io::Result<()> {
    let p = c_path(path)?;
    // SAFETY: `p` is a valid NUL-terminated string that outlives the call.
    let rc = unsafe { libc::umount2(p.as_ptr(), libc::MNT_DETACH | libc::UMOUNT_NOFOLLOW) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// One line of `/proc/self/mountinfo`: the mount id and the mounted directory of its
/// filesystem (`root`).
pub(crate) struct MountEntry {
    pub(crate) id: u64,
    pub(crate) root: Vec<u8>,
}

/// The topmost mount of this process's namespace at `path` (mountinfo lists mounts in the
/// order they were made, so the last line for a mount point is the one on top).
pub(crate) fn topmost_mount(path: &Path) -> Option<MountEntry> {
    let info = std::fs::read("/proc/self/mountinfo").ok()?;
    let want = path.as_os_str().as_bytes();
    info.rsplit(|b| *b == b'\n').find_map(|line| {
        let fields: Vec<&[u8]> = line.split(|b| *b == b' ').collect();
        if fields.len() <= 4 || unescape(fields[4]) != want {
            return None;
        }
        Some(MountEntry {
            id: std::str::from_utf8(fields[0]).ok()?.parse().ok()?,
            root: unescape(fields[3]),
        })
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\'
            && field
                .get(i + 1..i + 4)
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
        {
            let d = &field[i + 1..i + 4];
            out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
            i += 4;
        } else {
            out.push(field[i]);
            i += 1;
        }
    }
    out
}

/// Clears the setuid and setgid bits of every regular file under `root`, reaching each
/// through directory descriptors (no symlink followed, no path resolved again); returns how
/// many files it changed.
pub(crate) fn clear_setid_bits(root: &Path) -> usize {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let Ok(fd) = rustix::fs::open(root, flags, Mode::empty()) else {
        return 0;
    };
    let Ok(dir) = Dir::new(fd) else {
        return 0;
    };
    let mut cleared = 0;
    let mut stack = vec![dir];
    loop {
        let depth = stack.len();
        let Some(dir) = stack.last_mut() else {
            return cleared;
        };
        let entry = match dir.read() {
            Some(Ok(entry)) => entry,
            None | Some(Err(_)) => {
                stack.pop();
                continue;
            }
        };
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let Ok(parent) = dir.fd() else {
            stack.pop();
            continue;
        };
        let Ok(st) = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory if depth < 4096 => {
                if let Ok(child) = rustix::fs::openat(parent, name, flags, Mode::empty())
                    && let Ok(child) = Dir::new(child)
                {
                    stack.push(child);
                }
            }
            FileType::RegularFile if st.st_mode & 0o6000 != 0 => {
                let path_flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                if let Ok(file) = rustix::fs::openat(parent, name, path_flags, Mode::empty())
                    && chmod_handle(file.as_fd(), st.st_mode & 0o1777).is_ok()
                {
                    cleared += 1;
                }
            }
            _ => {}
        }
    }
}

/// `chmod` of the inode an `O_PATH` handle holds (through `/proc/self/fd`).
fn chmod_handle(file: BorrowedFd<'_>, mode: u32) -> rustix::io::Result<()> {
    let link = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::chmod(link.as_str(), Mode::from_raw_mode(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_mountinfo_fields_unescape() {
        let (s, p, id) = parse_record(b"sess-1\n/tmp/a b/ws").unwrap();
        assert_eq!(s, "sess-1");
        assert_eq!(p, Path::new("/tmp/a b/ws"));
        assert_eq!(id, None);
        let (_, _, id) = parse_record(b"sess-1\n/tmp/ws\n812").unwrap();
        assert_eq!(id, Some(812));
        assert!(parse_record(b"sess\nrelative").is_none());
        assert_eq!(unescape(br"/tmp/a\040b"), b"/tmp/a b");
        assert_eq!(unescape(br"/x\134y"), br"/x\y");
    }

    /// Regression: the release looked for a mount whose filesystem root equalled its mount
    /// point, which holds only on a filesystem mounted at `/`: with /tmp a tmpfs, the bind
    /// outlived the runtime (and the workspace could not be removed).
    #[test]
    fn a_bind_inside_another_mount_is_released() {
        let outer = tempfile::tempdir().unwrap();
        let session = SessionId::generate();
        if !rustix::process::geteuid().is_root() {
            assert!(
                WorkspaceBind::establish(outer.path(), &session)
                    .unwrap()
                    .is_none()
            );
            return;
        }
        let dir = c_path(outer.path()).unwrap();
        // SAFETY: valid NUL-terminated strings; no data argument.
        let rc = unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                dir.as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        let ws = outer.path().join("ws");
        std::fs::create_dir(&ws).unwrap();
        let bind = WorkspaceBind::establish(&ws, &session).unwrap().unwrap();
        let flags = rustix::fs::statvfs(&ws).unwrap().f_flag;
        assert!(
            flags.contains(rustix::fs::StatVfsMountFlags::NOSUID),
            "{flags:?}"
        );
        assert!(topmost_mount(&ws).is_some());
        let record = bind.record().unwrap();
        drop(bind);
        assert!(
            topmost_mount(&ws).is_none(),
            "the bind outlived its release"
        );
        assert!(!record.exists());
        unmount(outer.path()).unwrap();
    }

    /// Regression: two runtimes of one session stacked two binds on its workspace; the first
    /// released could not unmount its own (not on top), so the workspace stayed a mount point
    /// and closing the session failed with EBUSY. The binds are now shared, the last release
    /// unmounts.
    #[test]
    fn runtimes_sharing_a_workspace_share_its_bind() {
        let ws = tempfile::tempdir().unwrap();
        let session = SessionId::generate();
        let Some(first) = WorkspaceBind::establish(ws.path(), &session).unwrap() else {
            assert!(!rustix::process::geteuid().is_root());
            return;
        };
        let second = WorkspaceBind::establish(ws.path(), &session)
            .unwrap()
            .unwrap();
        drop(first);
        let flags = rustix::fs::statvfs(ws.path()).unwrap().f_flag;
        assert!(
            flags.contains(rustix::fs::StatVfsMountFlags::NOSUID),
            "{flags:?}"
        );
        drop(second);
        assert!(
            topmost_mount(ws.path()).is_none(),
            "a bind outlived the runtimes"
        );
    }

    #[test]
    fn setid_bits_are_cleared_without_following_symlinks() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777;
        std::fs::create_dir(dir.path().join("d")).unwrap();
        for (p, m) in [
            (dir.path().join("s"), 0o4755),
            (dir.path().join("d/g"), 0o2711),
            (outside.path().join("host"), 0o4755),
        ] {
            std::fs::write(&p, b"x").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m)).unwrap();
        }
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        assert_eq!(clear_setid_bits(dir.path()), 2);
        assert_eq!(mode(&dir.path().join("s")), 0o755);
        assert_eq!(mode(&dir.path().join("d/g")), 0o711);
        assert_eq!(
            mode(&outside.path().join("host")),
            0o4755,
            "followed a symlink"
        );
    }
}
