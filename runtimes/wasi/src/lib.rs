//! # subrun-wasi
//!
//! The `wasi` runtime: submissions compiled to WebAssembly (`wasm32-wasip1`) run in-process
//! inside wasmtime, with nothing granted but what the spec grants.
//!
//! ```text
//!  spawn ──▶ GuestView (workspace rw at workdir, the working directory at /, assets ro at
//!    │        /static, mounts)
//!    │
//!  execute(command)
//!    ├─ split into words (no shell; operators refused)
//!    ├─ resolve: wasi.programs entry | .wasm/.wat in the view | exit 127
//!    ├─ compile once per (sha256, engine settings): memory cache + InstancePre, disk cache
//!    ├─ WASI context: argv, merged env, stdin, capped streaming stdout/stderr, preopens
//!    └─ run: the driver's stop (deadline, kill, output cap) at each epoch tick + async host
//!       calls (sleep, stdin) dropped at once
//!         └─▶ Outcome: Exited | TimedOut | Killed | ResourceExceeded | Trapped
//! ```
//!
//! A guest sees the workspace read-write (as its working directory too), each static asset
//! read-only at `/static/<save_path>`, spec and spawn mounts (read-only unless writable), its
//! argv, the merged environment only, and stdin from the call (closed otherwise). It has no
//! sockets, no name lookup and no processes. See `docs/runtimes/wasi.md`.

mod cache;
mod config;
mod determinism;
mod engine;
mod error;
mod factory;
pub mod guests;
mod quota;
mod run;
mod runtime;
mod sink;
mod store;
mod view;

pub use cache::{CacheStats, PruneSummary, prune as prune_cache};
pub use config::{EntryPoint, ProgramConfig, WasiConfig};
pub use engine::{WasiEngine, WasiEngineConfig, default_cache_dir};
pub use error::WasiError;
pub use factory::WasiRuntimeFactory;
pub use runtime::{WasiBackend, WasiRunning, WasiRuntime};

impl WasiEngine {
    /// Counters of the compiled-module cache.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }
}
