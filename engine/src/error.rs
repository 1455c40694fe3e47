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
    /// A placeholder in the command or env of a request could not be rendered. From
    /// `Session::spawn` the same failure is [`Error::Placeholder`].
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
    /// The spec or a spawn option was refused at spawn time. Through [`Error`] it arrives as
    /// [`Error::Spec`], like a spec refused by `prepare`.
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
///
/// Each failure has one route: a spec problem is [`Error::Spec`] whether `prepare` or the
/// runtime's spawn found it, and a placeholder that does not render is
/// [`Error::Placeholder`] wherever it was written (case data, spawn options).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A spec problem: refused by the runtime (at `prepare` or at spawn), an unknown runtime
    /// type, an unknown placeholder in the spec.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A runtime problem; never [`RuntimeError::Spec`] or [`RuntimeError::Placeholder`],
    /// which arrive as [`Error::Spec`] and [`Error::Placeholder`].
    #[error(transparent)]
    Runtime(RuntimeError),
    /// A `{{static:NAME}}` placeholder in case data or in spawn options could not be rendered.
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

impl Error {
    /// The bound of [`WorkspaceLimits`](crate::workspace::WorkspaceLimits) this error
    /// reports, whichever layer found it (the workspace, a snapshot, an input file).
    pub fn limit_exceeded(&self) -> Option<&crate::workspace::LimitExceeded> {
        use crate::workspace::WorkspaceError;
        match self {
            Error::Workspace(WorkspaceError::Limit(l))
            | Error::Snapshot(crate::snapshot::SnapshotError::Workspace(WorkspaceError::Limit(
                l,
            )))
            | Error::Input(crate::input::InputError::Workspace(WorkspaceError::Limit(l))) => {
                Some(l)
            }
            _ => None,
        }
    }
}

impl From<RuntimeError> for Error {
    /// Lifts [`RuntimeError::Spec`] to [`Error::Spec`] and [`RuntimeError::Placeholder`] to
    /// [`Error::Placeholder`], so each failure has one route; wraps the rest in
    /// [`Error::Runtime`].
    fn from(e: RuntimeError) -> Self {
        match e {
            RuntimeError::Spec(e) => Error::Spec(e),
            RuntimeError::Placeholder(e) => Error::Placeholder(e),
            other => Error::Runtime(other),
        }
    }
}
