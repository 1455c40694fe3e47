//! `WasiRuntimeFactory`: validates `wasi` specs and spawns runtimes on a shared engine.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use subrun::ids::RuntimeKind;
use subrun::runtime::DriverConfig;
use subrun::runtime::{ResolvedAsset, RuntimeFactory, SpawnContext, async_trait};
use subrun::{
    Capabilities, EnvironmentSpec, Mount, RuntimeError, SpecError, SubmissionRuntime,
    spec::SpecIssue,
};

use crate::config::WasiConfig;
use crate::engine::{Variant, WasiEngine, WasiEngineConfig};
use crate::runtime::{Inner, WasiBackend, WasiRuntime};
use crate::view::{GuestView, normalize_guest_path};

/// Spawns `wasi` runtimes. All runtimes of one factory share its [`WasiEngine`] (compiled
/// modules, instance pool, epoch ticker).
#[derive(Clone, Debug)]
pub struct WasiRuntimeFactory {
    engine: Arc<WasiEngine>,
}

impl WasiRuntimeFactory {
    /// A factory with a new engine built from `config`.
    ///
    /// # Errors
    /// [`WasiError::Engine`](crate::WasiError::Engine) when wasmtime rejects the
    /// configuration.
    pub fn new(config: WasiEngineConfig) -> Result<Self, crate::WasiError> {
        Ok(Self {
            engine: WasiEngine::new(config)?,
        })
    }

    /// A factory on an existing engine.
    pub fn with_engine(engine: Arc<WasiEngine>) -> Self {
        Self { engine }
    }

    /// The shared engine.
    pub fn engine(&self) -> &Arc<WasiEngine> {
        &self.engine
    }

    /// Parses and checks the `wasi:` section and the limits.
    fn config_of(spec: &EnvironmentSpec) -> Result<WasiConfig, SpecError> {
        let config: WasiConfig = spec.backend_section()?;
        let mut issues = Vec::new();
        let mut issue = |key: &str, message: String| {
            issues.push(SpecIssue {
                key: key.to_string(),
                message,
            });
        };
        match normalize_guest_path(&config.workdir) {
            Ok(w) if w == config.workdir && !w.starts_with("/static") => {}
            Ok(_) => issue(
                "wasi.workdir",
                format!(
                    "`{}` must be a normalized absolute path outside /static, like `/workspace`",
                    config.workdir
                ),
            ),
            Err(m) => issue("wasi.workdir", m),
        }
        if let Some(cwd) = &config.cwd {
            match normalize_guest_path(cwd) {
                Ok(c) if c != *cwd => issue(
                    "wasi.cwd",
                    format!("`{cwd}` must be a normalized absolute path, like `{c}`"),
                ),
                Ok(c) if config.workdir == "/" && c != "/" => issue(
                    "wasi.cwd",
                    "needs a `wasi.workdir` other than `/`: the working directory is what `/` shows".into(),
                ),
                Ok(_) => {}
                Err(m) => issue("wasi.cwd", m),
            }
        }
        for (name, p) in &config.programs {
            let key = format!("wasi.programs.{name}");
            if name.is_empty() || name.contains('/') || name.contains(char::is_whitespace) {
                issue(
                    &key,
                    format!("invalid program name `{name}`: a command word without `/` or spaces"),
                );
            }
            if p.module.trim().is_empty() {
                issue(
                    &format!("{key}.module"),
                    "is empty: expected the path of a .wasm or .wat module".into(),
                );
            }
            if let Some(f) = p.deadline_factor
                && !(f.is_finite() && f > 0.0)
            {
                issue(
                    &format!("{key}.deadline_factor"),
                    format!("must be a positive number, found {f}"),
                );
            }
            for guest in p.mounts.keys() {
                check_target(guest, &config.workdir)
                    .unwrap_or_else(|m| issue(&format!("{key}.mounts.{guest}"), m));
            }
        }
        for (i, m) in config.mounts.iter().enumerate() {
            check_target(&m.target, &config.workdir)
                .unwrap_or_else(|msg| issue(&format!("wasi.mounts[{i}].target"), msg));
        }
        if config.max_table_elements == 0 {
            issue("wasi.max_table_elements", "must be positive".into());
        }
        let limits = &spec.limits;
        if config.deterministic && limits.fuel.is_none() {
            issue(
                "limits.fuel",
                "deterministic mode needs a fuel budget (for example `fuel: 10000000000`): the wall clock is not deterministic".into(),
            );
        }
        if let Some(m) = limits.memory
            && m.bytes() > 1 << 32
        {
            issue(
                "limits.memory",
                format!("{m} exceeds 4GiB, the most a wasm32 guest can address"),
            );
        }
        match limits.open_files {
            None => issue(
                "limits.open_files",
                "the wasi runtime needs a number (the default is 256): every file a guest opens is a descriptor of the host process, so `null` would let one guest take them all".into(),
            ),
            Some(n) if n > max_open_files() => issue(
                "limits.open_files",
                format!(
                    "{n} is more than the wasi runtime allows ({}, half of this process's descriptor limit): every file a guest opens is a descriptor of the host process",
                    max_open_files()
                ),
            ),
            Some(_) => {}
        }
        if let Some(c) = limits.cpus
            && c < 1.0
        {
            issue(
                "limits.cpus",
                format!("the wasi runtime cannot throttle a guest below one CPU (found {c})"),
            );
        }
        if issues.is_empty() {
            Ok(config)
        } else {
            Err(SpecError::from_issues(&spec.origin, issues))
        }
    }
}

/// The most `limits.open_files` may be on wasi: half of this process's soft descriptor limit,
/// so guests cannot starve the host process (and its other executions) of descriptors.
fn max_open_files() -> u64 {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    (soft / 2).max(1)
}

fn check_target(target: &str, workdir: &str) -> Result<(), String> {
    let t = normalize_guest_path(target)?;
    if t == "/" {
        return Err("cannot mount over `/` (the workspace)".into());
    }
    let under = |base: &str| t == base || t.starts_with(&format!("{base}/"));
    if under(workdir) {
        return Err(format!(
            "`{t}` is inside the workdir `{workdir}`: mounts may not shadow the workspace"
        ));
    }
    if under("/static") {
        return Err(format!(
            "`{t}` is inside /static, which holds the static assets"
        ));
    }
    Ok(())
}

/// True when `inner` is `outer` or below it (both canonicalized when they exist).
fn is_within(inner: &Path, outer: &Path) -> bool {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    canon(inner).starts_with(canon(outer))
}

#[async_trait]
impl RuntimeFactory for WasiRuntimeFactory {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::new("wasi")
    }

    fn capabilities(&self) -> Capabilities {
        crate::runtime::capabilities()
    }

    fn validate(&self, spec: &EnvironmentSpec) -> Result<(), SpecError> {
        Self::config_of(spec).map(|_| ())
    }

    fn asset_path(&self, asset: &ResolvedAsset) -> String {
        asset.static_path()
    }

    async fn spawn(&self, ctx: SpawnContext) -> Result<Arc<dyn SubmissionRuntime>, RuntimeError> {
        let spec = &ctx.spec.spec;
        let config = Self::config_of(spec)?;
        if !ctx.ports.is_empty() {
            return Err(RuntimeError::Unsupported {
                kind: self.kind(),
                what: "published ports (wasm guests have no sockets)".into(),
            });
        }
        for (i, m) in ctx.mounts.iter().enumerate() {
            check_target(&m.target, &config.workdir).map_err(|msg| {
                RuntimeError::Spec(SpecError::new(
                    &spec.origin,
                    format!("spawn mounts[{i}].target"),
                    msg,
                ))
            })?;
        }
        // Spec mounts, then spawn mounts; relative host paths resolve against the workspace.
        let mounts: Vec<Mount> = config
            .mounts
            .iter()
            .chain(&ctx.mounts)
            .map(|m| Mount {
                host: ctx.workspace.join(&m.host),
                ..m.clone()
            })
            .collect();
        let view = GuestView::build(&config, &ctx.workspace, &ctx.spec.assets, &mounts)?;
        view.check_cwd()
            .map_err(|msg| RuntimeError::Spec(SpecError::new(&spec.origin, "wasi.cwd", msg)))?;
        let cache_dir: Option<PathBuf> = config
            .cache_dir
            .as_ref()
            .map(|d| spec.resolve_path(d))
            .or_else(|| self.engine.config().cache_dir.clone());
        if let Some(dir) = &cache_dir {
            let granted = std::iter::once(&ctx.workspace)
                .chain(ctx.spec.assets.iter().map(|a| &a.host_path))
                .chain(mounts.iter().map(|m| &m.host));
            for g in granted {
                if is_within(dir, g) || is_within(g, dir) {
                    return Err(RuntimeError::Spec(SpecError::new(
                        &spec.origin,
                        "wasi.cache_dir",
                        format!(
                            "`{}` overlaps `{}`, which a guest can see: compiled modules run as native code, so the cache must stay out of every grant",
                            dir.display(),
                            g.display()
                        ),
                    )));
                }
            }
        }
        let variant = if config.deterministic || spec.limits.fuel.is_some() {
            Variant::Metered
        } else {
            Variant::Plain
        };
        let backend = WasiBackend::new(Inner {
            id: ctx.runtime_id.clone(),
            engine: self.engine.clone(),
            variant,
            limits: spec.limits.clone(),
            spec_base: spec.base_dir.clone(),
            config,
            view,
            cache_dir,
        });
        let runtime = WasiRuntime::new(
            DriverConfig::new(&ctx, self.kind(), crate::runtime::capabilities()),
            backend,
        );
        tracing::debug!(runtime = %ctx.runtime_id, session = %ctx.session_id, "spawned wasi runtime");
        runtime.run_setup(&ctx.setup_commands).await?;
        Ok(Arc::new(runtime))
    }
}
