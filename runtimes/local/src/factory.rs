//! [`LocalRuntimeFactory`]: validates specs and spawns [`LocalRuntime`]s.

use std::sync::Arc;

use subrun::ids::RuntimeKind;
use subrun::runtime::{ResolvedAsset, RuntimeFactory, SpawnContext, async_trait};
use subrun::{Capabilities, EnvironmentSpec, RuntimeError, SpecError, SubmissionRuntime};

use crate::config::LocalConfig;

/// Creates `local` runtimes. Register it under [`LocalRuntimeFactory::KIND`]:
///
/// ```
/// # use std::sync::Arc;
/// # use subrun::runtime::RuntimeFactory;
/// use subrun_local::LocalRuntimeFactory;
/// let factory = LocalRuntimeFactory::new();
/// assert_eq!(factory.kind().as_str(), "local");
/// assert!(!factory.capabilities().filesystem_isolation);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalRuntimeFactory;

impl LocalRuntimeFactory {
    /// The name specs select with `type: local`.
    pub const KIND: &'static str = "local";

    /// A factory (it holds no state).
    pub fn new() -> Self {
        Self
    }
}

/// The local runtime's capabilities: a shell and processes; no isolation of any kind; no
/// fuel; not deterministic.
pub(crate) fn capabilities() -> Capabilities {
    let mut caps = Capabilities::none();
    caps.shell = true;
    caps.processes = true;
    caps
}

#[async_trait]
impl RuntimeFactory for LocalRuntimeFactory {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::new(Self::KIND)
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    /// Parses the optional `local:` section and refuses the limits local cannot enforce:
    /// `limits.fuel`, `limits.processes`, `limits.cpus`, `limits.disk`.
    fn validate(&self, spec: &EnvironmentSpec) -> Result<(), SpecError> {
        LocalConfig::from_spec(spec).map(drop)
    }

    /// The asset's absolute host path: local commands see the host filesystem as it is.
    fn asset_path(&self, asset: &ResolvedAsset) -> String {
        asset.host_path.display().to_string()
    }

    /// Refuses mounts and ports, checks the shell and the workspace, then runs the setup
    /// commands once, in order (their output is attached to the first result).
    async fn spawn(&self, ctx: SpawnContext) -> Result<Arc<dyn SubmissionRuntime>, RuntimeError> {
        Ok(Arc::new(crate::runtime::spawn(ctx).await?))
    }
}
