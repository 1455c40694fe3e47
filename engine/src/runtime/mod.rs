//! The runtime contract: [`RuntimeFactory`] spawns, [`SubmissionRuntime`] runs.
//!
//! ```text
//!   Registry ──get(type)──▶ RuntimeFactory ──spawn(SpawnContext)──▶ SubmissionRuntime
//!                                  │ validate(spec)                    │ setup once
//!                                  │ asset_path(asset)                 ▼
//!                                  ▼                      Pending ─execute/stream─▶ Running
//!                         refuse what it cannot                  ▲                   │
//!                         enforce (no silent ignore)             └──── Exited(Outcome) / Killed
//!                                                          cleanup (any state) ─▶ CleanedUp
//! ```
//!
//! Every method is callable through `Arc<dyn SubmissionRuntime>` from any task; `kill` works
//! from another task while `execute` is awaited.

mod driver;

pub use crate::assets::ResolvedAsset;
pub use crate::env::base_env;
pub use crate::error::BoxError;
pub use crate::execution::EventSender;
pub use crate::quota::DiskWatch;
/// Re-exported so runtime crates implement the traits with the same macro version.
pub use async_trait::async_trait;
pub use driver::{
    Backend, DrivenRuntime, DriverConfig, Ended, Io, Job, Output, Running, Stop, StopReason,
};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::RuntimeError;
use crate::execution::Execution;
use crate::ids::{RuntimeId, RuntimeKind, SessionId};
use crate::request::ExecRequest;
use crate::result::{Outcome, RuntimeResult};
use crate::spec::{EnvironmentSpec, ResolvedSpec, SpecError};

/// Evaluation (grading) or agent inference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Grading: `setup.eval_commands` run; assets are shown read-only, not copied.
    #[default]
    #[serde(alias = "eval")]
    Evaluation,
    /// Agent inference: assets are also copied into the workspace; checkpoints diff it.
    Agent,
}

impl Mode {
    /// True in evaluation mode.
    pub fn is_evaluation(self) -> bool {
        self == Mode::Evaluation
    }
}

/// A host directory or file shown to the command at `target`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    /// Host path; a relative one resolves against the workspace (for spec and spawn mounts
    /// alike, on every runtime).
    pub host: PathBuf,
    /// Absolute path inside the runtime.
    pub target: String,
    /// Writable; mounts are read-only unless marked.
    #[serde(default)]
    pub writable: bool,
}

/// A container port to publish (docker only).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortBinding {
    /// The port inside the container.
    pub container: u16,
    /// The host port; `None` lets the engine choose.
    #[serde(default)]
    pub host: Option<u16>,
}

/// What a runtime can do, so callers (and the conformance suite) can tell a missing
/// capability from a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// Commands run through a POSIX shell (`sh -c`): pipes, `&&`, background jobs.
    pub shell: bool,
    /// Commands may start child processes.
    pub processes: bool,
    /// The command cannot see host files outside its grants.
    pub filesystem_isolation: bool,
    /// The command cannot reach the network unless granted.
    pub network_isolation: bool,
    /// Fuel (deterministic instruction budgets) is available.
    pub fuel: bool,
    /// Deterministic mode (fixed clocks and randomness) is available.
    pub deterministic: bool,
}

impl Capabilities {
    /// No capability at all; runtimes switch on what they have:
    ///
    /// ```
    /// let mut caps = subrun::Capabilities::none();
    /// caps.fuel = true;
    /// assert!(!caps.shell);
    /// ```
    pub const fn none() -> Self {
        Self {
            shell: false,
            processes: false,
            filesystem_isolation: false,
            network_isolation: false,
            fuel: false,
            deterministic: false,
        }
    }
}

/// A spawned runtime's lifecycle state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RuntimeState {
    /// Spawned (setup done), nothing executed yet.
    Pending,
    /// At least one execution is running.
    Running,
    /// The last execution ended with this outcome.
    Exited {
        /// How it ended.
        outcome: Outcome,
    },
    /// The last execution was killed.
    Killed,
    /// Cleaned up; every further call except `kill`/`cleanup` is an error.
    CleanedUp,
}

/// Everything a factory needs to spawn a runtime. Built by the [`Session`](crate::Session).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SpawnContext {
    /// The session this runtime belongs to.
    pub session_id: SessionId,
    /// The new runtime's id.
    pub runtime_id: RuntimeId,
    /// The resolved spec (placeholders rendered for this runtime).
    pub spec: Arc<ResolvedSpec>,
    /// Host path of the workspace directory.
    pub workspace: PathBuf,
    /// The merged environment below call-level variables: host (only with
    /// `include_os_env`) < spec < spawn.
    pub env: BTreeMap<String, String>,
    /// Extra mounts requested at spawn (after the spec's own).
    pub mounts: Vec<Mount>,
    /// Ports to publish.
    pub ports: Vec<PortBinding>,
    /// Evaluation or agent inference.
    pub mode: crate::Mode,
    /// Setup commands to run once, in order, before the first command (empty when setup is
    /// disabled).
    pub setup_commands: Vec<String>,
}

impl SpawnContext {
    /// A context for `spec` with the workspace at `workspace` and nothing else: fresh ids, the
    /// spec's env only (no host env), no mounts, evaluation mode, no setup. Convenient for
    /// tests and for embedders that manage their own workspace.
    pub fn new(spec: Arc<ResolvedSpec>, workspace: PathBuf) -> Self {
        let env = spec.spec.environment.env.clone();
        Self {
            session_id: SessionId::generate(),
            runtime_id: RuntimeId::generate(),
            spec,
            workspace,
            env,
            mounts: Vec::new(),
            ports: Vec::new(),
            mode: Mode::Evaluation,
            setup_commands: Vec::new(),
        }
    }
}

/// Creates runtimes of one kind; registered in a [`Registry`](crate::Registry).
#[async_trait]
pub trait RuntimeFactory: Send + Sync {
    /// The name specs select with `type:`.
    fn kind(&self) -> RuntimeKind;

    /// What runtimes of this kind can do.
    fn capabilities(&self) -> Capabilities;

    /// Checks the backend section and the limits; refuses anything it cannot enforce.
    ///
    /// # Errors
    /// A [`SpecError`] naming each refused key.
    fn validate(&self, spec: &EnvironmentSpec) -> Result<(), SpecError>;

    /// Where runtimes of this kind show `asset` (what `{{static:NAME}}` renders to).
    fn asset_path(&self, asset: &ResolvedAsset) -> String;

    /// Spawns a runtime and runs its setup commands.
    ///
    /// # Errors
    /// [`RuntimeError::SetupFailed`] with the setup output, or a backend failure.
    async fn spawn(&self, ctx: SpawnContext) -> Result<Arc<dyn SubmissionRuntime>, RuntimeError>;
}

/// A spawned runtime. See the module docs for the lifecycle.
#[async_trait]
pub trait SubmissionRuntime: Send + Sync {
    /// This runtime's id.
    fn id(&self) -> &RuntimeId;

    /// The runtime kind.
    fn kind(&self) -> RuntimeKind;

    /// What this runtime can do.
    fn capabilities(&self) -> Capabilities;

    /// Starts `request` and returns its event stream.
    ///
    /// # Errors
    /// [`RuntimeError::CleanedUp`] after cleanup; an invalid command; a backend failure. A
    /// failing command is *not* an error: it ends in a `Finished` event with its outcome.
    async fn stream(&self, request: ExecRequest) -> Result<Execution, RuntimeError>;

    /// Runs `request` to completion.
    ///
    /// # Errors
    /// As [`stream`](Self::stream).
    async fn execute(&self, request: ExecRequest) -> Result<RuntimeResult, RuntimeError> {
        self.stream(request).await?.wait().await
    }

    /// The outcome of the last execution if it finished, `None` while one runs or before the
    /// first.
    ///
    /// # Errors
    /// [`RuntimeError::CleanedUp`] after cleanup.
    fn poll(&self) -> Result<Option<Outcome>, RuntimeError>;

    /// The lifecycle state.
    fn state(&self) -> RuntimeState;

    /// Kills every running execution (each ends `Killed`, output kept). Idempotent: killing
    /// nothing, or after cleanup, is `Ok(())`.
    ///
    /// # Errors
    /// A backend failure while stopping processes.
    async fn kill(&self) -> Result<(), RuntimeError>;

    /// Kills everything and releases the runtime's resources (processes, containers,
    /// compiled state). Idempotent.
    ///
    /// # Errors
    /// A backend failure while releasing resources; the runtime is still marked cleaned up.
    async fn cleanup(&self) -> Result<(), RuntimeError>;

    /// Best-effort, non-blocking cleanup for `Drop` paths (a dropped or panicking session):
    /// kills running executions at once and schedules the release of anything else.
    fn terminate(&self);
}
