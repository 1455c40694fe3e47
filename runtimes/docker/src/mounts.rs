//! The container's mounts, merged by container path in this order (a later entry replaces an
//! earlier one at the same target):
//!
//! 1. the workspace, read-write at `workdir` (when `mount_workspace`);
//! 2. each static asset, read-only at `/static/<save_path>`;
//! 3. the spec's `docker.extra_mounts`, in order;
//! 4. the spawn's extra mounts (`SpawnContext::mounts`), in order.
//!
//! Extra mounts (3 and 4) may not target `workdir` or anything under it, and relative host
//! paths in them resolve against the workspace (without `..`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bollard::models::{
    Mount as EngineMount, MountBindOptions, MountBindOptionsPropagationEnum, MountType,
};
use subrun::runtime::ResolvedAsset;
use subrun::{RuntimeError, SpecError};

use crate::config::{DockerConfig, mount_issues};
use crate::error::DockerError;

/// One bind mount of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PlannedMount {
    pub(crate) host: PathBuf,
    pub(crate) target: String,
    pub(crate) writable: bool,
    /// Where it came from, for messages (`workspace`, `static_assets.data`, `docker.extra_mounts[0]`).
    pub(crate) key: String,
}

/// Builds the merged mount list; see the module docs for the order.
///
/// Reads the host filesystem (ambient authority) to check that each host path exists.
///
/// # Errors
/// A spec error naming the mount's key, or a missing host path.
pub(crate) fn plan_mounts(
    config: &DockerConfig,
    workspace: &Path,
    assets: &[ResolvedAsset],
    spawn_mounts: &[subrun::Mount],
    origin: &str,
) -> Result<Vec<PlannedMount>, RuntimeError> {
    let mut merged: BTreeMap<String, PlannedMount> = BTreeMap::new();
    if config.mount_workspace {
        merged.insert(
            config.workdir.clone(),
            PlannedMount {
                host: workspace.to_path_buf(),
                target: config.workdir.clone(),
                writable: true,
                key: "workspace".into(),
            },
        );
    }
    for a in assets {
        let target = a.static_path();
        merged.insert(
            target.clone(),
            PlannedMount {
                host: a.host_path.clone(),
                target,
                writable: false,
                key: format!("static_assets.{}", a.name),
            },
        );
    }
    let extra = config
        .extra_mounts
        .iter()
        .enumerate()
        .map(|(i, m)| (format!("docker.extra_mounts[{i}]"), m))
        .chain(
            spawn_mounts
                .iter()
                .enumerate()
                .map(|(i, m)| (format!("mounts[{i}]"), m)),
        );
    for (key, m) in extra {
        if let Some((field, message)) = mount_issues(m, &config.workdir).into_iter().next() {
            return Err(SpecError::new(origin, format!("{key}.{field}"), message).into());
        }
        let host = if m.host.is_absolute() {
            m.host.clone()
        } else {
            workspace.join(&m.host)
        };
        std::fs::metadata(&host).map_err(|source| {
            DockerError::MountSource {
                key: format!("{key}.host"),
                path: host.clone(),
                source,
            }
            .during("prepare container mounts")
        })?;
        merged.insert(
            m.target.clone(),
            PlannedMount {
                host,
                target: m.target.clone(),
                writable: m.writable,
                key,
            },
        );
    }
    Ok(merged.into_values().collect())
}

/// The engine's mount objects (bind mounts, private propagation).
pub(crate) fn engine_mounts(plan: &[PlannedMount]) -> Vec<EngineMount> {
    plan.iter()
        .map(|m| EngineMount {
            target: Some(m.target.clone()),
            source: Some(m.host.to_string_lossy().into_owned()),
            typ: Some(MountType::BIND),
            read_only: Some(!m.writable),
            bind_options: Some(MountBindOptions {
                propagation: Some(MountBindOptionsPropagationEnum::RPRIVATE),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {

    use super::*;
    use subrun::Mount;

    fn config(extra: Vec<Mount>) -> DockerConfig {
        DockerConfig {
            image: "x".into(),
            workdir: "/workspace".into(),
            mount_workspace: true,
            extra_mounts: extra,
            network: Default::default(),
            user: None,
            keep_container_after_clean: false,
        }
    }

    fn mount(host: &str, target: &str, writable: bool) -> Mount {
        Mount {
            host: host.into(),
            target: target.into(),
            writable,
        }
    }

    #[test]
    fn later_mounts_win_by_container_path_and_relative_hosts_use_the_workspace() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir(ws.path().join("data")).unwrap();
        let other = tempfile::tempdir().unwrap();
        let asset = ResolvedAsset {
            name: "fixture".into(),
            host_path: other.path().to_path_buf(),
            save_path: "fixture".into(),
            is_dir: true,
        };
        let spec_mounts = vec![
            mount("data", "/data", false),
            mount(other.path().to_str().unwrap(), "/static/fixture", true),
        ];
        let spawn = vec![mount("data", "/data", true)];
        let plan = plan_mounts(
            &config(spec_mounts),
            ws.path(),
            &[asset],
            &spawn,
            "env.yaml",
        )
        .unwrap();
        let by_target: BTreeMap<_, _> = plan.iter().map(|m| (m.target.as_str(), m)).collect();
        assert_eq!(by_target.len(), 3, "{plan:?}");
        assert!(by_target["/workspace"].writable);
        assert_eq!(by_target["/data"].host, ws.path().join("data"));
        assert_eq!(by_target["/data"].key, "mounts[0]");
        assert!(by_target["/data"].writable, "the spawn mount wins");
        assert_eq!(by_target["/static/fixture"].key, "docker.extra_mounts[1]");
    }

    #[test]
    fn spawn_mounts_under_the_workdir_and_missing_hosts_are_refused() {
        let ws = tempfile::tempdir().unwrap();
        let err = plan_mounts(
            &config(vec![]),
            ws.path(),
            &[],
            &[mount("/tmp", "/workspace/tmp", false)],
            "env.yaml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("mounts[0].target"), "{err}");
        let err = plan_mounts(
            &config(vec![]),
            ws.path(),
            &[],
            &[mount("nope", "/nope", false)],
            "env.yaml",
        )
        .unwrap_err();
        let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(chain.contains("mounts[0].host"), "{chain}");
        assert!(chain.contains("nope"), "{chain}");
    }
}
