//! The container's creation request: labels, mounts, user, network, security options and
//! resource limits.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, HostConfig, PortBinding as EnginePort, ResourcesUlimits,
};
use subrun::ids::{RuntimeKind, SessionId};
use subrun::spec::Limits;
use subrun::{PortBinding, RuntimeError};

use crate::config::{DockerConfig, NetworkPolicy, UserId};
use crate::disk::{TMPFS_TARGETS, tmpfs_options, tmpfs_size};
use crate::factory::KIND;
use crate::mounts::{PlannedMount, engine_mounts};
use crate::scripts;

/// Label holding the session id; every container subrun creates has it.
pub const LABEL_SESSION: &str = "subrun.session";
/// Label holding the runtime id.
pub const LABEL_RUNTIME: &str = "subrun.runtime";
/// Label holding the subrun version that created the container.
pub const LABEL_VERSION: &str = "subrun.version";

/// Everything the creation request is made of.
pub(crate) struct ContainerPlan<'a> {
    pub(crate) config: &'a DockerConfig,
    pub(crate) limits: &'a Limits,
    pub(crate) mounts: &'a [PlannedMount],
    pub(crate) user: Option<UserId>,
    pub(crate) ports: &'a [PortBinding],
    pub(crate) session: &'a SessionId,
    pub(crate) runtime: &'a subrun::ids::RuntimeId,
}

/// Checks spawn options against the network policy.
///
/// # Errors
/// [`RuntimeError::Unsupported`] for ports without a bridge network.
pub(crate) fn check_ports(
    config: &DockerConfig,
    ports: &[PortBinding],
) -> Result<(), RuntimeError> {
    if !ports.is_empty() && config.network != NetworkPolicy::Bridge {
        return Err(RuntimeError::Unsupported {
            kind: RuntimeKind::new(KIND),
            what: format!(
                "publishing ports with `docker.network: {}` (set `network: bridge` to publish ports)",
                config.network.mode()
            ),
        });
    }
    Ok(())
}

/// The engine's create request; see the module docs and `docs/runtimes/docker.md`.
pub(crate) fn create_body(plan: &ContainerPlan<'_>) -> ContainerCreateBody {
    let limits = plan.limits;
    let memory = limits
        .memory
        .map(|m| i64::try_from(m.bytes()).unwrap_or(i64::MAX));
    let ulimits = limits.open_files.map(|n| {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        vec![ResourcesUlimits {
            name: Some("nofile".into()),
            soft: Some(n),
            hard: Some(n),
        }]
    });
    #[expect(
        clippy::cast_possible_truncation,
        reason = "cpus is validated positive and small"
    )]
    let nano_cpus = limits.cpus.map(|c| (c * 1e9).round() as i64);
    let mut exposed = Vec::new();
    let mut bindings: HashMap<String, Option<Vec<EnginePort>>> = HashMap::new();
    for p in plan.ports {
        let key = format!("{}/tcp", p.container);
        exposed.push(key.clone());
        bindings.insert(
            key,
            Some(vec![EnginePort {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(p.host.map(|h| h.to_string()).unwrap_or_default()),
            }]),
        );
    }
    // With a disk quota the root filesystem is read-only and the places programs write are
    // tmpfs mounts capped at the quota, all charged with the workspace (see `disk.rs`).
    let disk = limits.disk.map(|d| d.bytes());
    let tmpfs = disk.map(|limit| {
        TMPFS_TARGETS
            .iter()
            .map(|t| ((*t).to_string(), tmpfs_options(limit)))
            .collect::<HashMap<_, _>>()
    });
    let shm_size = disk.map(|limit| i64::try_from(tmpfs_size(limit)).unwrap_or(i64::MAX));
    let labels = HashMap::from([
        (LABEL_SESSION.to_string(), plan.session.to_string()),
        (LABEL_RUNTIME.to_string(), plan.runtime.to_string()),
        (
            LABEL_VERSION.to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ]);
    let host_config = HostConfig {
        init: Some(true),
        network_mode: Some(plan.config.network.mode().into()),
        cap_drop: Some(vec!["ALL".into()]),
        security_opt: Some(vec!["no-new-privileges".into()]),
        memory,
        memory_swap: memory,
        nano_cpus,
        pids_limit: limits
            .processes
            .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        ulimits,
        mounts: Some(engine_mounts(plan.mounts)),
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        auto_remove: Some(false),
        readonly_rootfs: Some(disk.is_some()),
        tmpfs,
        shm_size,
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(plan.config.image.clone()),
        entrypoint: Some(vec![
            "/bin/sh".into(),
            "-c".into(),
            scripts::KEEPALIVE.into(),
        ]),
        cmd: Some(Vec::new()),
        working_dir: Some(plan.config.workdir.clone()),
        user: plan.user.map(UserId::spec),
        env: Some(Vec::new()),
        labels: Some(labels),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        // The lease: the keep-alive reads stdin, which this process holds attached; when the
        // attachment ends (cleanup, or this process dies) the engine closes stdin
        // (`stdin_once`), the keep-alive exits and the kernel ends every process of the
        // container with its init.
        attach_stdin: Some(true),
        attach_stdout: Some(false),
        attach_stderr: Some(false),
        tty: Some(false),
        open_stdin: Some(true),
        stdin_once: Some(true),
        network_disabled: Some(plan.config.network == NetworkPolicy::None),
        host_config: Some(host_config),
        ..Default::default()
    }
}
