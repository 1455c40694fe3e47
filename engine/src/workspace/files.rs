//! Reading and writing single files, confined to the workspace.

use super::Workspace;
use super::error::WorkspaceError;
use super::paths::{check_relative, resolve_confined};
use super::read::{ByteBudget, open_regular};

impl Workspace {
    /// Checks that `rel` may be written: a relative path without `..` whose existing
    /// components (symlinks included) stay inside. Returns the path with symlinks resolved.
    ///
    /// # Errors
    /// [`WorkspaceError::Confinement`] naming the path and the symlink that leads out.
    pub fn check_writable(&self, rel: &str) -> Result<String, WorkspaceError> {
        let rel = check_relative(rel)?;
        let resolved = resolve_confined(&self.dir, &rel, true)?;
        if resolved.is_empty() {
            return Err(WorkspaceError::confinement(
                rel,
                "is the workspace itself: expected a file path",
            ));
        }
        Ok(resolved)
    }

    /// Writes `bytes` to `rel`, creating parent directories. A symlink on the way is followed
    /// only while it stays inside the workspace.
    ///
    /// # Errors
    /// [`WorkspaceError::Confinement`] for `..`, absolute paths and symlinks that lead
    /// outside (nothing is written then); [`WorkspaceError::Io`] naming the path.
    pub fn write_file(&self, rel: &str, bytes: impl AsRef<[u8]>) -> Result<(), WorkspaceError> {
        let resolved = self.check_writable(rel)?;
        if let Some((parent, _)) = resolved.rsplit_once('/') {
            self.dir
                .create_dir_all(parent)
                .map_err(|e| WorkspaceError::io("create directory", parent, e))?;
        }
        self.dir
            .write(&resolved, bytes)
            .map_err(|e| WorkspaceError::io("write", rel, e))
    }

    /// Creates the directory `rel` and its parents.
    ///
    /// # Errors
    /// As [`write_file`](Self::write_file).
    pub fn create_dir_all(&self, rel: &str) -> Result<(), WorkspaceError> {
        let resolved = self.check_writable(rel)?;
        self.dir
            .create_dir_all(&resolved)
            .map_err(|e| WorkspaceError::io("create directory", rel, e))
    }

    /// Reads the file `rel`, at most
    /// [`max_read_bytes`](super::WorkspaceLimits::max_read_bytes) of it (default 256 MiB).
    /// Symlinks are followed only while they stay inside.
    ///
    /// # Errors
    /// [`WorkspaceError::Confinement`] for paths that lead outside; [`WorkspaceError::Io`]
    /// when the file is missing, unreadable or not a regular file (a FIFO is refused, never
    /// opened: opening it would block); [`WorkspaceError::Limit`] when it is larger
    /// than the bound (a sparse file counts its full length; nothing is read then).
    pub fn read_file(&self, rel: &str) -> Result<Vec<u8>, WorkspaceError> {
        let norm = check_relative(rel)?;
        let resolved = resolve_confined(&self.dir, &norm, true)?;
        let (file, len) = open_regular(&self.dir, &resolved).map_err(|e| match e {
            // Name the path as the caller gave it.
            WorkspaceError::Io { op, source, .. } => WorkspaceError::io(op, rel, source),
            other => other,
        })?;
        ByteBudget::new("max_read_bytes", self.limits.max_read_bytes, "reading")
            .read(file, rel, len)
    }

    /// Removes the file, symlink or directory tree at `rel` (a symlink is removed, never
    /// followed). A missing path is not an error.
    ///
    /// # Errors
    /// [`WorkspaceError::Confinement`] for paths that lead outside; [`WorkspaceError::Io`].
    pub fn remove_path(&self, rel: &str) -> Result<(), WorkspaceError> {
        let norm = check_relative(rel)?;
        let resolved = resolve_confined(&self.dir, &norm, false)?;
        super::remove::remove_entry(&self.dir, &resolved)
    }
}
