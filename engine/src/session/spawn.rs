//! Spawning runtimes for a session.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::runtime::SessionRuntime;
use super::{Session, lock};
use crate::env::base_env;
use crate::error::Error;
use crate::runtime::{Mode, Mount, PortBinding, SpawnContext, SubmissionRuntime};
use crate::spec::SetupConfig;

/// Options for [`Session::spawn`]. Defaults: no extra env, mounts or ports, setup enabled,
/// no resume commands, no extra setup command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpawnOptions {
    /// Variables over the spec's (below call-level ones); placeholders in values are
    /// rendered.
    pub env: BTreeMap<String, String>,
    /// Extra mounts after the spec's own.
    pub mounts: Vec<Mount>,
    /// Ports to publish (docker).
    pub ports: Vec<PortBinding>,
    /// One more setup command, run last; placeholders are rendered.
    pub extra_setup: Option<String>,
    /// Run no setup command at all.
    pub disable_setup: bool,
    /// Also run the spec's `setup.resume_commands` (after `eval_commands`).
    pub resume: bool,
}

impl SpawnOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one spawn-level variable.
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Adds a mount.
    #[must_use]
    pub fn mount(mut self, mount: Mount) -> Self {
        self.mounts.push(mount);
        self
    }

    /// Adds a published port.
    #[must_use]
    pub fn port(mut self, port: PortBinding) -> Self {
        self.ports.push(port);
        self
    }

    /// Sets the extra setup command.
    #[must_use]
    pub fn extra_setup(mut self, command: impl Into<String>) -> Self {
        self.extra_setup = Some(command.into());
        self
    }

    /// Disables (true) or enables setup.
    #[must_use]
    pub fn disable_setup(mut self, disable: bool) -> Self {
        self.disable_setup = disable;
        self
    }

    /// Runs the resume commands too (true) or not.
    #[must_use]
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// The setup commands a runtime spawned with these options runs, in order:
    /// `setup.commands`, then `setup.eval_commands` (evaluation mode only), then
    /// `setup.resume_commands` (only with [`resume`](Self::resume)), then the extra setup
    /// command. Empty when setup is disabled.
    pub fn setup_commands(&self, setup: &SetupConfig, mode: Mode) -> Vec<String> {
        if self.disable_setup {
            return Vec::new();
        }
        let mut out = setup.commands.clone();
        if mode.is_evaluation() {
            out.extend(setup.eval_commands.iter().cloned());
        }
        if self.resume {
            out.extend(setup.resume_commands.iter().cloned());
        }
        out.extend(self.extra_setup.iter().cloned());
        out
    }
}

impl Session {
    /// Spawns a runtime of the spec's kind on this session's workspace and runs its setup.
    ///
    /// The factory receives the resolved spec, the workspace path, the environment (host
    /// only with `include_os_env` < spec < `opts.env`), the mounts and ports, the mode and
    /// the setup commands in [`SpawnOptions::setup_commands`] order. The runtime returned
    /// renders `{{static:NAME}}` in every request's command and env values before running
    /// it. The session keeps it for cleanup.
    ///
    /// # Errors
    /// [`Error::Placeholder`] for a placeholder in `opts` that does not render,
    /// [`Error::Spec`] for a spec or option the runtime refuses at spawn, [`Error::Runtime`]
    /// for a failing setup command ([`SetupFailed`](crate::error::RuntimeError::SetupFailed),
    /// with its output) or a backend failure.
    pub async fn spawn(&self, opts: SpawnOptions) -> Result<Arc<dyn SubmissionRuntime>, Error> {
        let render = |s: &str| self.resolved.render(s).map_err(Error::Placeholder);
        let spawn_env = opts
            .env
            .iter()
            .map(|(k, v)| Ok((k.clone(), render(v)?)))
            .collect::<Result<BTreeMap<_, _>, Error>>()?;
        let mut rendered = opts.clone();
        rendered.extra_setup = opts.extra_setup.as_deref().map(render).transpose()?;
        let setup = rendered.setup_commands(&self.resolved.spec.setup, self.mode);

        let mut ctx =
            SpawnContext::new(self.resolved.clone(), self.workspace().path().to_path_buf());
        ctx.session_id = self.id.clone();
        ctx.env = base_env(&self.resolved.spec.environment, &spawn_env);
        ctx.mounts = opts.mounts;
        ctx.ports = opts.ports;
        ctx.mode = self.mode;
        ctx.setup_commands = setup;
        let runtime_id = ctx.runtime_id.clone();
        tracing::debug!(session = %self.id, runtime = %runtime_id, kind = %self.resolved.spec.kind, "spawn");
        let runtime = self.factory.spawn(ctx).await?;
        lock(&self.runtimes).push(runtime.clone());
        Ok(Arc::new(SessionRuntime::new(
            runtime,
            self.resolved.clone(),
        )))
    }
}
