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

/// Runs the docker CLI (an independent witness of what the engine holds).
pub(crate) fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI must be installed for the docker tests");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout).trim().to_string()
}

/// The image the docker tests run (built by scripts/build-test-images.sh).
pub(crate) const TEST_IMAGE: &str = "subrun-test/busybox:latest";

/// Fails (never skips) when the test image is missing.
pub(crate) fn require_test_image() {
    assert!(
        !docker(&["images", "-q", TEST_IMAGE]).is_empty(),
        "the test image {TEST_IMAGE} is missing: run scripts/build-test-images.sh"
    );
}
