//! [`CliError`]: what made subrun itself fail (exit code 125), and how it is printed.

use std::fmt::Write as _;
use std::path::PathBuf;

use subrun::{RuntimeError, SpecError};

/// A failure of subrun itself, as opposed to a command that failed (that is an outcome and
/// its exit code).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The async runtime could not be built.
    #[error("cannot start the async runtime")]
    AsyncRuntime(#[source] std::io::Error),
    /// The WebAssembly engine could not be created.
    #[error("cannot create the wasi runtime")]
    WasiEngine(#[source] subrun_wasi::WasiError),
    /// The spec file could not be loaded.
    #[error(transparent)]
    LoadSpec(SpecError),
    /// The current directory could not be read.
    #[error("cannot read the current directory")]
    CurrentDir(#[source] std::io::Error),
    /// The default spec would copy an unreasonably large current directory.
    #[error(
        "the current directory {} is too large to copy in as the workspace ({what}); pass the submission's directory with --workspace DIR (`--workspace .` copies it anyway)",
        dir.display()
    )]
    WorkspaceTooLarge {
        /// The directory.
        dir: PathBuf,
        /// Which limit it passed.
        what: String,
    },
    /// A command needs an interpreter guest that is not installed.
    #[error("{0}")]
    GuestMissing(String),
    /// A `run` option the spec's runtime cannot honour.
    #[error("{flag} is not supported by the `{kind}` runtime: {why}")]
    Unsupported {
        /// The option.
        flag: &'static str,
        /// The runtime kind.
        kind: String,
        /// Why, and what to do instead.
        why: &'static str,
    },
    /// `-e KEY` names a variable whose value in this process is not UTF-8.
    #[error("-e {key}: this process's value of `{key}` is not valid UTF-8; pass it as KEY=VALUE")]
    EnvNotUtf8 {
        /// The variable.
        key: String,
    },
    /// A `--dir` host directory that cannot be shown.
    #[error("--dir {}: {why}", arg.display())]
    Dir {
        /// The host directory as given.
        arg: PathBuf,
        /// Why.
        why: String,
    },
    /// The `--module` file cannot be read.
    #[error("cannot read the --module file {}", path.display())]
    Module {
        /// The file as given.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The `--module` file lies under a guest path where the runtime would look instead.
    #[error(
        "--module {}: the path is also a guest path (under `{prefix}`), where the module would be read in the guest's view; move it elsewhere on the host",
        path.display()
    )]
    ModuleShadowed {
        /// The module's absolute host path.
        path: PathBuf,
        /// The guest prefix it lies under.
        prefix: String,
    },
    /// A path that must become a guest path or a spec value is not UTF-8.
    #[error("{flag} {}: the path is not valid UTF-8", path.display())]
    NotUtf8 {
        /// The option.
        flag: &'static str,
        /// The path.
        path: PathBuf,
    },
    /// The signal handlers could not be installed.
    #[error("cannot install the SIGINT/SIGTERM handlers")]
    Signals(#[source] std::io::Error),
    /// A `--junit` / `--ctrf` report file could not be written.
    #[error("cannot write the {flag} report {}", path.display())]
    WriteReport {
        /// The option.
        flag: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A `grade merge` report file could not be read.
    #[error("cannot read the report {}", path.display())]
    ReadReport {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A `grade merge` report file is not a report (`subrun grade --json` writes one).
    #[error("{}: not a subrun grade report (`subrun grade --json` writes one)", path.display())]
    ParseReport {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// `grade merge` refused the reports.
    #[error(transparent)]
    Merge(#[from] subrun_grade::MergeError),
    /// The `--stdin` file could not be read.
    #[error("cannot read the --stdin file {}", path.display())]
    ReadStdin {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The session could not be prepared (spec refused, assets missing, workspace copy).
    #[error("cannot prepare the session")]
    Prepare(#[source] subrun::Error),
    /// The runtime could not be spawned (or its setup failed).
    #[error("cannot spawn the `{kind}` runtime")]
    Spawn {
        /// The runtime kind.
        kind: String,
        /// Why.
        #[source]
        source: subrun::Error,
    },
    /// The command could not be started or its result was lost.
    #[error("cannot run `{command}`")]
    Execute {
        /// The command.
        command: String,
        /// Why.
        #[source]
        source: RuntimeError,
    },
    /// The session could not be cleaned up completely.
    #[error("cannot clean up the session")]
    Close(#[source] subrun::Error),
    /// The result could not be written as JSON.
    #[error("cannot write the result as JSON")]
    Json(#[source] serde_json::Error),
    /// `subrun build` could not build (a missing toolchain piece says what to install).
    #[error(transparent)]
    Build(subrun_grade::build::BuildError),
    /// The compiler rejected the code (its diagnostics are already on stderr).
    #[error("{what} failed (the compiler's messages are above)")]
    BuildFailed {
        /// Which build.
        what: String,
    },
    /// A temporary directory of a dead run could not be listed or removed.
    #[error("cannot remove {}", path.display())]
    GcDirs {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Docker leftovers could not be listed or removed.
    #[error("cannot remove leftover containers")]
    Gc(#[source] RuntimeError),
}

impl CliError {
    /// The process exit code for this error: 1 when the compiler rejected a submission,
    /// 125 (subrun itself failed) otherwise.
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            CliError::BuildFailed { .. } => crate::exit::BUILD_FAILED,
            _ => crate::exit::FAILURE,
        }
    }
}

/// `subrun: <error>` and one `  caused by: <source>` line per cause, for stderr. Each message
/// is escaped ([`subrun::terminal::escape`]): errors quote names a guest or a submission
/// chose (files, imports, symbols), and each stays on its own line.
pub(crate) fn render_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let escaped = |e: &dyn std::error::Error| subrun::terminal::escape(&e.to_string()).into_owned();
    let mut out = format!("subrun: {}", escaped(err));
    let mut source = err.source();
    while let Some(cause) = source {
        let _ = write!(out, "\n  caused by: {}", escaped(cause));
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_lists_every_cause_on_its_own_line() {
        let err = CliError::ReadStdin {
            path: "in.txt".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        };
        assert_eq!(
            render_chain(&err),
            "subrun: cannot read the --stdin file in.txt\n  caused by: no such file"
        );
    }
}
