//! What every CLI test binary uses: the binary with a private cache, and reading its output.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The binary, with a private wasm cache and an empty guest directory unless a test sets
/// one, and no log filter from the caller's environment.
pub(crate) fn subrun(cache: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_subrun"));
    cmd.env("XDG_CACHE_HOME", cache)
        .env("SUBRUN_GUEST_DIR", cache.join("no-guests"))
        .env_remove("SUBRUN_LOG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd
}

/// Output bytes as text, invalid UTF-8 replaced.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The exit code of a CLI that exited by itself.
pub(crate) fn code(out: &Output) -> i32 {
    out.status
        .code()
        .expect("subrun exits by itself, not by a signal")
}
