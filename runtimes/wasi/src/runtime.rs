//! The spawned WASI runtime.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use subrun::{
    Capabilities, ExecRequest, Execution, ExecutionTracker, Limits, Outcome, RuntimeError,
    RuntimeEvent, RuntimeId, RuntimeKind, RuntimeResult, RuntimeState, SubmissionRuntime,
    async_trait,
};
use tracing::Instrument as _;

use crate::config::WasiConfig;
use crate::engine::{Variant, WasiEngine};
use crate::view::GuestView;

/// State shared by a runtime and its running executions.
pub(crate) struct Inner {
    pub(crate) id: RuntimeId,
    pub(crate) engine: Arc<WasiEngine>,
    pub(crate) variant: Variant,
    pub(crate) config: WasiConfig,
    pub(crate) limits: Limits,
    pub(crate) view: GuestView,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) tracker: Arc<ExecutionTracker>,
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) spec_base: PathBuf,
}

/// A spawned `wasi` runtime: runs WebAssembly submissions in-process; see the crate docs.
pub struct WasiRuntime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for WasiRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiRuntime")
            .field("id", &self.inner.id)
            .finish_non_exhaustive()
    }
}

pub(crate) fn capabilities() -> Capabilities {
    let mut c = Capabilities::none();
    c.filesystem_isolation = true;
    c.network_isolation = true;
    c.fuel = true;
    c.deterministic = true;
    c
}

impl WasiRuntime {
    pub(crate) fn new(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    pub(crate) fn set_setup_output(&self, stdout: bytes::Bytes, stderr: bytes::Bytes) {
        self.inner.tracker.set_setup_output(stdout, stderr);
    }

    /// Runs one command to completion; `setup` marks setup commands (their output is not
    /// attached to a later result).
    pub(crate) async fn run_one(
        &self,
        request: ExecRequest,
        setup: bool,
    ) -> Result<RuntimeResult, RuntimeError> {
        let inner = &self.inner;
        let active = inner.tracker.begin()?;
        let span =
            tracing::debug_span!("execute", runtime = %inner.id, execution_id = %active.id());
        async {
            let prepared = inner
                .prepare(request, active.id().clone(), active.control(), None)
                .await?;
            let setup_out = if setup {
                Default::default()
            } else {
                inner.tracker.take_setup_output()
            };
            let result = prepared.run(inner, active.control(), setup_out).await;
            active.finish(&result.outcome);
            Ok(result)
        }
        .instrument(span)
        .await
    }
}

#[async_trait]
impl SubmissionRuntime for WasiRuntime {
    fn id(&self) -> &RuntimeId {
        &self.inner.id
    }

    fn kind(&self) -> RuntimeKind {
        RuntimeKind::new("wasi")
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn execute(&self, request: ExecRequest) -> Result<RuntimeResult, RuntimeError> {
        self.run_one(request, false).await
    }

    async fn stream(&self, request: ExecRequest) -> Result<Execution, RuntimeError> {
        let inner = self.inner.clone();
        let active = inner.tracker.begin_owned()?;
        let (execution, tx) = Execution::channel(active.id().clone(), active.control().clone());
        let prepared = inner
            .prepare(
                request,
                active.id().clone(),
                active.control(),
                Some(tx.clone()),
            )
            .await?;
        let span = tracing::debug_span!("stream", runtime = %inner.id, execution_id = %active.id());
        tokio::spawn(
            async move {
                let setup = inner.tracker.take_setup_output();
                let result = prepared.run(&inner, active.control(), setup).await;
                active.finish(&result.outcome);
                let _ = tx.send(RuntimeEvent::Finished(Box::new(result)));
            }
            .instrument(span),
        );
        Ok(execution)
    }

    fn poll(&self) -> Result<Option<Outcome>, RuntimeError> {
        self.inner.tracker.poll()
    }

    fn state(&self) -> RuntimeState {
        self.inner.tracker.state()
    }

    async fn kill(&self) -> Result<(), RuntimeError> {
        self.inner.tracker.kill_all();
        Ok(())
    }

    async fn cleanup(&self) -> Result<(), RuntimeError> {
        if self.inner.tracker.mark_cleaned_up() {
            tracing::debug!(runtime = %self.inner.id, "cleaned up");
        }
        Ok(())
    }

    fn terminate(&self) {
        self.inner.tracker.mark_cleaned_up();
    }
}

impl Drop for WasiRuntime {
    fn drop(&mut self) {
        // Running executions hold `Inner`; stop them so nothing outlives the runtime handle.
        self.inner.tracker.kill_all();
    }
}
