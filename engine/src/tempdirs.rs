//! Private temporary directories for what a run writes: workspaces and static roots.
//!
//! Each directory subrun creates for a run lives inside a parent of its own, mode `0700` and
//! owned by subrun's user, named after the process that created it:
//!
//! ```text
//! $TMPDIR/subrun-<kind>-<pid>-<start>-<random>/    0700, subrun's user
//!     <kind>/                                       what runtimes mount or preopen
//! ```
//!
//! - No other host user can reach a file a guest wrote (a setuid binary, a world-readable
//!   secret), whatever its own mode: the kernel refuses the search of the parent. A container
//!   reaches the inner directory through its bind mount, which does not search the parent.
//! - `<pid>-<start>` (the process id and its start time in clock ticks since boot, from
//!   `/proc/self/stat`) names the owner unambiguously even after pid reuse, so
//!   [`remove_dead`] (what `subrun gc` calls) removes the leftovers of a dead owner, such as a
//!   CLI killed with `SIGKILL`, and never those of a live one.

use std::ffi::OsStr;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use cap_std::fs::Dir;

use cap_fs_ext::DirExt as _;

use crate::process::ProcessId;
use crate::workspace::remove::clear_dir;

/// The prefix of every private parent.
pub const PREFIX: &str = "subrun-";

/// A private parent and the directory inside it; both are removed on drop (see
/// [`PrivateDir::close`]).
#[derive(Debug)]
pub struct PrivateDir {
    parent: Option<PathBuf>,
    inner: PathBuf,
}

impl PrivateDir {
    /// Creates `$TMPDIR/subrun-<kind>-<pid>-<start>-<random>/<kind>`, the parent with mode
    /// `0700`, the inner directory with mode `0755` (a container user it is handed to can use
    /// it; nobody else can reach it).
    ///
    /// # Errors
    /// The temporary directory cannot be written.
    ///
    /// # Panics
    /// When `kind` is not a plain name (a programming error).
    pub fn create(kind: &str) -> io::Result<Self> {
        assert!(
            !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_alphanumeric()),
            "kind must be alphanumeric: {kind:?}"
        );
        let owner = ProcessId::current()?;
        let parent = tempfile::Builder::new()
            .prefix(&format!("{PREFIX}{kind}-{}-{}-", owner.pid, owner.start))
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()?
            .keep();
        let inner = parent.join(kind);
        if let Err(e) = std::fs::DirBuilder::new().mode(0o755).create(&inner) {
            let _ = std::fs::remove_dir(&parent);
            return Err(e);
        }
        let parent = parent.canonicalize().unwrap_or(parent);
        Ok(Self {
            inner: parent.join(kind),
            parent: Some(parent),
        })
    }

    /// The inner directory: what a runtime mounts or preopens.
    pub fn path(&self) -> &Path {
        &self.inner
    }

    /// The private parent.
    pub fn parent(&self) -> &Path {
        self.parent.as_deref().unwrap_or(&self.inner)
    }

    /// Removes the parent and everything under it now (whatever a guest left: read-only
    /// directories, trees of any depth; never following a symlink), reporting a failure.
    ///
    /// # Errors
    /// An entry cannot be removed.
    pub fn close(mut self) -> io::Result<()> {
        match self.parent.take() {
            Some(parent) => remove_private(&parent),
            None => Ok(()),
        }
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if let Some(parent) = self.parent.take()
            && let Err(e) = remove_private(&parent)
        {
            tracing::warn!(path = %parent.display(), error = %e, "cannot remove a temporary directory");
        }
    }
}

/// Removes a private parent with everything under it: emptied from inside (a subtree too deep
/// to hold open is moved up into the parent itself, never beside it into the temporary
/// directory), then removed.
fn remove_private(parent: &Path) -> io::Result<()> {
    let (Some(up), Some(name)) = (parent.parent(), parent.file_name()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a private directory: {}", parent.display()),
        ));
    };
    let up = Dir::open_ambient_dir(up, cap_std::ambient_authority())?;
    let private = match up.open_dir_nofollow(name) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    clear_dir(&private).map_err(io::Error::other)?;
    drop(private);
    match up.remove_dir(name) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// `<kind>-<pid>-<start>-<random>` after the prefix: the process that made a private parent.
fn owner_of(name: &str) -> Option<ProcessId> {
    let mut parts = name.strip_prefix(PREFIX)?.split('-');
    let (_kind, pid, start) = (parts.next()?, parts.next()?, parts.next()?);
    parts.next()?;
    Some(ProcessId {
        pid: pid.parse().ok()?,
        start: start.parse().ok()?,
    })
}

/// Unreadable /proc counts as alive: never remove what may still be in use.
fn still_runs(owner: ProcessId) -> bool {
    owner.is_alive().unwrap_or(true)
}

/// A private parent left behind by a process that no longer runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaleDir {
    /// The parent removed (or that could not be).
    pub path: PathBuf,
    /// The process that created it.
    pub pid: u32,
}

/// Removes, under `root` (the temporary directory when `None`), every private parent of this
/// user whose owner no longer runs, and returns them with what failed. Parents of live
/// processes, other users' parents (even for root) and entries that are not private parents
/// are left alone.
///
/// The owner is named by pid and start time as this process sees them: a run in another pid
/// or time namespace sharing the temporary directory looks dead from here, so collect from
/// the namespace the runs use.
///
/// # Errors
/// `root` cannot be listed.
pub fn remove_dead(root: Option<&Path>) -> io::Result<Vec<(StaleDir, io::Result<()>)>> {
    let root = root.map_or_else(std::env::temp_dir, Path::to_path_buf);
    let me = rustix::process::geteuid().as_raw();
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&root)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(owner_of) else {
            continue;
        };
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        // Only this user's own parents: another user's (root's gc included) are theirs to
        // collect, and the tree of one they can still change is no place to work as root.
        let private = meta.is_dir() && meta.mode() & 0o7777 == 0o700;
        if !private || meta.uid() != me || still_runs(owner) {
            continue;
        }
        tracing::debug!(path = %path.display(), pid = owner.pid, "removing a dead owner's directory");
        let result = remove_private(&path);
        out.push((
            StaleDir {
                path,
                pid: owner.pid,
            },
            result,
        ));
    }
    Ok(out)
}

/// True when `name` is a private parent's name (`subrun-<kind>-<pid>-<start>-<random>`).
pub fn is_private_name(name: &OsStr) -> bool {
    name.to_str().and_then(owner_of).is_some()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_parent_is_private_and_removed_with_what_a_guest_left() {
        let dir = PrivateDir::create("ws").unwrap();
        let parent = dir.parent().to_path_buf();
        assert_eq!(
            std::fs::metadata(&parent).unwrap().permissions().mode() & 0o7777,
            0o700
        );
        assert!(dir.path().starts_with(&parent));
        let name = parent.file_name().unwrap();
        assert!(is_private_name(name), "{name:?}");
        let owner = owner_of(name.to_str().unwrap()).unwrap();
        assert_eq!(owner, ProcessId::current().unwrap());
        assert!(still_runs(owner));
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::write(locked.join("f"), b"x").unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
        dir.close().unwrap();
        assert!(!parent.exists());
    }

    #[test]
    fn remove_dead_takes_only_dead_owners_directories() {
        let root = tempfile::tempdir().unwrap();
        let mk = |name: &str, mode: u32| {
            let p = root.path().join(name);
            std::fs::create_dir_all(p.join("ws/deep")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            p
        };
        let me = ProcessId::current().unwrap();
        // A pid above the kernel's maximum never runs.
        let dead = mk("subrun-ws-4194999-1-abc", 0o700);
        let reused = mk(&format!("subrun-ws-{}-{}-abc", me.pid, me.start + 1), 0o700);
        let live = mk(&format!("subrun-ws-{}-{}-abc", me.pid, me.start), 0o700);
        let not_private = mk("subrun-ws-4194999-1-def", 0o755);
        let other = mk("subrun-ws-abc", 0o700);
        // Another user's dead parent is theirs to collect, even for root (review finding: as
        // root, gc worked inside trees their owner could still swap).
        let foreign = mk("subrun-ws-4194998-1-oth", 0o700);
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(&foreign, Some(65534), Some(65534)).unwrap();
        }
        let removed = remove_dead(Some(root.path())).unwrap();
        let mut paths: Vec<_> = removed
            .iter()
            .map(|(l, r)| {
                assert!(r.is_ok(), "{r:?}");
                l.path.clone()
            })
            .collect();
        paths.sort();
        let mut want = vec![dead.clone(), reused.clone()];
        want.sort();
        assert_eq!(paths, want);
        assert!(!dead.exists() && !reused.exists());
        assert!(live.exists() && not_private.exists() && other.exists());
        if rustix::process::geteuid().is_root() {
            assert!(foreign.exists(), "another user's parent was removed");
        }
    }

    /// A tree deeper than a removal holds open is emptied from inside the private parent:
    /// nothing of it is ever moved beside the parent (review finding: subtrees were moved up
    /// into the temporary directory itself while the parent was removed).
    #[test]
    fn a_deep_tree_is_removed_without_leaving_the_private_parent() {
        let dir = PrivateDir::create("ws").unwrap();
        let parent = dir.parent().to_path_buf();
        let mut deep = dir.path().to_path_buf();
        for i in 0..40 {
            deep.push(format!("d{i}"));
        }
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("secret"), b"x").unwrap();
        std::fs::set_permissions(&deep, std::fs::Permissions::from_mode(0o000)).unwrap();
        let up = parent.parent().unwrap().to_path_buf();
        let spilled = |up: &Path| -> Vec<String> {
            std::fs::read_dir(up)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&format!(".subrun-rm-{}-", std::process::id())))
                .collect()
        };
        let before = spilled(&up);
        // Removal in steps is what spills: check between them by removing through the same
        // code path the parent uses, on the inner tree only.
        let private = Dir::open_ambient_dir(&parent, cap_std::ambient_authority()).unwrap();
        clear_dir(&private).unwrap();
        assert_eq!(
            spilled(&up),
            before,
            "a subtree was moved beside the private parent"
        );
        assert!(std::fs::read_dir(&parent).unwrap().next().is_none());
        dir.close().unwrap();
        assert!(!parent.exists());
    }
}
