//! [`DockerRuntime`]: one long-lived container, commands as execs in it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use subrun::{
    Capabilities, ExecRequest, Execution, Outcome, RuntimeError, RuntimeId, RuntimeKind,
    RuntimeResult, RuntimeState, SubmissionRuntime, async_trait,
};
use tokio::sync::oneshot;

use crate::bind::WorkspaceBind;
use crate::exec::{self, Plan};
use crate::factory::{KIND, capabilities};
use crate::remove::{remove_now, remove_on_thread};
use crate::shared::Shared;

/// How long `kill` and `cleanup` wait for running commands to report before going on.
const SETTLE: Duration = Duration::from_secs(15);

/// A spawned `docker` runtime: one container, created and started at spawn, removed by
/// [`cleanup`](SubmissionRuntime::cleanup) or on drop.
///
/// ```text
///  spawn: inspect image ─▶ create (labels, mounts, limits) ─▶ start ─▶ setup execs ─▶ Pending
///  execute/stream: exec `sh -c` in the container ─▶ Running ─▶ Exited(outcome) | Killed
///  cleanup | terminate | drop: kill executions ─▶ remove container (force) ─▶ CleanedUp
/// ```
pub struct DockerRuntime {
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

impl std::fmt::Debug for DockerRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerRuntime")
            .field("id", &self.shared.runtime_id)
            .field("container", &self.shared.container)
            .field("image", &self.shared.config.image)
            .finish_non_exhaustive()
    }
}

impl DockerRuntime {
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

    /// Runs a command that is not tracked as an execution (setup): same exec path, no
    /// state change, setup output not consumed.
    pub(crate) async fn run_untracked(
        &self,
        command: String,
    ) -> Result<RuntimeResult, RuntimeError> {
        // Setup commands come rendered: the spec's through `ResolvedSpec`, an extra one by the
        // session.
        let plan = Plan {
            command,
            env: self.shared.base_env.clone(),
            stdin: subrun::Stdin::Closed,
            timeout: self.shared.limits().timeout,
            keep_leftovers: true,
        };
        let t0 = Instant::now();
        let _live = self.shared.live_guard();
        let started = exec::start(&self.shared, &plan).await?;
        exec::supervise(
            self.shared.clone(),
            subrun::ExecutionId::generate(),
            subrun::ExecutionControl::new(),
            started,
            plan.stdin,
            plan.timeout,
            None,
            t0,
        )
        .await
    }

    /// Starts a tracked execution; the receiver carries the error if its supervisor fails.
    async fn start(
        &self,
        request: ExecRequest,
    ) -> Result<(Execution, oneshot::Receiver<RuntimeError>), RuntimeError> {
        let shared = &self.shared;
        let active = shared.tracker.begin_owned()?;
        let ExecRequest {
            command,
            env,
            stdin,
            timeout,
        } = request;
        // `{{static:NAME}}` in a request was rendered by the session's runtime handle.
        let plan = Plan {
            command,
            env: subrun::env::with_call_env(&shared.base_env, &env),
            stdin,
            timeout: timeout.unwrap_or(shared.limits().timeout),
            keep_leftovers: false,
        };
        let t0 = Instant::now();
        let live = shared.live_guard();
        let started = exec::start(shared, &plan).await?;
        let (execution, tx) = Execution::channel(active.id().clone(), active.control().clone());
        let (err_tx, err_rx) = oneshot::channel();
        let shared = shared.clone();
        let span = tracing::debug_span!("execute", runtime = KIND, execution_id = %active.id());
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                let _live = live;
                let result = exec::supervise(
                    shared.clone(),
                    active.id().clone(),
                    active.control().clone(),
                    started,
                    plan.stdin,
                    plan.timeout,
                    Some(tx.clone()),
                    t0,
                )
                .await;
                match result {
                    Ok(mut r) => {
                        let (out, err) = shared.tracker.take_setup_output();
                        r.setup_stdout = out;
                        r.setup_stderr = err;
                        active.finish(&r.outcome);
                        let _ = tx.send(subrun::RuntimeEvent::Finished(Box::new(r)));
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "execution failed in the engine");
                        drop(active);
                        let _ = err_tx.send(e);
                    }
                }
            },
            span,
        ));
        Ok((execution, err_rx))
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

#[async_trait]
impl SubmissionRuntime for DockerRuntime {
    fn id(&self) -> &RuntimeId {
        &self.shared.runtime_id
    }

    fn kind(&self) -> RuntimeKind {
        RuntimeKind::new(KIND)
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn stream(&self, request: ExecRequest) -> Result<Execution, RuntimeError> {
        Ok(self.start(request).await?.0)
    }

    async fn execute(&self, request: ExecRequest) -> Result<RuntimeResult, RuntimeError> {
        let (execution, err) = self.start(request).await?;
        match execution.wait().await {
            Err(lost @ RuntimeError::Lost { .. }) => Err(err.await.unwrap_or(lost)),
            other => other,
        }
    }

    fn poll(&self) -> Result<Option<Outcome>, RuntimeError> {
        self.shared.tracker.poll()
    }

    fn state(&self) -> RuntimeState {
        self.shared.tracker.state()
    }

    async fn kill(&self) -> Result<(), RuntimeError> {
        if self.shared.tracker.kill_all() == 0 {
            return Ok(());
        }
        let mut rx = self.shared.live.subscribe();
        // Tracked executions end Killed once their sweep is done; wait for them.
        let tracker = self.shared.tracker.clone();
        let settled = tokio::time::timeout(SETTLE, async {
            while tracker.state() == RuntimeState::Running {
                if rx.changed().await.is_err() {
                    break;
                }
            }
        })
        .await;
        if settled.is_err() {
            tracing::warn!(container = %self.shared.container, "executions still running after kill");
        }
        Ok(())
    }

    async fn cleanup(&self) -> Result<(), RuntimeError> {
        let _serial = self.cleanup_lock.lock().await;
        self.shared.tracker.mark_cleaned_up();
        let pending = matches!(*self.removal(), Removal::Pending);
        if pending && !self.shared.wait_idle(SETTLE).await {
            tracing::warn!(container = %self.shared.container, "executions still running at cleanup; removing the container anyway");
        }
        self.remove_container().await
    }

    fn terminate(&self) {
        self.shared.tracker.mark_cleaned_up();
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
}

impl Drop for DockerRuntime {
    fn drop(&mut self) {
        self.terminate();
        let removal = std::mem::replace(&mut *self.removal(), Removal::Done);
        if let Removal::Scheduled(handle) = removal {
            // Blocking here is deliberate: the container must be gone when the runtime is.
            let _ = handle.join();
        }
    }
}
