//! Building and preparing a session.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::Session;
use crate::assets::{
    AssetBases, AssetConfig, AssetError, AssetGroup, AssetOrigin, resolve_groups_with_bases,
};
use crate::error::Error;
use crate::ids::SessionId;
use crate::registry::Registry;
use crate::runtime::Mode;
use crate::snapshot::Snapshot;
use crate::spec::{EnvironmentSpec, ResolvedSpec};
use crate::workspace::{Workspace, WorkspaceLimits};

/// Configures a [`Session`]; [`prepare`](Self::prepare) makes it.
///
/// Defaults: evaluation mode, an empty workspace, the spec's assets only, caller asset
/// paths relative to the current directory, [`WorkspaceLimits::default`] (100,000 entries,
/// 1 GiB per snapshot, 256 MiB per file read, 128 directory levels).
#[derive(Debug)]
#[must_use]
pub struct SessionBuilder {
    registry: Registry,
    spec: EnvironmentSpec,
    mode: Mode,
    initial_dir: Option<PathBuf>,
    initial_snapshot: Option<Snapshot>,
    caller_assets: AssetGroup,
    caller_groups: Vec<AssetGroup>,
    assets_base_dir: Option<PathBuf>,
    workspace_limits: WorkspaceLimits,
}

impl SessionBuilder {
    pub(crate) fn new(registry: Registry, spec: EnvironmentSpec) -> Self {
        Self {
            registry,
            spec,
            mode: Mode::Evaluation,
            initial_dir: None,
            initial_snapshot: None,
            caller_assets: AssetGroup {
                name: Some("caller".into()),
                ordering: i64::MAX,
                assets: Default::default(),
            },
            caller_groups: Vec::new(),
            assets_base_dir: None,
            workspace_limits: WorkspaceLimits::default(),
        }
    }

    /// Evaluation (default) or agent inference.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// A host directory whose contents are copied into the workspace (after the initial
    /// snapshot, replacing entries at the same paths). The original is never modified.
    pub fn initial_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.initial_dir = Some(dir.into());
        self
    }

    /// A snapshot restored into the fresh workspace.
    pub fn initial_snapshot(mut self, snapshot: Snapshot) -> Self {
        self.initial_snapshot = Some(snapshot);
        self
    }

    /// A caller asset (`--asset NAME=PATH`): shown at `/static/NAME`, overriding any spec
    /// asset of the same name. A relative `path` resolves against
    /// [`assets_base_dir`](Self::assets_base_dir).
    pub fn asset(mut self, name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        self.caller_assets.assets.insert(
            name.into(),
            AssetConfig {
                path: path.into(),
                save_path: None,
            },
        );
        self
    }

    /// A caller asset group; its `ordering` decides what it overrides (spec assets have
    /// ordering 0 unless their group says otherwise; on a tie the caller's group wins).
    pub fn asset_group(mut self, group: AssetGroup) -> Self {
        self.caller_groups.push(group);
        self
    }

    /// The directory relative caller asset paths resolve against (default: the current
    /// directory). Spec assets always resolve against the spec's own directory.
    pub fn assets_base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.assets_base_dir = Some(dir.into());
        self
    }

    /// Bounds on what the session reads back from its workspace in one operation: snapshot
    /// captures (`update_snapshot`, `finish_checkpoint`, `diff_since_baseline` and the
    /// baseline taken by `prepare`) and `get_file_contents`. A bound reached is an error that
    /// names the path and the setting, never a truncated result.
    pub fn workspace_limits(mut self, limits: WorkspaceLimits) -> Self {
        self.workspace_limits = limits;
        self
    }

    /// Validates the spec against its runtime, resolves assets and placeholders, creates a
    /// fresh temporary workspace, restores the initial snapshot, copies the initial
    /// directory, copies assets into the workspace at their `save_path` in agent mode only,
    /// and takes the baseline snapshot that later diffs compare against. On any error the
    /// workspace is removed again.
    ///
    /// # Errors
    /// [`Error::Spec`] for an unknown runtime type, a spec the runtime refuses or an unknown
    /// placeholder, [`Error::Assets`] listing every asset problem, [`Error::Workspace`] /
    /// [`Error::Snapshot`] for filesystem failures.
    pub async fn prepare(self) -> Result<Session, Error> {
        let spec = self.spec;
        let factory = self.registry.validated(&spec)?;

        let mut groups = spec.asset_group_list(AssetOrigin::SpecFile);
        for (i, g) in self.caller_groups.into_iter().enumerate() {
            groups.push((
                format!("caller_asset_groups[{i}].assets"),
                g,
                AssetOrigin::Caller,
            ));
        }
        if !self.caller_assets.assets.is_empty() {
            groups.push(("assets".into(), self.caller_assets, AssetOrigin::Caller));
        }
        let caller_dir = match self.assets_base_dir {
            Some(d) => d,
            // Ambient authority: the process's current directory.
            None => std::env::current_dir().map_err(|e| {
                Error::Assets(vec![AssetError {
                    key: "assets_base_dir".into(),
                    message: format!("the current directory cannot be read: {e}"),
                }])
            })?,
        };
        let bases = AssetBases {
            spec_dir: spec.base_dir.clone(),
            caller_dir,
        };
        let assets = resolve_groups_with_bases(&groups, &bases).map_err(Error::Assets)?;
        let resolved = ResolvedSpec::resolve(&spec, assets, &|a| factory.asset_path(a))?;

        let workspace = Workspace::create_temp()?.with_limits(self.workspace_limits);
        if let Some(snapshot) = &self.initial_snapshot {
            snapshot.restore_into(&workspace)?;
        }
        if let Some(dir) = &self.initial_dir {
            let summary = workspace.import_host_dir(dir)?;
            tracing::debug!(dir = %dir.display(), files = summary.files, skipped = summary.skipped.len(), "initial directory copied");
        }
        if self.mode == Mode::Agent {
            for asset in &resolved.assets {
                workspace.copy_host_path(&asset.host_path, &asset.save_path)?;
            }
        }
        let baseline = Snapshot::capture(&workspace, &spec.snapshot)?;
        let id = SessionId::generate();
        tracing::debug!(session = %id, kind = %spec.kind, mode = ?self.mode, workspace = %workspace.path().display(), "session prepared");
        Ok(Session {
            id,
            mode: self.mode,
            factory,
            spec,
            resolved: Arc::new(resolved),
            workspace: Some(workspace),
            runtimes: Mutex::new(Vec::new()),
            baseline: Mutex::new(baseline),
        })
    }
}
