//! # subrun-tests
//!
//! The conformance suite every runtime passes. Cases are async functions over a [`Target`]
//! (src/cases), written once; `tests/conformance.rs` stamps them out per runtime with
//! [`for_each_case!`]. A case a runtime cannot support (a capability that truly does not
//! exist there, such as a shell in wasm) is generated as an ignored test whose reason says
//! why, so it shows as skipped, never as passed.
//!
//! Guest fixtures (`fixtures/src/bin`) are built by `build.rs` for `wasm32-wasip1` and for the
//! host; every fixture must be used by a case ([`fixtures::cases_of`] does not compile
//! otherwise). Every runtime sees them as the static asset `fixtures`.

#[expect(
    clippy::unwrap_used,
    reason = "conformance cases are test code: an unexpected error fails the case"
)]
pub mod cases;
pub mod fixtures;
pub mod target;

use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;

pub use target::{Kind, Target};

/// One tokio runtime for the whole test binary: runtime factories (the Docker client's
/// connection pool, the wasm engine) are shared between tests and must outlive each test.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("build the test runtime")
});

/// A case: an async function over a target.
pub type Case = fn(&'static Target) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs `case` against the runtime of `kind` on the shared runtime.
pub fn run(kind: Kind, case: Case) {
    RUNTIME.block_on(async move {
        let target = Target::get(kind).await;
        // Spawned so a panic in the case is reported as the test's failure, with its message.
        match tokio::spawn(case(target)).await {
            Ok(()) => {}
            Err(e) if e.is_panic() => {
                // Re-raise on the test's thread so the harness prints the message with the test.
                let payload = e.into_panic();
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
                    .unwrap_or_else(|| "the case panicked".into());
                panic!("{msg}");
            }
            Err(e) => panic!("case cancelled: {e}"),
        }
    });
}

/// Runs any future on the shared runtime (for tests outside the conformance cases).
pub fn block_on<F: Future>(f: F) -> F::Output {
    RUNTIME.block_on(f)
}
