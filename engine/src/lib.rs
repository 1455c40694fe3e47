//! # subrun
//!
//! Run untrusted code submissions — for graders, online judges and evaluation harnesses —
//! behind one runtime contract, whatever runs them: WebAssembly in-process (`wasi`), a
//! container (`docker`) or a host process (`local`, trusted code only).
//!
//! ```text
//!  EnvironmentSpec ──parse/validate──▶ Registry ──▶ RuntimeFactory
//!        │                                               │ spawn (setup once)
//!        ▼                                               ▼
//!     Session ── prepare ─▶ Workspace ◀── read-write ── SubmissionRuntime ── execute / stream
//!        │        (snapshot restored,        (assets        │                     │
//!        │         input files written)      read-only)     │                     ▼
//!        ├── get_file_contents / update_snapshot / finish_checkpoint        RuntimeResult
//!        └── close (or drop): every runtime cleaned up, workspace removed   { outcome, usage }
//! ```
//!
//! ## Why a failed submission is not an error
//!
//! A grader asks "how did it end?" for every submission; a non-zero exit, a trap, a timeout
//! or a blown memory limit is an ordinary answer. So [`SubmissionRuntime::execute`] returns
//! `Ok(`[`RuntimeResult`]`)` with an [`Outcome`] for all of them, and exit codes that read the
//! same on every runtime ([`exit_code`]). `Err` means the engine itself could not do its job:
//! an invalid spec, a missing image, a backend failure, a call after cleanup.
//!
//! ## Layers
//!
//! This crate owns the vocabulary (spec, trait, registry, session, results, errors) and never
//! depends on a backend: wasmtime lives in `subrun-wasi`, bollard in `subrun-docker`,
//! `tokio::process` in `subrun-local`. The CLI registers them explicitly.

pub mod assets;
pub mod command;
mod diff;
pub(crate) mod env;
mod error;
mod execution;
mod glob;
pub mod ids;
pub mod input;
mod output;
pub mod placeholder;
pub mod process;
pub mod quota;
mod registry;
mod request;
mod result;
pub mod runtime;
mod session;
pub mod snapshot;
pub mod spec;
pub mod tempdirs;
pub mod terminal;
pub mod workspace;

pub use error::{Error, RegistryError, RuntimeError};
pub use execution::{Execution, ExecutionControl, RuntimeEvent};
pub use input::InputFile;
pub use registry::Registry;
pub use request::{ExecRequest, Stdin};
pub use result::{Outcome, Resource, RuntimeResult, TrapKind, Usage, exit_code};
pub use runtime::{Capabilities, Mode, Mount, PortBinding, RuntimeState, SubmissionRuntime};
pub use session::{Checkpoint, Session, SessionBuilder, SpawnOptions};
pub use spec::{EnvironmentSpec, SpecError};
pub use workspace::FileContent;
