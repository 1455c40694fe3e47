//! The `docker:` section of an environment spec, and the checks `validate` runs on it and on
//! the shared `limits`.

use std::path::{Component, Path};

use serde::{Deserialize, Serialize};
use subrun::assets::normalize_relative;
use subrun::spec::Limits;
use subrun::spec::SpecIssue;
use subrun::{EnvironmentSpec, Mount, SpecError};

/// The smallest memory limit the Docker engine accepts (6 MiB).
pub const MIN_MEMORY: u64 = 6 << 20;

/// The `docker:` section. Every default is listed on its field.
///
/// ```yaml
/// docker:
///   image: subrun-test/busybox:latest   # required; must exist locally (never pulled)
///   workdir: /workspace                 # default /workspace
///   mount_workspace: true               # default true
///   extra_mounts: [{ host: data, target: /data, writable: false }]
///   network: none                       # none (default) | bridge | host
///   user: "1000:1000"                   # default: 65534:65534 as root, else the workspace owner
///   keep_container_after_clean: false   # default false
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerConfig {
    /// The image to run (`name[:tag]` or an id). It must exist in the engine's local store:
    /// no registry pull is ever attempted.
    pub image: String,
    /// Where the workspace is mounted and where commands start. Default `/workspace`.
    #[serde(default = "default_workdir")]
    pub workdir: String,
    /// Bind-mount the workspace read-write at `workdir`. Default `true`.
    #[serde(default = "default_true")]
    pub mount_workspace: bool,
    /// More host paths to show in the container (read-only unless `writable`). Relative host
    /// paths resolve against the workspace. Targets are absolute and may not be `workdir` or
    /// lie under it.
    #[serde(default)]
    pub extra_mounts: Vec<Mount>,
    /// Network access. Default [`NetworkPolicy::None`].
    #[serde(default)]
    pub network: NetworkPolicy,
    /// The user commands run as, `UID` or `UID:GID` (a bare `UID` means `UID:UID`).
    ///
    /// Default when subrun runs as root: `65534:65534` (`nobody`), never root; the workspace is
    /// handed to that user (`chown -R`, no symlink followed). Root in the container only when
    /// asked for explicitly: `user: "0"` or `"0:0"` (still without capabilities, with
    /// no-new-privileges, on a `nosuid,nodev` workspace mount).
    ///
    /// Default when subrun is not root: the uid:gid that owns the workspace, so files the
    /// command writes are the host user's (without a workspace mount, the image's own user). A
    /// different user is then refused: the container could not write the workspace.
    #[serde(default)]
    pub user: Option<String>,
    /// Leave the container in place after `cleanup`, for debugging: it keeps running until the
    /// process that spawned it exits (the container's lease), then stops; `subrun gc` removes
    /// it later. Default `false`.
    #[serde(default)]
    pub keep_container_after_clean: bool,
}

fn default_workdir() -> String {
    "/workspace".to_string()
}

fn default_true() -> bool {
    true
}

/// Network access for the container.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkPolicy {
    /// No network interface but loopback (the default).
    #[default]
    None,
    /// The engine's default bridge network (outbound access; ports can be published).
    Bridge,
    /// The host's network stack.
    Host,
}

impl NetworkPolicy {
    /// The engine's `NetworkMode` value.
    pub fn mode(self) -> &'static str {
        match self {
            NetworkPolicy::None => "none",
            NetworkPolicy::Bridge => "bridge",
            NetworkPolicy::Host => "host",
        }
    }

    /// True unless the policy is `none`.
    pub fn allows_network(self) -> bool {
        self != NetworkPolicy::None
    }
}

/// A numeric container user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserId {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl UserId {
    /// Parses `UID` or `UID:GID`.
    ///
    /// # Errors
    /// A message saying what was expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{text}` is not a numeric user: expected `UID` or `UID:GID` such as `1000:1000`"
            )
        };
        let (u, g) = match text.split_once(':') {
            Some((u, g)) => (u, g),
            None => (text, text),
        };
        let uid = u.trim().parse::<u32>().map_err(|_| bad())?;
        let gid = g.trim().parse::<u32>().map_err(|_| bad())?;
        Ok(Self { uid, gid })
    }

    /// `uid:gid`, as the engine takes it.
    pub fn spec(self) -> String {
        format!("{}:{}", self.uid, self.gid)
    }
}

impl DockerConfig {
    /// Reads and checks the `docker:` section of `spec`, and checks `spec.limits` against what
    /// this runtime enforces.
    ///
    /// # Errors
    /// A [`SpecError`] listing every refused key.
    pub fn from_spec(spec: &EnvironmentSpec) -> Result<Self, SpecError> {
        let config: DockerConfig = spec.backend_section()?;
        let mut issues = config.issues();
        issues.extend(limit_issues(&spec.limits));
        if issues.is_empty() {
            Ok(config)
        } else {
            Err(SpecError::from_issues(&spec.origin, issues))
        }
    }

    /// The user the container runs as when set in the spec.
    ///
    /// # Errors
    /// A message when `user` is not numeric (validation refuses it first).
    pub fn user_id(&self) -> Result<Option<UserId>, String> {
        self.user.as_deref().map(UserId::parse).transpose()
    }

    fn issues(&self) -> Vec<SpecIssue> {
        let mut out = Vec::new();
        let mut push = |key: String, message: String| out.push(SpecIssue { key, message });
        if self.image.trim().is_empty() {
            push(
                "docker.image".into(),
                "is empty: name an image that exists locally".into(),
            );
        }
        match check_container_path(&self.workdir) {
            Err(m) => push("docker.workdir".into(), m),
            Ok(()) if self.workdir == "/" => push(
                "docker.workdir".into(),
                "may not be `/`: the workspace needs a directory of its own".into(),
            ),
            Ok(()) => {}
        }
        if let Some(user) = &self.user
            && let Err(m) = UserId::parse(user)
        {
            push("docker.user".into(), m);
        }
        for (i, m) in self.extra_mounts.iter().enumerate() {
            for (field, message) in mount_issues(m, &self.workdir) {
                push(format!("docker.extra_mounts[{i}].{field}"), message);
            }
        }
        out
    }
}

/// Problems with one mount that can be seen without the filesystem, as `(field, message)`.
pub(crate) fn mount_issues(m: &Mount, workdir: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let host = m.host.to_string_lossy();
    if host.is_empty() {
        out.push(("host", "is empty: expected a host path".to_string()));
    } else if !m.host.is_absolute()
        && let Err(e) = normalize_relative(&host)
    {
        out.push((
            "host",
            format!("{e} (relative host paths resolve against the workspace)"),
        ));
    }
    match check_container_path(&m.target) {
        Err(e) => out.push(("target", e)),
        Ok(()) => {
            if m.target == "/" {
                out.push(("target", "may not be `/`".to_string()));
            } else if is_within(&m.target, workdir) {
                out.push((
                    "target",
                    format!(
                        "`{}` is inside the workspace mount `{workdir}`: mount it elsewhere (the workspace is already visible there)",
                        m.target
                    ),
                ));
            }
        }
    }
    out
}

/// `path` is absolute, normalized (no `.`/`..`, no empty components) and UTF-8 clean.
fn check_container_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!(
            "`{path}` is not absolute: container paths start with `/`"
        ));
    }
    if path.contains('\0') {
        return Err(format!("`{path}` contains a NUL byte"));
    }
    if path.len() > 1 && path.ends_with('/') {
        return Err(format!("`{path}` ends with `/`: write it without"));
    }
    if path.contains("//") {
        return Err(format!("`{path}` has an empty component"));
    }
    for c in Path::new(path).components() {
        match c {
            Component::RootDir | Component::Normal(_) => {}
            Component::CurDir | Component::ParentDir | Component::Prefix(_) => {
                return Err(format!(
                    "`{path}` contains `.` or `..`: write it normalized"
                ));
            }
        }
    }
    Ok(())
}

/// `path` equals `dir` or lies under it (both normalized absolute paths).
pub(crate) fn is_within(path: &str, dir: &str) -> bool {
    path == dir || dir == "/" || path.starts_with(&format!("{dir}/"))
}

/// The limits this runtime cannot enforce, or values the engine would refuse.
fn limit_issues(limits: &Limits) -> Vec<SpecIssue> {
    let mut out = Vec::new();
    if limits.fuel.is_some() {
        out.push(SpecIssue {
            key: "limits.fuel".into(),
            message: "the docker runtime cannot meter instructions (fuel is a wasi feature): remove it, or use `type: wasi`".into(),
        });
    }
    if let Some(m) = limits.memory
        && m.bytes() < MIN_MEMORY
    {
        out.push(SpecIssue {
                key: "limits.memory".into(),
                message: format!(
                    "{m} is below the Docker engine's minimum of 6MiB: raise it, or use `null` for no limit"
                ),
            });
    }
    if let Some(c) = limits.cpus
        && c.is_finite()
        && c < 0.01
    {
        out.push(SpecIssue {
            key: "limits.cpus".into(),
            message: format!("{c} is below the Docker engine's minimum of 0.01"),
        });
    }
    if let Some(n) = limits.open_files
        && i64::try_from(n).is_err()
    {
        out.push(SpecIssue {
            key: "limits.open_files".into(),
            message: format!("{n} is too large"),
        });
    }
    if let Some(n) = limits.processes
        && i64::try_from(n).is_err()
    {
        out.push(SpecIssue {
            key: "limits.processes".into(),
            message: format!("{n} is too large"),
        });
    }
    out
}

#[cfg(test)]
mod tests {

    use super::*;

    fn spec(text: &str) -> EnvironmentSpec {
        EnvironmentSpec::from_yaml_str(text, "env.yaml", "/tmp").unwrap()
    }

    fn keys(e: &SpecError) -> Vec<&str> {
        e.issues.iter().map(|i| i.key.as_str()).collect()
    }

    #[test]
    fn benchmark_section_loads_with_defaults() {
        let s = spec(
            "type: docker\ndocker: { image: ghcr.io/astral-sh/uv:python3.12-trixie-slim, workdir: /workspace, mount_workspace: true }\n",
        );
        let c = DockerConfig::from_spec(&s).unwrap();
        assert_eq!(c.image, "ghcr.io/astral-sh/uv:python3.12-trixie-slim");
        assert_eq!(c.workdir, "/workspace");
        assert!(c.mount_workspace);
        assert_eq!(c.network, NetworkPolicy::None);
        assert_eq!(c.user, None);
        assert!(!c.keep_container_after_clean);
        assert!(c.extra_mounts.is_empty());
    }

    #[test]
    fn image_is_required_and_unknown_keys_are_named() {
        let e =
            DockerConfig::from_spec(&spec("type: docker\ndocker: { workdir: /w }\n")).unwrap_err();
        assert_eq!(keys(&e), ["docker"], "{e}");
        assert!(e.to_string().contains("image"), "{e}");
        let e = DockerConfig::from_spec(&spec("type: docker\ndocker: { image: x, imgae: y }\n"))
            .unwrap_err();
        assert!(e.to_string().contains("imgae"), "{e}");
        let e =
            DockerConfig::from_spec(&spec("type: docker\ndocker: { image: x, network: wifi }\n"))
                .unwrap_err();
        assert!(e.to_string().contains("docker.network"), "{e}");
    }

    #[test]
    fn limits_it_cannot_enforce_are_refused_by_key() {
        let e = DockerConfig::from_spec(&spec(
            "type: docker\ndocker: { image: x }\nlimits: { fuel: 1000, memory: 1MiB }\n",
        ))
        .unwrap_err();
        assert_eq!(keys(&e), ["limits.fuel", "limits.memory"], "{e}");
        let ok = DockerConfig::from_spec(&spec(
            "type: docker\ndocker: { image: x }\nlimits: { memory: 64MiB, cpus: 0.5, processes: 64, open_files: 128 }\n",
        ));
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn users_and_paths_are_checked() {
        assert_eq!(
            UserId::parse("1000:100").unwrap(),
            UserId {
                uid: 1000,
                gid: 100
            }
        );
        assert_eq!(UserId::parse("7").unwrap(), UserId { uid: 7, gid: 7 });
        assert!(UserId::parse("nobody").unwrap_err().contains("UID:GID"));
        let e = DockerConfig::from_spec(&spec(
            "type: docker\ndocker:\n  image: x\n  workdir: work\n  user: app\n  extra_mounts:\n    - { host: ../up, target: /data }\n    - { host: /abs, target: /workspace/sub }\n    - { host: ok, target: relative }\n",
        ))
        .unwrap_err();
        assert_eq!(
            keys(&e),
            [
                "docker.workdir",
                "docker.user",
                "docker.extra_mounts[0].host",
                "docker.extra_mounts[2].target"
            ],
            "{e}"
        );
        // With the default workdir, a target under /workspace is refused.
        let e = DockerConfig::from_spec(&spec(
            "type: docker\ndocker:\n  image: x\n  extra_mounts: [{ host: /abs, target: /workspace/sub }]\n",
        ))
        .unwrap_err();
        assert_eq!(keys(&e), ["docker.extra_mounts[0].target"], "{e}");
        assert!(e.to_string().contains("inside the workspace mount"), "{e}");
    }

    #[test]
    fn within_is_component_wise() {
        assert!(is_within("/workspace", "/workspace"));
        assert!(is_within("/workspace/a", "/workspace"));
        assert!(!is_within("/workspace2", "/workspace"));
    }
}
