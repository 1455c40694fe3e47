//! Errors the engine reports. A failing *submission* is never one of these: it is an
//! [`Outcome`](crate::Outcome) in a [`RuntimeResult`](crate::RuntimeResult).

use crate::assets::AssetError;
use crate::command::CommandError;
use crate::ids::{ExecutionId, RuntimeId, RuntimeKind};
use crate::placeholder::PlaceholderError;
use crate::result::RuntimeResult;
use crate::spec::SpecError;

/// A boxed error from a backend (wasmtime, the Docker engine, the OS), kept as the `source`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors from a runtime: it could not spawn, run, stop or clean up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The runtime was cleaned up; every later call fails with this.
    #[error("runtime `{id}` was cleaned up; spawn a new one")]
    CleanedUp {
        /// The runtime.
        id: RuntimeId,
    },
    /// The command cannot be run as written (shell syntax on a runtime without a shell...).
    #[error("invalid command `{command}`")]
    InvalidCommand {
        /// The command as given.
        command: String,
        /// Why.
        #[source]
        source: CommandError,
    },
    /// A placeholder in the command or env could not be rendered.
    #[error("cannot render placeholders")]
    Placeholder(#[from] PlaceholderError),
    /// A setup command failed; the spawn fails with its output.
    #[error("setup command `{command}` {}{}", result.outcome, setup_tail(result))]
    SetupFailed {
        /// The failing setup command.
        command: String,
        /// Its result, with the setup output so far in `setup_stdout`/`setup_stderr`.
        result: Box<RuntimeResult>,
    },
    /// The spec or a spawn option asks for something this runtime cannot do.
    #[error("the `{kind}` runtime does not support {what}")]
    Unsupported {
        /// The runtime.
        kind: RuntimeKind,
        /// What was asked for.
        what: String,
    },
    /// The spec was refused.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// An operation against the backend failed; `operation` says which (`create container`,
    /// `compile module /workspace/a.wasm`...).
    #[error("{operation} failed")]
    Backend {
        /// What was being done.
        operation: String,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// The execution's supervisor went away without reporting a result (an engine bug).
    #[error("execution {id} ended without a result")]
    Lost {
        /// The execution.
        id: ExecutionId,
    },
}

impl RuntimeError {
    /// A backend failure during `operation`.
    pub fn backend(operation: impl Into<String>, source: impl Into<BoxError>) -> Self {
        RuntimeError::Backend {
            operation: operation.into(),
            source: source.into(),
        }
    }
}

fn setup_tail(r: &RuntimeResult) -> String {
    const TAIL: usize = 2000;
    let tail = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        let start = s.len().saturating_sub(TAIL);
        let start = (start..s.len())
            .find(|i| s.is_char_boundary(*i))
            .unwrap_or(s.len());
        s[start..].trim_end().to_string()
    };
    let mut out = String::new();
    let err = tail(&r.setup_stderr);
    let outp = tail(&r.setup_stdout);
    if !outp.is_empty() {
        out.push_str("\n--- setup stdout ---\n");
        out.push_str(&outp);
    }
    if !err.is_empty() {
        out.push_str("\n--- setup stderr ---\n");
        out.push_str(&err);
    }
    out
}

/// Registry errors.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// No runtime is registered under this name.
    #[error(
        "unknown runtime type `{kind}`: registered runtimes are {}",
        list(known)
    )]
    Unknown {
        /// The name asked for.
        kind: RuntimeKind,
        /// The registered names.
        known: Vec<RuntimeKind>,
    },
    /// A runtime is already registered under this name.
    #[error("a runtime named `{kind}` is already registered")]
    Duplicate {
        /// The name.
        kind: RuntimeKind,
    },
}

fn list(known: &[RuntimeKind]) -> String {
    if known.is_empty() {
        "none".into()
    } else {
        known
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Any error the engine reports, one namespace for callers that do not care which layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A spec problem.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A registry problem.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A runtime problem.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// A `{{static:NAME}}` placeholder in case data could not be rendered.
    #[error(transparent)]
    Placeholder(#[from] PlaceholderError),
    /// An asset problem.
    #[error("static assets: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Assets(Vec<AssetError>),
    /// A workspace problem (a path outside it, an I/O failure...).
    #[error(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
    /// A snapshot problem.
    #[error(transparent)]
    Snapshot(#[from] crate::snapshot::SnapshotError),
    /// An input file problem.
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
}
