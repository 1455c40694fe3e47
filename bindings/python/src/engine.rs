//! The process's engine (one tokio runtime, the registry of runtimes) and the blocking bridge
//! of the synchronous API.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use pyo3::prelude::*;
use subrun::Registry;
use subrun::runtime::RuntimeFactory;

use crate::errors::{Error, chain};

/// How often a blocked call looks at Python's signal handlers (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// The process's engine: one tokio runtime and the registry of runtimes.
pub(crate) struct Engine {
    /// Runs every execution, setup and close; its threads never hold the GIL while a guest
    /// runs.
    pub(crate) rt: tokio::runtime::Runtime,
    /// `wasi`, `local` and `docker` (which connects to the Docker engine on its first spawn).
    pub(crate) registry: Registry,
}

static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();

/// The engine, made on first use.
pub(crate) fn engine() -> PyResult<&'static Engine> {
    let made = ENGINE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("subrun")
            .build()
            .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
        let wasi = subrun_wasi::WasiRuntimeFactory::new(subrun_wasi::WasiEngineConfig::default())
            .map_err(|e| format!("cannot create the wasi engine: {}", chain(&e)))?;
        let mut registry = Registry::new();
        for factory in [
            Arc::new(wasi) as Arc<dyn RuntimeFactory>,
            Arc::new(subrun_local::LocalRuntimeFactory::new()),
            Arc::new(subrun_docker::LazyDockerFactory::new()),
        ] {
            registry
                .register(factory)
                .map_err(|e| format!("cannot register a runtime: {e}"))?;
        }
        Ok(Engine { rt, registry })
    });
    made.as_ref().map_err(|m| Error::new_err(m.clone()))
}

/// Runs `fut` on the engine with the GIL released. Python's signal handlers run every
/// [`SIGNAL_POLL`]; when one raises (Ctrl-C), the future is dropped — which ends the command
/// it drives — and the exception propagates.
pub(crate) fn block_on<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let engine = engine()?;
    let mut fut = Box::pin(fut);
    loop {
        let polled = py.detach(|| {
            engine
                .rt
                .block_on(async { tokio::time::timeout(SIGNAL_POLL, &mut fut).await.ok() })
        });
        if let Some(out) = polled {
            return Ok(out);
        }
        if let Err(e) = py.check_signals() {
            let _context = engine.rt.enter();
            drop(fut);
            return Err(e);
        }
    }
}
