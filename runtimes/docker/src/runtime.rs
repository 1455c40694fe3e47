//! [`DockerRuntime`]: one long-lived container, commands as execs in it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use subrun::quota::DiskWatch;
use subrun::runtime::async_trait;
use subrun::runtime::{Backend, DrivenRuntime, Ended, Io, Job, Running};
use subrun::{RuntimeError, Stdin};

use crate::bind::WorkspaceBind;
use crate::exec::{self, Plan};
use crate::remove::{remove_now, remove_on_thread};
use crate::shared::{LiveGuard, Shared};

/// How long a command may take to end after a stop (the sweep exec, the output drained): the
/// bound of `kill()` on docker.
const STOP_BOUND: Duration = Duration::from_secs(15);

/// The `docker` backend of the execution driver: one container, created and started at spawn,
/// removed by cleanup or on drop.
///
/// ```text
///  spawn: inspect image ─▶ create (labels, mounts, limits) ─▶ start ─▶ setup execs ─▶ Pending
///  execute/stream: exec `sh -c` in the container ─▶ Running ─▶ Exited(outcome) | Killed
///  cleanup | terminate | drop: kill executions ─▶ remove container (force) ─▶ CleanedUp
/// ```
pub struct DockerBackend {
    shared: Arc<Shared>,
    /// The workspace's nosuid self-bind (subrun as root), released once the container is gone.
    bind: Mutex<Option<WorkspaceBind>>,
    removal: Mutex<Removal>,
    cleanup_lock: tokio::sync::Mutex<()>,
}

/// Where the container's removal stands.
enum Removal {
    /// Not removed yet.
    Pending,
    /// Removal runs on a background thread (`terminate`); drop joins it.
    Scheduled(std::thread::JoinHandle<()>),
    /// Removed, or deliberately kept (`keep_container_after_clean`).
    Done,
}

/// A spawned `docker` runtime.
pub type DockerRuntime = DrivenRuntime<DockerBackend>;

impl std::fmt::Debug for DockerBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerBackend")
            .field("id", &self.shared.runtime_id)
            .field("container", &self.shared.container)
            .field("image", &self.shared.config.image)
            .finish_non_exhaustive()
    }
}

impl DockerBackend {
    pub(crate) fn new(shared: Arc<Shared>, bind: Option<WorkspaceBind>) -> Self {
        Self {
            shared,
            bind: Mutex::new(bind),
            removal: Mutex::new(Removal::Pending),
            cleanup_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The container's id (for debugging; the container is gone after cleanup).
    pub fn container_id(&self) -> &str {
        &self.shared.container
    }

    /// The image the container runs.
    pub fn image(&self) -> &str {
        &self.shared.config.image
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    fn take_bind(&self) -> Option<WorkspaceBind> {
        self.bind
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    fn removal(&self) -> std::sync::MutexGuard<'_, Removal> {
        self.removal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Removes the container now (or keeps it when configured). Idempotent.
    async fn remove_container(&self) -> Result<(), RuntimeError> {
        let previous = std::mem::replace(&mut *self.removal(), Removal::Done);
        match previous {
            Removal::Done => return Ok(()),
            Removal::Scheduled(handle) => {
                let _ = tokio::task::spawn_blocking(move || handle.join()).await;
                return Ok(());
            }
            Removal::Pending => {}
        }
        let keep = self.shared.config.keep_container_after_clean;
        let removed = if keep {
            tracing::info!(container = %self.shared.container, "keeping the container after cleanup (keep_container_after_clean); it runs until this process exits");
            Ok(())
        } else {
            remove_now(&self.shared.docker, &self.shared.container)
                .await
                .map_err(|e| e.during("clean up the docker runtime"))
        };
        self.shared.end_lease(keep);
        if let Some(bind) = self.take_bind() {
            if keep || removed.is_err() {
                // Its commands may still run: releasing the bind now would let one plant a
                // setuid file on a path that is no longer nosuid.
                bind.keep_for_gc();
            } else {
                let _ = tokio::task::spawn_blocking(move || drop(bind)).await;
            }
        }
        removed
    }
}

/// A started command in the container.
pub struct DockerRunning {
    shared: Arc<Shared>,
    started: exec::Started,
    stdin: Stdin,
    io: Io,
    _live: LiveGuard,
}

#[async_trait]
impl Backend for DockerBackend {
    type Running = DockerRunning;

    /// Starts the command as an exec of `sh -c` in the container. (`{{static:NAME}}` in a
    /// request was rendered by the session's runtime handle; setup commands come rendered
    /// through `ResolvedSpec`.)
    async fn start(&self, job: Job) -> Result<DockerRunning, RuntimeError> {
        let plan = Plan {
            command: &job.command,
            env: &job.env,
            stdin: !matches!(job.stdin, Stdin::Closed),
            keep_leftovers: job.setup,
        };
        let live = self.shared.live_guard();
        let started = exec::start(&self.shared, &plan).await?;
        Ok(DockerRunning {
            shared: self.shared.clone(),
            started,
            stdin: job.stdin,
            io: job.io,
            _live: live,
        })
    }

    fn stop_bound(&self) -> Duration {
        STOP_BOUND
    }

    async fn release(&self) -> Result<(), RuntimeError> {
        let _serial = self.cleanup_lock.lock().await;
        let pending = matches!(*self.removal(), Removal::Pending);
        if pending && !self.shared.wait_idle(STOP_BOUND).await {
            tracing::warn!(container = %self.shared.container, "executions still running at cleanup; removing the container anyway");
        }
        self.remove_container().await
    }

    fn release_now(&self) {
        let mut removal = self.removal();
        if matches!(*removal, Removal::Pending) {
            let bind = self.take_bind();
            if self.shared.config.keep_container_after_clean {
                self.shared.end_lease(true);
                *removal = Removal::Done;
                drop(bind);
            } else {
                self.shared.end_lease(false);
                *removal = Removal::Scheduled(remove_on_thread(
                    self.shared.docker.clone(),
                    self.shared.container.clone(),
                    bind,
                ));
            }
        }
    }

    fn on_drop(&self) {
        self.release_now();
        let removal = std::mem::replace(&mut *self.removal(), Removal::Done);
        if let Removal::Scheduled(handle) = removal {
            // Blocking here is deliberate: the container must be gone when the runtime is.
            let _ = handle.join();
        }
    }
}

#[async_trait]
impl Running for DockerRunning {
    fn disk(&self) -> Option<DiskWatch> {
        self.shared.disk.as_ref().map(|d| d.watch())
    }

    /// Supervises in a task of its own: when this future is dropped (a cancelled `execute`),
    /// the stop is requested and the task still sweeps the command's session once its pid is
    /// known, so nothing keeps running in the container unwatched.
    async fn wait(self) -> Result<Ended, RuntimeError> {
        struct StopOnDrop(Option<subrun::runtime::Stop>);
        impl Drop for StopOnDrop {
            fn drop(&mut self) {
                if let Some(stop) = self.0.take() {
                    stop.request(subrun::runtime::StopReason::Killed);
                }
            }
        }
        let mut guard = StopOnDrop(Some(self.io.stop.clone()));
        let live = self._live;
        let task = tokio::spawn(async move {
            let _live = live;
            exec::supervise(self.shared, self.started, self.stdin, self.io).await
        });
        let ended = task
            .await
            .map_err(|e| RuntimeError::backend("supervise a command", e))?;
        guard.0 = None;
        ended
    }
}
