//! # subrun-local
//!
//! The `local` runtime: each command runs as `<shell> -c <command>` (default `/bin/sh`) in its
//! own process group on the host, with the workspace as its working directory.
//!
//! **Trusted code only.** A local command runs with the rights of the calling user: it can read
//! and write every file that user can, reach the network and start processes that leave the
//! process group (`setsid`). Use the `wasi` or `docker` runtime for untrusted submissions.
//!
//! ```text
//!   LocalRuntimeFactory::spawn ── validate, refuse mounts/ports, run setup once
//!                │
//!                ▼
//!            Pending ──execute/stream──▶ Running ──exit──────────▶ Exited(outcome)
//!                ▲                        │  deadline ─▶ TERM, grace, KILL ─▶ Exited(TimedOut)
//!                │                        │  output cap ─▶ TERM, grace, KILL ─▶ Exited(ResourceExceeded)
//!                └── next execute ◀───────┘  kill() ─▶ TERM, grace, KILL ─▶ Killed
//!   cleanup / terminate / Drop (any state) ─▶ every group killed ─▶ CleanedUp
//! ```
//!
//! One supervisor per execution (a `tokio::select!` over the leader's exit, both output pipes,
//! stdin, the deadline, the kill switch and the output cap) ends the whole process group on a
//! deadline, a kill or the output cap, and kills what is left of the group when the command
//! exits by itself, so no background job outlives its command. A failing command is an
//! [`Outcome`](subrun::Outcome), never an `Err`. See `docs/runtimes/local.md` for the rules
//! and their pitfalls.
//!
//! Linux only: the exit of each command is watched through a pidfd (Linux 5.3 or later).

mod config;
mod exit;
mod factory;
mod group;
mod limits;
mod process;
mod runtime;
mod stdin;
mod supervise;

pub use config::LocalConfig;
pub use factory::LocalRuntimeFactory;
pub use runtime::{LocalBackend, LocalRunning, LocalRuntime};
