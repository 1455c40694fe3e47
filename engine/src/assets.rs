//! Static assets: configuration, validation, groups with an `ordering`, and resolution to host
//! paths.
//!
//! An asset is a host file or directory that a runtime shows read-only at
//! `/static/<save_path>` (wasi, docker) or at its host path (local). Groups let later layers
//! (a higher `ordering`) override an asset of the same name.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::placeholder::is_valid_asset_name;

/// One asset as configured: a host `path` and where the runtime shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetConfig {
    /// Host path of the file or directory. In a spec file it is relative to the spec's
    /// directory and may not contain `..`.
    pub path: PathBuf,
    /// Relative path under `/static`; defaults to the asset's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_path: Option<String>,
}

/// A named layer of assets; when two groups define the same name, the higher `ordering` wins
/// (groups with equal ordering apply in the order given).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetGroup {
    /// A label for messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Later (higher) orderings override earlier ones.
    #[serde(default)]
    pub ordering: i64,
    /// The assets of this group by name.
    #[serde(default)]
    pub assets: BTreeMap<String, AssetConfig>,
}

/// An asset after merging groups and resolving its host path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedAsset {
    /// The asset's name, as used in `{{static:NAME}}`.
    pub name: String,
    /// Absolute host path of the file or directory.
    pub host_path: PathBuf,
    /// Normalized relative path under `/static`.
    pub save_path: String,
    /// True when the asset is a directory.
    pub is_dir: bool,
}

impl ResolvedAsset {
    /// `/static/<save_path>`: where `wasi` and `docker` show the asset.
    pub fn static_path(&self) -> String {
        format!("/static/{}", self.save_path)
    }
}

/// A problem with an asset; `key` is the config path (`static_assets.data.save_path`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct AssetError {
    /// Where the problem is, as a key path.
    pub key: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl AssetError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Checks that `p` is a relative path without `..`, `.`-only or empty components, and returns
/// it normalized with `/` separators.
///
/// # Errors
/// A message saying what is wrong with the path.
pub fn normalize_relative(p: &str) -> Result<String, String> {
    if p.is_empty() {
        return Err("is empty: expected a relative path".into());
    }
    if p.contains('\0') {
        return Err(format!("`{p}` contains a NUL byte"));
    }
    if p.starts_with('/') || Path::new(p).is_absolute() {
        return Err(format!("`{p}` is absolute: expected a relative path"));
    }
    let mut parts = Vec::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(s) => parts.push(
                s.to_str()
                    .ok_or_else(|| format!("`{p}` is not valid UTF-8"))?
                    .to_string(),
            ),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!(
                    "`{p}` contains `..`: paths may not leave their root"
                ));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("`{p}` is absolute: expected a relative path"));
            }
        }
    }
    if parts.is_empty() {
        return Err(format!("`{p}` names no file: expected a relative path"));
    }
    Ok(parts.join("/"))
}

/// Where an asset configuration came from, which decides how its host path is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssetOrigin {
    /// A spec file: `path` must be relative (to the spec's directory) without `..`.
    SpecFile,
    /// The caller (API or command line): `path` may be absolute; relative is against the base.
    Caller,
}

/// Validates names and paths of every group without touching the filesystem.
///
/// # Errors
/// Every problem found, each naming its key.
pub fn validate_groups(
    groups: &[(String, AssetGroup, AssetOrigin)],
) -> Result<(), Vec<AssetError>> {
    let mut errors = Vec::new();
    for (prefix, group, origin) in groups {
        for (name, cfg) in &group.assets {
            let key = format!("{prefix}.{name}");
            if !is_valid_asset_name(name) {
                errors.push(AssetError::new(
                    &key,
                    format!("invalid asset name `{name}`: use letters, digits, `_`, `-` and `.`"),
                ));
            }
            let host = cfg.path.to_string_lossy();
            if *origin == AssetOrigin::SpecFile {
                if let Err(m) = normalize_relative(&host) {
                    errors.push(AssetError::new(format!("{key}.path"), m));
                }
            } else if host.is_empty() {
                errors.push(AssetError::new(
                    format!("{key}.path"),
                    "is empty: expected a path",
                ));
            }
            if let Some(sp) = &cfg.save_path
                && let Err(m) = normalize_relative(sp)
            {
                errors.push(AssetError::new(format!("{key}.save_path"), m));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Merges groups by `ordering` (stable) into one map: a later group replaces an asset of the
/// same name. Returns, for each name, the winning config and the key it came from.
pub fn merge_groups(
    groups: &[(String, AssetGroup, AssetOrigin)],
) -> BTreeMap<String, (String, AssetConfig)> {
    merge_groups_with_origin(groups)
        .into_iter()
        .map(|(name, (key, cfg, _))| (name, (key, cfg)))
        .collect()
}

/// [`merge_groups`], keeping the origin of each winning config.
fn merge_groups_with_origin(
    groups: &[(String, AssetGroup, AssetOrigin)],
) -> BTreeMap<String, (String, AssetConfig, AssetOrigin)> {
    let mut ordered: Vec<&(String, AssetGroup, AssetOrigin)> = groups.iter().collect();
    ordered.sort_by_key(|(_, g, _)| g.ordering);
    let mut merged = BTreeMap::new();
    for (prefix, group, origin) in ordered {
        for (name, cfg) in &group.assets {
            merged.insert(
                name.clone(),
                (format!("{prefix}.{name}"), cfg.clone(), *origin),
            );
        }
    }
    merged
}

/// The directories relative asset paths resolve against, one per [`AssetOrigin`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetBases {
    /// For [`AssetOrigin::SpecFile`] groups: the spec file's directory
    /// ([`EnvironmentSpec::base_dir`](crate::EnvironmentSpec::base_dir)).
    pub spec_dir: PathBuf,
    /// For [`AssetOrigin::Caller`] groups (API, `--asset NAME=PATH`): usually the caller's
    /// current directory.
    pub caller_dir: PathBuf,
}

impl AssetBases {
    /// The same base for both origins.
    pub fn same(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        Self {
            spec_dir: dir.clone(),
            caller_dir: dir,
        }
    }

    /// The base for groups of `origin`.
    pub fn for_origin(&self, origin: AssetOrigin) -> &Path {
        match origin {
            AssetOrigin::SpecFile => &self.spec_dir,
            AssetOrigin::Caller => &self.caller_dir,
        }
    }
}

/// [`resolve_groups_with_bases`] with one base directory for every origin.
///
/// # Errors
/// Every problem found, each naming its key.
pub fn resolve_groups(
    groups: &[(String, AssetGroup, AssetOrigin)],
    base_dir: &Path,
) -> Result<Vec<ResolvedAsset>, Vec<AssetError>> {
    resolve_groups_with_bases(groups, &AssetBases::same(base_dir))
}

/// Merges and resolves assets: a relative host path is made absolute against the base of
/// its group's origin (the spec's directory for spec-file groups, the caller's directory for
/// caller groups) and must exist; save paths are normalized and may not collide or nest
/// inside each other.
///
/// This reads the host filesystem (ambient authority) to check that each path exists.
///
/// # Errors
/// Every problem found, each naming its key.
pub fn resolve_groups_with_bases(
    groups: &[(String, AssetGroup, AssetOrigin)],
    bases: &AssetBases,
) -> Result<Vec<ResolvedAsset>, Vec<AssetError>> {
    validate_groups(groups)?;
    let mut errors = Vec::new();
    let mut out: Vec<ResolvedAsset> = Vec::new();
    for (name, (key, cfg, origin)) in merge_groups_with_origin(groups) {
        let host = if cfg.path.is_absolute() {
            cfg.path.clone()
        } else {
            bases.for_origin(origin).join(&cfg.path)
        };
        let meta = match std::fs::metadata(&host) {
            Ok(m) => m,
            Err(e) => {
                errors.push(AssetError::new(
                    format!("{key}.path"),
                    format!("`{}` cannot be read: {e}", host.display()),
                ));
                continue;
            }
        };
        let host = host.canonicalize().unwrap_or(host);
        let save_path = match cfg.save_path.as_deref().map(normalize_relative).transpose() {
            Ok(sp) => sp.unwrap_or_else(|| name.clone()),
            Err(m) => {
                errors.push(AssetError::new(format!("{key}.save_path"), m));
                continue;
            }
        };
        out.push(ResolvedAsset {
            name,
            host_path: host,
            save_path,
            is_dir: meta.is_dir(),
        });
    }
    for (i, a) in out.iter().enumerate() {
        for b in &out[i + 1..] {
            let nested = |x: &str, y: &str| x == y || y.starts_with(&format!("{x}/"));
            if nested(&a.save_path, &b.save_path) || nested(&b.save_path, &a.save_path) {
                errors.push(AssetError::new(
                    format!("static_assets.{}.save_path", b.name),
                    format!(
                        "`{}` collides with asset `{}` at `{}`: save paths may not be equal or nested",
                        b.save_path, a.name, a.save_path
                    ),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_normalized_and_escapes_refused() {
        assert_eq!(normalize_relative("a/./b/").unwrap(), "a/b");
        assert!(normalize_relative("../x").unwrap_err().contains("`..`"));
        assert!(
            normalize_relative("a/../../x")
                .unwrap_err()
                .contains("`..`")
        );
        assert!(
            normalize_relative("/etc/passwd")
                .unwrap_err()
                .contains("absolute")
        );
        assert!(normalize_relative("").is_err());
        assert!(normalize_relative(".").is_err());
    }

    #[test]
    fn later_orderings_override_earlier_ones() {
        let g = |ordering, path: &str| AssetGroup {
            name: None,
            ordering,
            assets: [(
                "data".to_string(),
                AssetConfig {
                    path: path.into(),
                    save_path: None,
                },
            )]
            .into(),
        };
        let groups = vec![
            (
                "asset_groups[0]".to_string(),
                g(10, "late"),
                AssetOrigin::SpecFile,
            ),
            (
                "asset_groups[1]".to_string(),
                g(0, "early"),
                AssetOrigin::SpecFile,
            ),
        ];
        let merged = merge_groups(&groups);
        assert_eq!(merged["data"].1.path, PathBuf::from("late"));
    }

    #[test]
    fn nested_save_paths_collide() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "x").unwrap();
        std::fs::write(dir.path().join("b"), "y").unwrap();
        let group = AssetGroup {
            name: None,
            ordering: 0,
            assets: [
                (
                    "a".to_string(),
                    AssetConfig {
                        path: "a".into(),
                        save_path: Some("data".into()),
                    },
                ),
                (
                    "b".to_string(),
                    AssetConfig {
                        path: "b".into(),
                        save_path: Some("data/b".into()),
                    },
                ),
            ]
            .into(),
        };
        let errs = resolve_groups(
            &[("static_assets".into(), group, AssetOrigin::SpecFile)],
            dir.path(),
        )
        .unwrap_err();
        assert!(errs[0].message.contains("collides"), "{errs:?}");
    }

    #[test]
    fn each_origin_resolves_against_its_own_base() {
        let spec_dir = tempfile::tempdir().unwrap();
        let caller_dir = tempfile::tempdir().unwrap();
        std::fs::write(spec_dir.path().join("fixture.txt"), "spec").unwrap();
        std::fs::write(caller_dir.path().join("data.txt"), "caller").unwrap();
        let one = |name: &str, path: &str, ordering| AssetGroup {
            name: None,
            ordering,
            assets: [(
                name.to_string(),
                AssetConfig {
                    path: path.into(),
                    save_path: None,
                },
            )]
            .into(),
        };
        let groups = vec![
            (
                "static_assets".to_string(),
                one("fixture", "fixture.txt", 0),
                AssetOrigin::SpecFile,
            ),
            (
                "caller".to_string(),
                one("data", "data.txt", 0),
                AssetOrigin::Caller,
            ),
        ];
        let bases = AssetBases {
            spec_dir: spec_dir.path().to_path_buf(),
            caller_dir: caller_dir.path().to_path_buf(),
        };
        let resolved = resolve_groups_with_bases(&groups, &bases).unwrap();
        let read = |name: &str| {
            let a = resolved.iter().find(|a| a.name == name).unwrap();
            std::fs::read_to_string(&a.host_path).unwrap()
        };
        assert_eq!(read("fixture"), "spec");
        assert_eq!(read("data"), "caller");
        // With one base for both, the caller's file is not found and the error names its key.
        let errs = resolve_groups(&groups, spec_dir.path()).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].key, "caller.data.path");
    }
}
