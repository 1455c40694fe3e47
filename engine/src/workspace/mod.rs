//! The workspace: a directory into which every path is confined.
//!
//! A [`Workspace`] holds a [`cap_std::fs::Dir`], not a path: every operation that takes a path
//! from a spec, a case or a guest goes through it, so `..`, absolute paths and symlinks that
//! lead outside are refused (a guest may leave such symlinks behind; host code never follows
//! them out). The two functions that use ambient authority say so:
//! [`Workspace::open_ambient`] and the host side of [`Workspace::import_host_dir`] /
//! [`Workspace::copy_host_path`].

mod content;
mod error;
mod files;
mod import;
pub(crate) mod limits;
pub(crate) mod paths;
pub(crate) mod read;
pub(crate) mod remove;
mod select;
pub(crate) mod walk;
pub(crate) mod write;

use std::path::{Path, PathBuf};

use cap_std::fs::Dir;

pub use content::FileContent;
pub(crate) use content::base64_bytes;
pub use error::WorkspaceError;
pub use import::ImportSummary;
pub use limits::{LimitExceeded, WorkspaceLimits};
pub use walk::SkippedEntry;

/// A directory that confines every path given to it.
///
/// Created fresh with [`create_temp`](Self::create_temp) (removed when dropped, including
/// read-only directories and trees of any depth a guest left behind) or wrapped around an
/// existing directory with [`open_ambient`](Self::open_ambient) (never removed).
///
/// What host code reads back from it in one operation (snapshot captures, globs, file reads)
/// is bounded by its [`WorkspaceLimits`] (defaults: 100,000 entries, 1 GiB captured, 256 MiB
/// per read, 128 directory levels); see [`with_limits`](Self::with_limits).
#[derive(Debug)]
pub struct Workspace {
    dir: Dir,
    path: PathBuf,
    temp: Option<crate::tempdirs::PrivateDir>,
    limits: WorkspaceLimits,
}

impl Workspace {
    /// A fresh, empty temporary directory, removed when the workspace is dropped or
    /// [`remove`](Self::remove)d.
    ///
    /// It is `ws/` inside a private parent (`$TMPDIR/subrun-ws-<pid>-<start>-<random>/`, mode
    /// `0700`; see [`crate::tempdirs`]): no other host user can reach what a guest writes, and
    /// `subrun gc` removes it if its owner dies without cleaning up.
    ///
    /// # Errors
    /// [`WorkspaceError::Io`] when the directory cannot be created or opened.
    pub fn create_temp() -> Result<Self, WorkspaceError> {
        let temp = crate::tempdirs::PrivateDir::create("ws")
            .map_err(|e| WorkspaceError::io("create temporary workspace", "", e))?;
        let path = temp.path().to_path_buf();
        let dir = Dir::open_ambient_dir(&path, cap_std::ambient_authority())
            .map_err(|e| WorkspaceError::io("open workspace", path.display().to_string(), e))?;
        Ok(Self {
            dir,
            path,
            temp: Some(temp),
            limits: WorkspaceLimits::default(),
        })
    }

    /// Wraps an existing host directory (ambient authority: `path` is opened as given). The
    /// directory is not removed on drop.
    ///
    /// # Errors
    /// [`WorkspaceError::Io`] when `path` is not a directory that can be opened.
    pub fn open_ambient(path: impl AsRef<Path>) -> Result<Self, WorkspaceError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let path = path
            .canonicalize()
            .map_err(|e| WorkspaceError::io("open workspace", shown.clone(), e))?;
        let dir = Dir::open_ambient_dir(&path, cap_std::ambient_authority())
            .map_err(|e| WorkspaceError::io("open workspace", shown, e))?;
        Ok(Self {
            dir,
            path,
            temp: None,
            limits: WorkspaceLimits::default(),
        })
    }

    /// The same workspace with other read bounds (the default is
    /// [`WorkspaceLimits::default`]).
    #[must_use]
    pub fn with_limits(mut self, limits: WorkspaceLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The bounds on what one operation reads from this workspace.
    pub fn limits(&self) -> &WorkspaceLimits {
        &self.limits
    }

    /// The host path of the workspace (what runtimes mount or run in).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory capability; every path opened through it stays inside.
    pub fn dir(&self) -> &Dir {
        &self.dir
    }

    /// True when the workspace is a temporary directory removed on drop.
    pub fn is_temporary(&self) -> bool {
        self.temp.is_some()
    }

    /// Removes every entry of the workspace (never following a symlink, whatever the depth
    /// of its trees), leaving it empty.
    ///
    /// # Errors
    /// [`WorkspaceError::Io`] naming the entry that could not be removed.
    pub fn clear(&self) -> Result<(), WorkspaceError> {
        remove::clear_dir(&self.dir)
    }

    /// Removes a temporary workspace now and reports a failure (dropping it removes it too,
    /// logging failures). For a workspace from [`open_ambient`](Self::open_ambient) this only
    /// releases the handle.
    ///
    /// # Errors
    /// [`WorkspaceError::Io`] when the directory cannot be removed.
    pub fn remove(mut self) -> Result<(), WorkspaceError> {
        match self.temp.take() {
            None => Ok(()),
            Some(temp) => {
                let shown = self.path.display().to_string();
                // Removed without recursion, whatever the depth a guest left.
                temp.close()
                    .map_err(|e| WorkspaceError::io("remove workspace", shown, e))
            }
        }
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take()
            && let Err(e) = temp.close()
        {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove workspace");
        }
    }
}
