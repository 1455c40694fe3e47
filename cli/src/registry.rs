//! The registry of every runtime the CLI knows, built explicitly.

use std::sync::Arc;

use subrun::Registry;
use subrun_docker::LazyDockerFactory;
use subrun_local::LocalRuntimeFactory;
use subrun_wasi::{WasiEngineConfig, WasiRuntimeFactory};

use crate::error::CliError;

/// Instances of the wasi engine's pool: the CLI runs one command (and its setup commands)
/// at a time, so a small pool reserves far less address space than the library default.
const WASI_POOL_SLOTS: u32 = 16;

/// `local`, `wasi` and `docker` (which connects to the Docker engine only when a docker
/// runtime is spawned).
///
/// # Errors
/// [`CliError::WasiEngine`] when wasmtime rejects the engine configuration.
pub(crate) fn build() -> Result<Registry, CliError> {
    let mut wasi = WasiEngineConfig::default();
    wasi.pool_slots = WASI_POOL_SLOTS;
    let wasi = WasiRuntimeFactory::new(wasi).map_err(CliError::WasiEngine)?;
    let mut registry = Registry::new();
    for factory in [
        Arc::new(LocalRuntimeFactory::new()) as Arc<dyn subrun::runtime::RuntimeFactory>,
        Arc::new(wasi),
        Arc::new(LazyDockerFactory::new()),
    ] {
        registry
            .register(factory)
            .expect("each runtime is registered once, under its own name");
    }
    Ok(registry)
}
