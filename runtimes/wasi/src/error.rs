//! [`WasiError`]: what the wasi runtime could not do, with wasmtime's and the OS's errors
//! kept as sources. The engine sees it as [`RuntimeError::Backend`], whose source it is.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use subrun::RuntimeError;

use crate::config::EntryPoint;

/// wasmtime's errors box into this keeping their chain (`wasmtime::Error` is not a
/// `std::error::Error` itself); so do the OS's and tokio's.
type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure of the wasi runtime. Each message names the object; the cause (wasmtime's
/// error, with its own chain, or the OS error) is the [`source`](std::error::Error::source),
/// never repeated in the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WasiError {
    /// wasmtime refused the engine configuration ([`WasiEngineConfig`](crate::WasiEngineConfig)).
    #[error("wasmtime refused the engine configuration")]
    Engine {
        /// wasmtime's error.
        #[source]
        source: BoxError,
    },
    /// wasmtime refused the configuration of the fuel-metered engine (built on the first
    /// execution with a fuel limit).
    #[error("wasmtime refused the fuel-metered engine configuration")]
    MeteredEngine {
        /// wasmtime's error (shared: the failure is cached for later executions).
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// The module's file exists but could not be read.
    #[error("cannot read module `{module}`")]
    ReadModule {
        /// The module, as the guest or the spec names it.
        module: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The module's path names a directory, a device, a FIFO...
    #[error("module `{module}` is not a regular file")]
    NotAFile {
        /// The module.
        module: String,
    },
    /// The module is larger than `WasiEngineConfig::max_module_bytes`; nothing was read.
    #[error(
        "module `{module}` is {size} bytes, more than the {limit} bytes the engine compiles (max_module_bytes)"
    )]
    TooLarge {
        /// The module.
        module: String,
        /// Its size.
        size: u64,
        /// The bound.
        limit: u64,
    },
    /// The file is a precompiled artifact (`.cwasm`), which a submission may not pass.
    #[error("module `{module}` is a precompiled artifact; pass the .wasm or .wat source")]
    Precompiled {
        /// The module.
        module: String,
    },
    /// Not a valid module for this engine.
    #[error("cannot compile module `{module}`")]
    Compile {
        /// The module.
        module: String,
        /// wasmtime's error (or the compile task's).
        #[source]
        source: BoxError,
    },
    /// Compiling took longer than `WasiEngineConfig::compile_timeout`.
    #[error(
        "module `{module}` did not compile within the compile budget of {budget:?} (compile_timeout)"
    )]
    CompileBudget {
        /// The module.
        module: String,
        /// The budget.
        budget: Duration,
    },
    /// The module imports something the runtime does not provide.
    #[error("cannot link module `{module}`")]
    Link {
        /// The module.
        module: String,
        /// wasmtime's error, naming the import.
        #[source]
        source: BoxError,
    },
    /// The module exports no entry point of the kind asked for.
    #[error("cannot enter module `{module}`: {}", missing_entry(*expected))]
    NoEntryPoint {
        /// The module.
        module: String,
        /// The entry the program asked for (`auto`: either).
        expected: EntryPoint,
    },
    /// A directory could not be given to the guest.
    #[error("cannot preopen `{}` at `{guest}`", host.display())]
    Preopen {
        /// The host directory.
        host: PathBuf,
        /// Where the guest sees it.
        guest: String,
        /// wasmtime-wasi's error.
        #[source]
        source: BoxError,
    },
    /// The store refused the fuel budget.
    #[error("cannot set the fuel budget")]
    Fuel {
        /// wasmtime's error.
        #[source]
        source: BoxError,
    },
}

fn missing_entry(expected: EntryPoint) -> &'static str {
    match expected {
        EntryPoint::Command => "it exports no `_start: () -> ()` (a WASI command entry point)",
        EntryPoint::Reactor => "it exports no `run: () -> i32` (a reactor entry point)",
        EntryPoint::Auto => {
            "it exports neither `_start: () -> ()` (a WASI command) nor `run: () -> i32` (a reactor)"
        }
    }
}

impl WasiError {
    /// The step that failed, for [`RuntimeError::Backend`]'s `operation`; the object is in
    /// this error's own message.
    fn step(&self) -> &'static str {
        match self {
            WasiError::Engine { .. } | WasiError::MeteredEngine { .. } => "create the engine",
            WasiError::ReadModule { .. }
            | WasiError::NotAFile { .. }
            | WasiError::TooLarge { .. }
            | WasiError::Precompiled { .. }
            | WasiError::Compile { .. }
            | WasiError::CompileBudget { .. }
            | WasiError::Link { .. }
            | WasiError::NoEntryPoint { .. } => "load the module",
            WasiError::Preopen { .. } | WasiError::Fuel { .. } => "prepare the guest",
        }
    }
}

impl From<WasiError> for RuntimeError {
    /// [`RuntimeError::Backend`] with the step as its operation and the whole chain kept.
    fn from(e: WasiError) -> Self {
        RuntimeError::backend(e.step(), e)
    }
}
