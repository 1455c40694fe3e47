//! Closing a session: every runtime cleaned up, the workspace removed.

use super::{Session, lock};
use crate::error::Error;

impl Session {
    /// Cleans up every runtime this session spawned (all of them, even when one fails) and
    /// removes the workspace.
    ///
    /// # Errors
    /// The first failure ([`Error::Runtime`] or [`Error::Workspace`]); the others are
    /// logged. Everything that can be released still is.
    pub async fn close(mut self) -> Result<(), Error> {
        let runtimes = std::mem::take(&mut *lock(&self.runtimes));
        let mut first: Option<Error> = None;
        for runtime in runtimes {
            if let Err(e) = runtime.cleanup().await {
                tracing::warn!(session = %self.id, runtime = %runtime.id(), error = %e, "runtime cleanup failed");
                first.get_or_insert(e.into());
            }
        }
        if let Some(workspace) = self.workspace.take()
            && let Err(e) = workspace.remove()
        {
            tracing::warn!(session = %self.id, error = %e, "workspace removal failed");
            first.get_or_insert(e.into());
        }
        tracing::debug!(session = %self.id, "session closed");
        first.map_or(Ok(()), Err)
    }
}

impl Drop for Session {
    /// Without [`close`](Session::close): terminates every runtime (non-blocking) and
    /// removes the workspace, also while a panic unwinds.
    fn drop(&mut self) {
        let runtimes = std::mem::take(&mut *lock(&self.runtimes));
        if !runtimes.is_empty() {
            tracing::debug!(session = %self.id, runtimes = runtimes.len(), "session dropped without close: terminating runtimes");
        }
        for runtime in runtimes {
            runtime.terminate();
        }
        // The workspace's own Drop removes the directory.
        drop(self.workspace.take());
    }
}
