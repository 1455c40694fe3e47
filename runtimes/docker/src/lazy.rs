//! [`LazyDockerFactory`]: the `docker` runtime, connecting to the engine only when a docker
//! runtime is actually spawned, so a registry that holds it (the CLI's, the Python package's)
//! runs wasi and local, and checks docker specs, on machines without a Docker daemon.

use std::sync::Arc;

use subrun::ids::RuntimeKind;
use subrun::runtime::{ResolvedAsset, RuntimeFactory, SpawnContext, async_trait};
use subrun::{Capabilities, EnvironmentSpec, RuntimeError, SpecError, SubmissionRuntime};
use tokio::sync::OnceCell;

use crate::{DockerConfig, DockerRuntimeFactory};

/// Registers as `docker`; validates specs and answers asset paths without a connection; the
/// first spawn connects (and a failure to connect is that spawn's error).
#[derive(Debug, Default)]
pub struct LazyDockerFactory {
    connected: OnceCell<DockerRuntimeFactory>,
}

impl LazyDockerFactory {
    /// A factory that has not connected yet.
    pub fn new() -> Self {
        Self::default()
    }

    async fn factory(&self) -> Result<&DockerRuntimeFactory, RuntimeError> {
        self.connected
            .get_or_try_init(DockerRuntimeFactory::connect)
            .await
    }
}

#[async_trait]
impl RuntimeFactory for LazyDockerFactory {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::new(crate::KIND)
    }

    fn capabilities(&self) -> Capabilities {
        crate::capabilities()
    }

    fn validate(&self, spec: &EnvironmentSpec) -> Result<(), SpecError> {
        DockerConfig::from_spec(spec).map(drop)
    }

    /// `/static/<save_path>`, as the docker runtime mounts assets.
    fn asset_path(&self, asset: &ResolvedAsset) -> String {
        asset.static_path()
    }

    async fn spawn(&self, ctx: SpawnContext) -> Result<Arc<dyn SubmissionRuntime>, RuntimeError> {
        self.factory().await?.spawn(ctx).await
    }
}
