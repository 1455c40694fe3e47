//! # subrun-docker
//!
//! The `docker` runtime: each spawned runtime is one long-lived container, created and started
//! through the Docker Engine API ([bollard](https://docs.rs/bollard)); every command runs in
//! it as `sh -c <command>` through an attached exec. No docker CLI is ever run and no image is
//! ever pulled: the image must exist in the engine's local store.
//!
//! ```text
//!  spawn: inspect image ─▶ create (labels, mounts, limits) ─▶ start ─▶ setup execs ─▶ Pending
//!  execute/stream: exec `sh -c` in the container ─▶ Running ─▶ Exited(outcome) | Killed
//!  cleanup | terminate | drop: kill executions ─▶ remove container (force) ─▶ CleanedUp
//! ```
//!
//! A command that fails is an [`Outcome`](subrun::Outcome), not an error: `Err` means the
//! engine could not run it (image missing, engine unreachable, container gone). Engine errors
//! reach callers as [`RuntimeError::Backend`](subrun::RuntimeError::Backend) with a
//! [`DockerError`] source that names the operation.
//!
//! Defaults (each documented on [`DockerConfig`]): no network, all capabilities dropped,
//! no-new-privileges, the engine's init as PID 1, memory/CPU/pids/open-files limits from the
//! spec's `limits`, the workspace read-write at `/workspace`, assets read-only under
//! `/static`, commands running as the workspace owner — or as `nobody` (65534:65534) when
//! subrun runs as root, which then also binds the workspace onto itself `nosuid,nodev`. With
//! `limits.disk` the root filesystem is read-only and /tmp, /var/tmp, /run and /dev/shm are
//! tmpfs mounts charged with the workspace. The container lives on a lease: its keep-alive
//! reads a stdin this process holds attached, so it stops when this process goes away. See
//! `docs/runtimes/docker.md`.

mod bind;
mod config;
mod container;
mod disk;
mod error;
mod exec;
mod factory;
mod gc;
mod lazy;
mod mounts;
mod outcome;
mod owner;
mod ownership;
mod remove;
mod runtime;
mod scripts;
mod shared;

pub use config::{DockerConfig, MIN_MEMORY, NetworkPolicy, UserId};
pub use container::{LABEL_RUNTIME, LABEL_SESSION, LABEL_VERSION};
pub use error::DockerError;
pub use factory::{DockerRuntimeFactory, KIND, capabilities, release_stale_binds};
pub use gc::{LeftoverContainer, LeftoverFilter};
pub use lazy::LazyDockerFactory;
pub use ownership::UNPRIVILEGED;
pub use runtime::{DockerBackend, DockerRunning, DockerRuntime};

/// The image the tests use, built by `scripts/build-test-images.sh` from Debian's
/// `busybox-static` (a busybox root filesystem with a `subrun` user, uid 1000).
pub const TEST_IMAGE: &str = "subrun-test/busybox:latest";
