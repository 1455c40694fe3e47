//! # subrun-guest
//!
//! Small helpers for a submission that subrun runs: where its workspace and static assets
//! are, its arguments and stdin, reading input files and writing result files. The crate builds for `wasm32-wasip1` (what the `wasi` runtime runs)
//! and for the host, so the same submission can be tested natively.
//!
//! ```text
//!  subrun build DIR ──▶ cargo build --release --target wasm32-wasip1 ──▶ submission.wasm
//!  subrun run -- submission.wasm ARGS...
//!     guest view:  /            the workspace (read-write; also the working directory)
//!                  /workspace   the same workspace (the spec's `workdir`)
//!                  /static/...  static assets (read-only)
//!     argv, stdin, stdout, stderr, exit code: as a native process sees them
//! ```
//!
//! | helper | under the `wasi` runtime | natively (tests, `local` runtime) |
//! |---|---|---|
//! | [`workspace()`] | `/` (the workspace) | the current directory |
//! | [`asset("data.csv")`](asset) | `/static/data.csv` | `$SUBRUN_STATIC_DIR/data.csv` when [`STATIC_DIR_ENV`] is set, else `/static/data.csv` |
//! | [`args()`] | the command's arguments | the same |
//! | [`read_stdin()`] | the call's stdin (end-of-file when none was given) | the process's stdin |
//! | [`read_input`]`(path)` / [`write_result`]`(path, bytes)` | relative paths land in the workspace | relative to the current directory |
//!
//! Errors name the operation and the path ([`Error`]); [`report`] turns a `Result` from
//! `main` into an exit code with the whole error chain on stderr.
//!
//! ```no_run
//! use std::process::ExitCode;
//!
//! fn run() -> Result<(), subrun_guest::Error> {
//!     let name = subrun_guest::args().first().cloned().unwrap_or_else(|| "world".into());
//!     let stdin = subrun_guest::read_stdin_to_string()?;
//!     let words = subrun_guest::read_asset_to_string("words.txt")?;
//!     let answer = format!("{name}: {} lines in, {} words known\n",
//!         stdin.lines().count(), words.split_whitespace().count());
//!     subrun_guest::write_result("out/answer.txt", &answer)?;
//!     print!("{answer}");
//!     Ok(())
//! }
//!
//! fn main() -> ExitCode {
//!     subrun_guest::report(run())
//! }
//! ```
//!
//! With the `json` feature, [`read_json`] and [`write_json`] read and write serde types.
//!
//! What a guest under the `wasi` runtime does **not** have: threads, processes, sockets and
//! name lookup (`std::thread::spawn`, `std::process::Command` and `std::net` fail at run
//! time). Files outside the workspace, `/static` and explicit mounts do not exist for it.

mod args;
mod error;
mod files;
#[cfg(feature = "json")]
mod json;
mod paths;
mod report;
mod stdin;

pub use args::args;
pub use error::{Error, Result};
pub use files::{read_asset, read_asset_to_string, read_input, read_input_to_string, write_result};
#[cfg(feature = "json")]
pub use json::{read_json, write_json};
pub use paths::{DEFAULT_STATIC_ROOT, STATIC_DIR_ENV, asset, static_root, try_asset, workspace};
pub use report::report;
pub use stdin::{read_stdin, read_stdin_to_string};

/// True when compiled for WASI (`wasm32-wasip1`), i.e. when running under the `wasi`
/// runtime rather than natively.
///
/// ```
/// assert_eq!(subrun_guest::is_wasi(), cfg!(target_os = "wasi"));
/// ```
pub const fn is_wasi() -> bool {
    cfg!(target_os = "wasi")
}
