//! Sessions: one spec, one workspace, its assets and every runtime spawned from them.
//!
//! ```text
//!  Session::builder(&registry, spec)          validate spec, resolve assets and placeholders,
//!      .mode(..).initial_dir(..)  ──prepare──▶ fresh temp workspace, initial snapshot restored,
//!      .initial_snapshot(..)                   initial dir copied in, assets copied (agent
//!      .asset(..)                              mode), baseline snapshot taken
//!          │
//!          ├── spawn(SpawnOptions) ─▶ runtime (setup run once; `{{static:..}}` rendered in
//!          │                          every command and env value it is given)
//!          ├── materialize_input_files / get_file_contents
//!          ├── update_snapshot / finish_checkpoint (agent mode: snapshot, export, diff)
//!          └── close() ─▶ every runtime cleaned up, workspace removed
//!              (dropping the session instead terminates every runtime and removes the
//!              workspace, also while a panic unwinds)
//! ```
//!
//! File operations (`prepare`, input files, snapshots) do blocking filesystem I/O on the
//! calling thread; they are quick for typical workspaces.

mod builder;
mod close;
mod files;
mod runtime;
mod spawn;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;

pub use builder::SessionBuilder;
pub use files::Checkpoint;
pub use spawn::SpawnOptions;

use crate::assets::ResolvedAsset;
use crate::error::Error;
use crate::ids::SessionId;
use crate::placeholder;
use crate::registry::Registry;
use crate::runtime::{Mode, RuntimeFactory, SubmissionRuntime};
use crate::snapshot::Snapshot;
use crate::spec::{EnvironmentSpec, ResolvedSpec};
use crate::workspace::Workspace;

/// A prepared session. See the module docs for the lifecycle.
pub struct Session {
    id: SessionId,
    mode: Mode,
    factory: Arc<dyn RuntimeFactory>,
    spec: EnvironmentSpec,
    resolved: Arc<ResolvedSpec>,
    /// `Some` until [`close`](Session::close) takes it.
    workspace: Option<Workspace>,
    runtimes: Mutex<Vec<Arc<dyn SubmissionRuntime>>>,
    baseline: Mutex<Snapshot>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("mode", &self.mode)
            .field("kind", &self.resolved.spec.kind)
            .field("workspace", &self.workspace.as_ref().map(Workspace::path))
            .field("runtimes", &lock(&self.runtimes).len())
            .finish_non_exhaustive()
    }
}

/// Locks a mutex, recovering the data if a panic poisoned it (cleanup must still work).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Session {
    /// Starts building a session for `spec` with the runtimes of `registry`.
    pub fn builder(registry: &Registry, spec: EnvironmentSpec) -> SessionBuilder {
        SessionBuilder::new(registry.clone(), spec)
    }

    /// This session's id (runtimes and Docker labels carry it).
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// Evaluation or agent inference.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The spec as given (placeholders not rendered).
    pub fn spec(&self) -> &EnvironmentSpec {
        &self.spec
    }

    /// The spec resolved for this session's runtime kind (placeholders rendered).
    pub fn resolved_spec(&self) -> &Arc<ResolvedSpec> {
        &self.resolved
    }

    /// The workspace.
    pub fn workspace(&self) -> &Workspace {
        self.workspace
            .as_ref()
            .expect("the workspace is present until close() consumes the session")
    }

    /// The resolved static assets.
    pub fn assets(&self) -> &[ResolvedAsset] {
        &self.resolved.assets
    }

    /// Asset name -> the path this session's runtimes show it at.
    pub fn asset_paths(&self) -> &BTreeMap<String, String> {
        &self.resolved.asset_paths
    }

    /// The factory of this session's runtime kind.
    pub fn factory(&self) -> &Arc<dyn RuntimeFactory> {
        &self.factory
    }

    /// How many runtimes were spawned and not yet cleaned up by [`close`](Self::close).
    pub fn runtime_count(&self) -> usize {
        lock(&self.runtimes).len()
    }

    /// Renders `{{static:NAME}}` in `text` to the path this session's runtimes show the
    /// asset at (every runtime of a session is of the spec's kind).
    ///
    /// # Errors
    /// [`Error::Placeholder`] for an unknown or malformed
    /// placeholder, naming it.
    pub fn render(&self, text: &str) -> Result<String, Error> {
        self.resolved.render(text).map_err(Error::Placeholder)
    }

    /// Renders placeholders in every string of `value` (case data: arguments, maps, lists at
    /// any depth; keys are left alone).
    ///
    /// # Errors
    /// As [`render`](Self::render).
    pub fn render_value(&self, value: &Value) -> Result<Value, Error> {
        let paths = &self.resolved.asset_paths;
        let known: Vec<&str> = paths.keys().map(String::as_str).collect();
        placeholder::render_value(value, &|n: &str| paths.get(n).cloned(), &known)
            .map_err(Error::Placeholder)
    }
}
