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

/// `chown -R` without following symlinks.
fn chown_tree(root: &Path, user: UserId) -> Result<(), DockerError> {
    let err = |path: &Path, source| DockerError::Chown {
        path: path.to_path_buf(),
        user: user.spec(),
        source,
    };
    std::os::unix::fs::lchown(root, Some(user.uid), Some(user.gid)).map_err(|e| err(root, e))?;
    let meta = std::fs::symlink_metadata(root).map_err(|e| err(root, e))?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(root).map_err(|e| err(root, e))? {
            let entry = entry.map_err(|e| err(root, e))?;
            chown_tree(&entry.path(), user)?;
        }
    }
    Ok(())
}
