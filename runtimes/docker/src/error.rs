//! [`DockerError`]: what went wrong talking to the Docker engine. It never leaves the crate as
//! a bollard type: callers see a [`RuntimeError::Backend`] whose source is a `DockerError`
//! (which keeps the engine's own error as its source).

use std::path::PathBuf;

use bollard::errors::Error as BollardError;
use subrun::RuntimeError;

/// A failed operation against the Docker engine (or the host around it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DockerError {
    /// The engine's socket could not be reached or did not answer.
    #[error("cannot reach the Docker engine (is the daemon running, and is DOCKER_HOST right?)")]
    EngineUnreachable {
        /// The engine's error.
        #[source]
        source: BollardError,
    },
    /// The image is not in the engine's local store; subrun never pulls.
    #[error(
        "image `{image}` not found locally; no registry pull is attempted (build or load it first; the test image comes from scripts/build-test-images.sh)"
    )]
    ImageMissing {
        /// The image reference from the spec.
        image: String,
    },
    /// Inspecting the image failed for another reason.
    #[error("cannot inspect image `{image}`")]
    InspectImage {
        /// The image.
        image: String,
        /// The engine's error.
        #[source]
        source: BollardError,
    },
    /// The engine refused to create the container.
    #[error("cannot create a container from image `{image}`")]
    CreateContainer {
        /// The image.
        image: String,
        /// The engine's error.
        #[source]
        source: BollardError,
    },
    /// The container was created but did not start.
    #[error("cannot start container {container}")]
    StartContainer {
        /// The container id.
        container: String,
        /// The engine's error.
        #[source]
        source: BollardError,
    },
    /// Creating an exec instance failed (the container may be gone).
    #[error("cannot create an exec in container {container}")]
    CreateExec {
        /// The container id.
        container: String,
        /// The engine's error.
        #[source]
        source: BollardError,
    },
    /// Starting or attaching to an exec instance failed.
    #[error("cannot start or attach to exec {exec} in container {container}")]
    Attach {
        /// The container id.
        container: String,
        /// The exec id.
        exec: String,
        /// The engine's error.
        #[source]
        source: BollardError,
    },
    /// The attached output stream broke before the command ended.
    #[error("the output stream of exec {exec} broke")]
    Stream {
        /// The exec id.
        exec: String,
        /// The engine's error.
        #[source]
        source: BollardError,
    },
    /// The engine started the exec but reported it attached differently than asked.
    #[error("exec {exec} started detached although it was attached")]
    Detached {
        /// The exec id.
        exec: String,
    },
    /// Inspecting an exec instance (for its exit code) failed.
    #[error("cannot inspect exec {exec}")]
    InspectExec {
        /// The exec id.
        exec: String,
        /// The engine's error.
        #[source]
        source: BollardError,
    },
    /// The exec's output ended but the engine kept reporting it running.
    #[error("exec {exec} has no exit code although its output ended")]
    NoExitCode {
        /// The exec id.
        exec: String,
    },
    /// Attaching the container's lease (its stdin, held open by this process) failed.
    #[error("cannot attach to the stdin of container {container} (the container's lease)")]
    AttachLease {
        /// The container id.
        container: String,
        /// The engine's error.
        #[source]
        source: BollardError,
    },
    /// Inspecting the container (for its init's host pid) failed.
    #[error("cannot inspect container {container}")]
    InspectContainer {
        /// The container id.
        container: String,
        /// The engine's error.
        #[source]
        source: BollardError,
    },
    /// Binding the workspace onto itself `nosuid,nodev` (subrun as root) failed.
    #[error("cannot {operation} for the workspace {}", path.display())]
    Bind {
        /// The workspace.
        path: PathBuf,
        /// What failed.
        operation: &'static str,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
    /// Restarting the container (the last resort to end a command) failed.
    #[error("cannot restart container {container}")]
    RestartContainer {
        /// The container id.
        container: String,
        /// The engine's error.
        #[source]
        source: BollardError,
    },
    /// Removing the container failed.
    #[error("cannot remove container {container}")]
    RemoveContainer {
        /// The container id.
        container: String,
        /// The engine's error.
        #[source]
        source: BollardError,
    },
    /// Listing containers (for leftovers) failed.
    #[error("cannot list containers")]
    ListContainers {
        /// The engine's error.
        #[source]
        source: BollardError,
    },
    /// A host path to mount does not exist or cannot be read.
    #[error("`{key}`: host path {} cannot be mounted", path.display())]
    MountSource {
        /// The spec key or spawn option that named it.
        key: String,
        /// The resolved host path.
        path: PathBuf,
        /// The filesystem error.
        #[source]
        source: std::io::Error,
    },
    /// The container user could not be given write access to the workspace.
    #[error(
        "docker.user `{user}` cannot write the workspace {} owned by uid {owner}: run subrun as root (the workspace is then handed to that user) or set docker.user to `{owner}`",
        workspace.display()
    )]
    WorkspaceOwner {
        /// The requested container user.
        user: String,
        /// The workspace.
        workspace: PathBuf,
        /// The workspace owner's uid.
        owner: u32,
    },
    /// Handing the workspace to the container user (chown) failed.
    #[error("cannot hand {} to uid:gid {user}", path.display())]
    Chown {
        /// The path that failed.
        path: PathBuf,
        /// The container user.
        user: String,
        /// The filesystem error.
        #[source]
        source: std::io::Error,
    },
}

impl DockerError {
    /// Wraps this error as the engine's [`RuntimeError::Backend`] for `operation`.
    pub fn during(self, operation: impl Into<String>) -> RuntimeError {
        RuntimeError::backend(operation, self)
    }
}

/// True when the engine answered 404 (no such image, container or exec).
pub(crate) fn is_not_found(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// True when the engine answered 409 (conflict, e.g. a removal already in progress).
pub(crate) fn is_conflict(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::DockerResponseServerError {
            status_code: 409,
            ..
        }
    )
}

/// True when the error says the engine could not be reached at all.
pub(crate) fn is_unreachable(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::SocketNotFoundError(_)
            | BollardError::IOError { .. }
            | BollardError::HyperLegacyError { .. }
            | BollardError::RequestTimeoutError
    )
}
