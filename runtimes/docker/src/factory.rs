//! [`DockerRuntimeFactory`]: validates `docker:` specs and spawns [`DockerRuntime`]s.

use std::sync::{Arc, Mutex};

use bollard::Docker;
use subrun::ids::RuntimeKind;
use subrun::runtime::DriverConfig;
use subrun::runtime::{ResolvedAsset, RuntimeFactory, SpawnContext, async_trait};
use subrun::{Capabilities, EnvironmentSpec, RuntimeError, SpecError, SubmissionRuntime};

use crate::bind::WorkspaceBind;
use crate::config::DockerConfig;
use crate::container::{ContainerPlan, check_ports, create_body};
use crate::disk::DiskMeter;
use crate::error::{DockerError, is_not_found, is_unreachable};
use crate::gc::{LeftoverContainer, LeftoverFilter};
use crate::mounts::plan_mounts;
use crate::ownership::container_user;
use crate::runtime::{DockerBackend, DockerRuntime};
use crate::shared::Shared;

/// The name specs select this runtime with (`type: docker`).
pub const KIND: &str = "docker";

/// What `docker` runtimes can do: a POSIX shell, child processes, filesystem and network
/// isolation; no fuel, no deterministic mode.
pub fn capabilities() -> Capabilities {
    let mut caps = Capabilities::none();
    caps.shell = true;
    caps.processes = true;
    caps.filesystem_isolation = true;
    caps.network_isolation = true;
    caps
}

/// Releases the `nosuid,nodev` self-binds of workspaces (made when subrun runs as root) whose
/// owning process is dead and that match `filter`: clears the setuid/setgid bits under each,
/// unmounts it and forgets it; returns the workspaces. Needs no engine (run it before removing
/// dead owners' workspaces: a bound workspace cannot be removed). Ambient authority: unmounts
/// on the host.
pub fn release_stale_binds(filter: &LeftoverFilter) -> Vec<std::path::PathBuf> {
    crate::bind::release_stale(filter.session_id())
}

/// Spawns `docker` runtimes through one Docker Engine API client.
///
/// ```no_run
/// # async fn demo() -> Result<(), subrun::RuntimeError> {
/// use std::sync::Arc;
/// let factory = subrun_docker::DockerRuntimeFactory::connect().await?;
/// let mut registry = subrun::Registry::new();
/// registry.register(Arc::new(factory)).expect("first registration");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DockerRuntimeFactory {
    docker: Docker,
}

impl DockerRuntimeFactory {
    /// Connects to the engine named by `DOCKER_HOST` (default: the local socket
    /// `/var/run/docker.sock`) and negotiates the API version with it.
    ///
    /// # Errors
    /// [`RuntimeError::Backend`] with [`DockerError::EngineUnreachable`] when the engine does
    /// not answer.
    pub async fn connect() -> Result<Self, RuntimeError> {
        let unreachable = |source| {
            DockerError::EngineUnreachable { source }.during("connect to the Docker engine")
        };
        let docker = Docker::connect_with_defaults().map_err(unreachable)?;
        let docker = docker.negotiate_version().await.map_err(unreachable)?;
        Ok(Self { docker })
    }

    /// A factory over an existing client (its API version should already be negotiated).
    pub fn new(docker: Docker) -> Self {
        Self { docker }
    }

    /// The engine client.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// True when `image` exists in the engine's local store.
    ///
    /// # Errors
    /// The engine could not be asked.
    pub async fn has_image(&self, image: &str) -> Result<bool, RuntimeError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) if is_unreachable(&e) => Err(DockerError::EngineUnreachable { source: e }
                .during(format!("look up image `{image}`"))),
            Err(source) => Err(DockerError::InspectImage {
                image: image.to_string(),
                source,
            }
            .during(format!("look up image `{image}`"))),
        }
    }

    /// Containers subrun created (labelled `subrun.session`) that match `filter`.
    ///
    /// # Errors
    /// The engine could not list containers.
    pub async fn leftovers(
        &self,
        filter: &LeftoverFilter,
    ) -> Result<Vec<LeftoverContainer>, RuntimeError> {
        crate::gc::list(&self.docker, filter).await
    }

    /// Removes every container subrun created (labelled `subrun.session`) that matches
    /// `filter`, running or not, and returns what it removed (for `subrun gc`). Then releases
    /// the workspace binds (see [`release_stale_binds`](Self::release_stale_binds)) of dead
    /// owners that match `filter`.
    ///
    /// # Errors
    /// The engine could not list or remove a container; containers removed before the
    /// failure stay removed.
    pub async fn remove_leftovers(
        &self,
        filter: &LeftoverFilter,
    ) -> Result<Vec<LeftoverContainer>, RuntimeError> {
        let removed = crate::gc::remove(&self.docker, filter).await?;
        self.release_stale_binds(filter);
        Ok(removed)
    }

    /// Releases the `nosuid,nodev` self-binds of workspaces (made when subrun runs as root)
    /// whose owning process is dead and that match `filter`: clears the setuid/setgid bits
    /// under each, unmounts it and forgets it. Returns the workspaces. Ambient authority:
    /// unmounts on the host.
    pub fn release_stale_binds(&self, filter: &LeftoverFilter) -> Vec<std::path::PathBuf> {
        release_stale_binds(filter)
    }

    async fn create_and_start(&self, ctx: &SpawnContext) -> Result<DockerRuntime, RuntimeError> {
        let spec = &ctx.spec.spec;
        let config = DockerConfig::from_spec(spec)?;
        check_ports(&config, &ctx.ports)?;
        let image = config.image.clone();
        let operation = || format!("spawn a docker runtime from image `{image}`");
        if !self.has_image(&image).await? {
            return Err(DockerError::ImageMissing {
                image: image.clone(),
            }
            .during(operation()));
        }
        let mounts = plan_mounts(
            &config,
            &ctx.workspace,
            &ctx.spec.assets,
            &ctx.mounts,
            &spec.origin,
        )?;
        let user = container_user(&config, &ctx.workspace)?;
        // As root: the workspace becomes a nosuid,nodev mount before the engine binds it. Root
        // without CAP_SYS_ADMIN (subrun itself in a container) cannot mount: then only a
        // container user other than root may go on without the bind.
        let bind = if config.mount_workspace {
            match WorkspaceBind::establish(&ctx.workspace, &ctx.session_id) {
                Ok(bind) => bind,
                Err(DockerError::Bind { source, .. })
                    if source.kind() == std::io::ErrorKind::PermissionDenied
                        && user.is_some_and(|u| u.uid != 0) =>
                {
                    tracing::warn!(workspace = %ctx.workspace.display(), error = %source, "cannot bind the workspace nosuid,nodev (no CAP_SYS_ADMIN); going on without, as a non-root container user");
                    None
                }
                Err(e) => return Err(e.during(operation())),
            }
        } else {
            None
        };
        let body = create_body(&ContainerPlan {
            config: &config,
            limits: &spec.limits,
            mounts: &mounts,
            user,
            ports: &ctx.ports,
            session: &ctx.session_id,
            runtime: &ctx.runtime_id,
        });
        let created = self
            .docker
            .create_container(None, body)
            .await
            .map_err(|source| {
                if is_unreachable(&source) {
                    DockerError::EngineUnreachable { source }
                } else {
                    DockerError::CreateContainer {
                        image: image.clone(),
                        source,
                    }
                }
                .during(operation())
            })?;
        for w in created.warnings.iter().filter(|w| !w.is_empty()) {
            tracing::warn!(container = %created.id, warning = %w, "engine warning at create");
        }
        let (live, _) = tokio::sync::watch::channel(0);
        let shared = Arc::new(Shared {
            docker: self.docker.clone(),
            container: created.id.clone(),
            runtime_id: ctx.runtime_id.clone(),
            config,
            user,
            protected_sessions: Mutex::new(Vec::new()),
            disk: ctx
                .spec
                .spec
                .limits
                .disk
                .map(|d| Arc::new(DiskMeter::new(&ctx.workspace, d.bytes()))),
            lease: Mutex::new(None),
            oom_kills: Mutex::new(0),
            live,
            gate: Arc::new(tokio::sync::RwLock::new(())),
        });
        // From here on the runtime owns the container and the bind: dropping it (an error
        // below, or a cancelled spawn) removes the container, then releases the bind.
        let runtime = DockerRuntime::new(
            DriverConfig::new(ctx, self.kind(), capabilities()),
            DockerBackend::new(shared, bind),
        );
        let shared = runtime.backend().shared();
        shared
            .attach_lease()
            .await
            .map_err(|e| e.during(operation()))?;
        self.docker
            .start_container(&created.id, None)
            .await
            .map_err(|source| {
                DockerError::StartContainer {
                    container: created.id.clone(),
                    source,
                }
                .during(operation())
            })?;
        shared.started().await.map_err(|e| e.during(operation()))?;
        Ok(runtime)
    }
}

#[async_trait]
impl RuntimeFactory for DockerRuntimeFactory {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::new(KIND)
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn validate(&self, spec: &EnvironmentSpec) -> Result<(), SpecError> {
        DockerConfig::from_spec(spec).map(|_| ())
    }

    fn asset_path(&self, asset: &ResolvedAsset) -> String {
        asset.static_path()
    }

    async fn spawn(&self, ctx: SpawnContext) -> Result<Arc<dyn SubmissionRuntime>, RuntimeError> {
        let span = tracing::debug_span!("spawn", runtime = KIND, runtime_id = %ctx.runtime_id);
        tracing::Instrument::instrument(self.spawn_inner(ctx), span).await
    }
}

impl DockerRuntimeFactory {
    async fn spawn_inner(
        &self,
        ctx: SpawnContext,
    ) -> Result<Arc<dyn SubmissionRuntime>, RuntimeError> {
        let runtime = self.create_and_start(&ctx).await?;
        if !ctx.setup_commands.is_empty() {
            let setup = runtime.run_setup(&ctx.setup_commands).await;
            let protect = match &setup {
                Ok(()) => runtime.backend().shared().protect_current_sessions().await,
                Err(_) => Ok(()),
            };
            match (setup, protect) {
                (Ok(()), Ok(())) => {}
                (Err(e), _) | (Ok(()), Err(e)) => {
                    if let Err(c) = runtime.cleanup().await {
                        tracing::warn!(error = %c, "cannot remove the container after a failed setup");
                    }
                    return Err(e);
                }
            }
        }
        Ok(Arc::new(runtime))
    }
}
