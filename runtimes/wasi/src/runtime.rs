//! The spawned WASI runtime.

use std::path::PathBuf;
use std::sync::Arc;

use std::time::Duration;

use subrun::ids::RuntimeId;
use subrun::runtime::async_trait;
use subrun::runtime::{Backend, DrivenRuntime, Ended, Job, Running};
use subrun::spec::Limits;
use subrun::{Capabilities, RuntimeError};

use crate::config::WasiConfig;
use crate::engine::{Variant, WasiEngine};
use crate::run::Prepared;
use crate::view::GuestView;

/// State shared by a runtime and its running executions.
pub(crate) struct Inner {
    pub(crate) id: RuntimeId,
    pub(crate) engine: Arc<WasiEngine>,
    pub(crate) variant: Variant,
    pub(crate) config: WasiConfig,
    pub(crate) limits: Limits,
    pub(crate) view: GuestView,
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) spec_base: PathBuf,
}

/// How long a guest may take to end after a stop: it is interrupted at the next epoch tick,
/// or its blocking host call is dropped at once; this bounds a host call that cannot be.
const STOP_BOUND: Duration = Duration::from_secs(2);

/// The `wasi` backend of the execution driver: runs WebAssembly submissions in-process; see
/// the crate docs.
pub struct WasiBackend {
    inner: Arc<Inner>,
}

/// A spawned `wasi` runtime.
pub type WasiRuntime = DrivenRuntime<WasiBackend>;

impl std::fmt::Debug for WasiBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiBackend")
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

impl WasiBackend {
    pub(crate) fn new(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }
}

/// A started `wasi` execution: the guest's store, ready to run (or already ended).
pub struct WasiRunning(Prepared);

#[async_trait]
impl Backend for WasiBackend {
    type Running = WasiRunning;

    async fn start(&self, job: Job) -> Result<WasiRunning, RuntimeError> {
        self.inner.prepare(job).await.map(WasiRunning)
    }

    fn stop_bound(&self) -> Duration {
        STOP_BOUND
    }
}

#[async_trait]
impl Running for WasiRunning {
    fn deadline_factor(&self) -> f64 {
        self.0.factor()
    }

    async fn wait(self) -> Result<Ended, RuntimeError> {
        Ok(self.0.run().await)
    }
}
