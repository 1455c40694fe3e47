//! Integration tests of the engine's workspace, snapshot, diff, input-file and session
//! layers (one binary; each layer in its own module).

#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
#![expect(unreachable_pub, reason = "helpers shared between test modules")]

mod bad_input;
mod common;
mod diff;
mod input;
mod limits;
mod session;
mod snapshot;
mod workspace;
