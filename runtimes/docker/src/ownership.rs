//! Who commands run as, and making sure that user can write the workspace.
//!
//! - subrun not root: the default is the uid:gid that owns the workspace directory (the
//!   command writes files the host user owns, and can write everything the host put there);
//!   a `docker.user` other than the owner is refused, since the container runs with no
//!   capabilities and could not write the workspace.
//! - subrun as root: the default is [`UNPRIVILEGED`] (65534:65534, `nobody`), never root; the
//!   workspace is handed to the container user (`chown -R`, no symlink followed) whenever it
//!   belongs to someone else. Root in the container only when the spec asks for it
//!   (`docker.user: "0"`).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use subrun::RuntimeError;

use crate::config::{DockerConfig, UserId};
use crate::error::DockerError;

/// The user commands run as by default when subrun runs as root: `nobody`.
pub const UNPRIVILEGED: UserId = UserId {
    uid: 65534,
    gid: 65534,
};

/// The user the container runs as: `None` keeps the image's own user (subrun not root, no
/// workspace mounted and no `docker.user`).
///
/// May change the ownership of the workspace (when running as root); see the module docs.
///
/// # Errors
/// The workspace cannot be read or handed over, or belongs to someone else without root.
pub(crate) fn container_user(
    config: &DockerConfig,
    workspace: &Path,
) -> Result<Option<UserId>, RuntimeError> {
    let requested = config.user_id().map_err(|m| {
        RuntimeError::Spec(subrun::SpecError::new("docker runtime", "docker.user", m))
    })?;
    let root = rustix::process::geteuid().is_root();
    if !config.mount_workspace {
        return Ok(requested.or(root.then_some(UNPRIVILEGED)));
    }
    let meta = std::fs::metadata(workspace).map_err(|source| {
        DockerError::MountSource {
            key: "workspace".into(),
            path: workspace.to_path_buf(),
            source,
        }
        .during("prepare the workspace mount")
    })?;
    let owner = UserId {
        uid: meta.uid(),
        gid: meta.gid(),
    };
    let user = match requested {
        Some(user) => user,
        None if root => UNPRIVILEGED,
        None => return Ok(Some(owner)),
    };
    if user.uid == owner.uid && user.gid == owner.gid {
        return Ok(Some(user));
    }
    if root {
        tracing::debug!(workspace = %workspace.display(), user = %user.spec(), "handing the workspace to the container user");
        chown_tree(workspace, user)
            .map_err(|e| e.during("hand the workspace to the container user"))?;
        Ok(Some(user))
    } else if user.uid == owner.uid {
        Ok(Some(user))
    } else {
        Err(DockerError::WorkspaceOwner {
            user: user.spec(),
            workspace: workspace.to_path_buf(),
            owner: owner.uid,
        }
        .during("prepare the workspace mount"))
    }
}

/// `chown -R` without following symlinks, through directory descriptors: every entry is
/// reached relative to its directory's descriptor (`fchownat` with `AT_SYMLINK_NOFOLLOW`,
/// `openat` with `O_NOFOLLOW`), so a guest of another runtime on this workspace that swaps a
/// directory for a symlink while this runs cannot make it change a host file.
fn chown_tree(root: &Path, user: UserId) -> Result<(), DockerError> {
    use rustix::fs::{AtFlags, Dir, FileType, Gid, Mode, OFlags, Uid};
    use rustix::io::Errno;
    use std::os::unix::ffi::OsStrExt as _;
    let err = |path: &Path, source: Errno| DockerError::Chown {
        path: path.to_path_buf(),
        user: user.spec(),
        source: source.into(),
    };
    let (uid, gid) = (Some(Uid::from_raw(user.uid)), Some(Gid::from_raw(user.gid)));
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = rustix::fs::open(root, flags, Mode::empty()).map_err(|e| err(root, e))?;
    rustix::fs::fchown(&fd, uid, gid).map_err(|e| err(root, e))?;
    let mut stack = vec![(Dir::new(fd).map_err(|e| err(root, e))?, root.to_path_buf())];
    loop {
        let Some((dir, path)) = stack.last_mut() else {
            return Ok(());
        };
        let entry = match dir.read() {
            None => {
                stack.pop();
                continue;
            }
            Some(Err(e)) => return Err(err(path, e)),
            Some(Ok(entry)) => entry,
        };
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let child = path.join(std::ffi::OsStr::from_bytes(name.to_bytes()));
        let parent = dir.fd().map_err(|e| err(&child, e))?;
        match rustix::fs::chownat(parent, name, uid, gid, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(()) => {}
            Err(Errno::NOENT) => continue,
            Err(e) => return Err(err(&child, e)),
        }
        let st = match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => continue,
            Err(e) => return Err(err(&child, e)),
        };
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            continue;
        }
        match rustix::fs::openat(parent, name, flags | OFlags::NOFOLLOW, Mode::empty()) {
            Ok(fd) => {
                let dir = Dir::new(fd).map_err(|e| err(&child, e))?;
                stack.push((dir, child));
            }
            // Gone or swapped for something else since: nothing of the host is reached.
            Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => {}
            Err(e) => return Err(err(&child, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chown_tree_changes_links_not_their_targets() {
        use std::os::unix::fs::MetadataExt as _;
        if !rustix::process::geteuid().is_root() {
            return;
        }
        let ws = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("host"), b"x").unwrap();
        std::fs::create_dir_all(ws.path().join("a/b")).unwrap();
        std::fs::write(ws.path().join("a/b/f"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.path(), ws.path().join("a/link")).unwrap();
        chown_tree(ws.path(), UNPRIVILEGED).unwrap();
        for p in ["", "a", "a/b", "a/b/f", "a/link"] {
            let m = std::fs::symlink_metadata(ws.path().join(p)).unwrap();
            assert_eq!((m.uid(), m.gid()), (65534, 65534), "{p}");
        }
        let host = std::fs::metadata(outside.path().join("host")).unwrap();
        assert_eq!(host.uid(), 0, "followed a symlink out of the workspace");
        assert_eq!(std::fs::metadata(outside.path()).unwrap().uid(), 0);
    }
}
