//! Environment specs: parse (YAML or JSON), validate, resolve.
//!
//! ```yaml
//! type: wasi                 # a registered runtime: wasi | docker | local
//! name: python3.12
//! environment: { env: { KEY: value }, include_os_env: false }
//! setup: { commands: [], eval_commands: [], resume_commands: [] }
//! commands: { entry_file: "{entry_file}.py", command: python, agent_command: python }
//! snapshot: { keep_globs: [], ignore_globs: [], compression: gz, archive_save_dir: null }
//! limits: { timeout: 10s, memory: 512MiB, output: 16MiB, fuel: null, open_files: 256 }
//! static_assets: { data: { path: data, save_path: data } }
//! wasi: { ... }              # the backend section, named after `type`
//! ```
//!
//! The pipeline is *parse* ([`EnvironmentSpec::from_path`] and friends: syntax, types, units,
//! unknown keys), *validate* ([`Registry::validate`](crate::Registry::validate): the `type` is
//! registered and the runtime accepts its section and limits) and *resolve*
//! ([`ResolvedSpec`]: assets found on disk and `{{static:NAME}}` rendered for one runtime).
//! Runtimes only ever see a [`ResolvedSpec`].

mod error;
mod limits;
mod resolve;
pub mod units;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use error::{SpecError, SpecIssue};
pub use limits::Limits;
pub use resolve::ResolvedSpec;

use crate::assets::{AssetConfig, AssetGroup, AssetOrigin, validate_groups};
use crate::ids::RuntimeKind;
use crate::placeholder;

/// A parsed and type-checked environment spec.
///
/// The backend section (the key named after `type`) is kept as JSON in [`backend`](Self::backend)
/// for the runtime to parse with its own schema.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvironmentSpec {
    /// The runtime this spec is for (`type:`).
    pub kind: RuntimeKind,
    /// A label for the environment (defaults to the `type`).
    pub name: String,
    /// Environment variables.
    pub environment: EnvironmentConfig,
    /// Setup commands.
    pub setup: SetupConfig,
    /// How entry points become commands.
    pub commands: CommandsConfig,
    /// Snapshot filtering and compression.
    pub snapshot: SnapshotConfig,
    /// Limits for every command.
    pub limits: Limits,
    /// Static assets (one group, ordering 0).
    pub static_assets: BTreeMap<String, AssetConfig>,
    /// More asset groups; a higher `ordering` overrides a lower one by name.
    pub asset_groups: Vec<AssetGroup>,
    /// The backend section, `Value::Null` when absent.
    pub backend: Value,
    /// Where the spec came from (a file path or a label), for messages.
    pub origin: String,
    /// The directory relative paths in the spec are resolved against (the spec file's
    /// directory; the current directory for inline specs).
    pub base_dir: PathBuf,
}

/// The `environment` section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentConfig {
    /// Variables set for every command (scalars are converted to strings).
    #[serde(default, deserialize_with = "env_map")]
    pub env: BTreeMap<String, String>,
    /// Start from the host's environment (lowest precedence). Default `false`.
    #[serde(default)]
    pub include_os_env: bool,
}

/// The `setup` section. Setup runs once per spawned runtime, before the first command, as its
/// own step (its output is reported apart from any command's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupConfig {
    /// Always run, first.
    #[serde(default)]
    pub commands: Vec<String>,
    /// Run after `commands` in evaluation mode only.
    #[serde(default)]
    pub eval_commands: Vec<String>,
    /// Kept for compatibility; run only when the caller asks (`SpawnOptions::resume`).
    #[serde(default)]
    pub resume_commands: Vec<String>,
}

/// The `commands` section: how an entry point becomes a command line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandsConfig {
    /// File name template of the entry point; `{entry_file}` is replaced by the entry name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_file: Option<String>,
    /// The command prefix in evaluation mode (`uv run`, `python`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The command prefix in agent-inference mode; falls back to `command`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_command: Option<String>,
}

impl CommandsConfig {
    /// The command line that runs entry `entry` in `mode`: the mode's command prefix followed by
    /// the rendered `entry_file` (or `entry` itself when no template is set).
    ///
    /// Returns `None` when no command prefix is configured for the mode.
    pub fn entry_command(&self, mode: crate::Mode, entry: &str) -> Option<String> {
        let prefix = match mode {
            crate::Mode::Evaluation => self.command.as_deref(),
            crate::Mode::Agent => self.agent_command.as_deref().or(self.command.as_deref()),
        }?;
        let file = self
            .entry_file
            .as_deref()
            .map_or_else(|| entry.to_string(), |t| t.replace("{entry_file}", entry));
        Some(format!("{prefix} {}", shell_words::quote(&file)))
    }
}

/// Archive compression for snapshots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip (the default).
    #[default]
    Gz,
    /// bzip2.
    Bz2,
    /// xz.
    Xz,
}

impl Compression {
    /// The archive file extension, `tar` included (`tar.gz`).
    pub fn extension(self) -> &'static str {
        match self {
            Compression::None => "tar",
            Compression::Gz => "tar.gz",
            Compression::Bz2 => "tar.bz2",
            Compression::Xz => "tar.xz",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "none",
            Compression::Gz => "gz",
            Compression::Bz2 => "bz2",
            Compression::Xz => "xz",
        })
    }
}

/// The `snapshot` section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotConfig {
    /// When non-empty, only paths matching one of these globs are kept.
    #[serde(default)]
    pub keep_globs: Vec<String>,
    /// Paths matching one of these globs are left out (applied after `keep_globs`).
    #[serde(default)]
    pub ignore_globs: Vec<String>,
    /// Archive compression (default `gz`).
    #[serde(default)]
    pub compression: Compression,
    /// Where `finish_checkpoint` exports archives (relative to the spec's directory); `null`
    /// keeps them in memory only.
    #[serde(default)]
    pub archive_save_dir: Option<PathBuf>,
}

/// The shared sections, as read from the document (the `type` and backend keys removed).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    environment: EnvironmentConfig,
    #[serde(default)]
    setup: SetupConfig,
    #[serde(default)]
    commands: CommandsConfig,
    #[serde(default)]
    snapshot: SnapshotConfig,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    static_assets: BTreeMap<String, AssetConfig>,
    #[serde(default)]
    asset_groups: Vec<AssetGroup>,
}

const SHARED_KEYS: &[&str] = &[
    "type",
    "name",
    "environment",
    "setup",
    "commands",
    "snapshot",
    "limits",
    "static_assets",
    "asset_groups",
];

impl EnvironmentSpec {
    /// Loads a spec file: JSON when the name ends in `.json`, YAML otherwise. Relative paths in
    /// the spec resolve against the file's directory.
    ///
    /// # Errors
    /// A [`SpecError`] naming the file, the key path and what was expected.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, SpecError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| SpecError::new(&origin, "", format!("cannot read the file: {e}")))?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let base = base.canonicalize().unwrap_or(base);
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json {
            Self::from_json_str(&text, &origin, base)
        } else {
            Self::from_yaml_str(&text, &origin, base)
        }
    }

    /// Parses YAML text. `origin` labels messages; `base_dir` anchors relative paths.
    ///
    /// # Errors
    /// A [`SpecError`] naming the key path and what was expected.
    pub fn from_yaml_str(
        text: &str,
        origin: &str,
        base_dir: impl Into<PathBuf>,
    ) -> Result<Self, SpecError> {
        let yaml: serde_yaml::Value = serde_yaml::from_str(text)
            .map_err(|e| SpecError::new(origin, "", format!("invalid YAML: {e}")))?;
        let json = serde_json::to_value(&yaml)
            .map_err(|e| SpecError::new(origin, "", format!("unsupported YAML: {e}")))?;
        Self::from_value(json, origin, base_dir)
    }

    /// Parses JSON text.
    ///
    /// # Errors
    /// A [`SpecError`] naming the key path and what was expected.
    pub fn from_json_str(
        text: &str,
        origin: &str,
        base_dir: impl Into<PathBuf>,
    ) -> Result<Self, SpecError> {
        let json: Value = serde_json::from_str(text)
            .map_err(|e| SpecError::new(origin, "", format!("invalid JSON: {e}")))?;
        Self::from_value(json, origin, base_dir)
    }

    /// Builds a spec from an already parsed document.
    ///
    /// # Errors
    /// A [`SpecError`] naming the key path and what was expected.
    pub fn from_value(
        doc: Value,
        origin: &str,
        base_dir: impl Into<PathBuf>,
    ) -> Result<Self, SpecError> {
        let Value::Object(mut map) = doc else {
            return Err(SpecError::new(
                origin,
                "",
                format!("expected a mapping of sections, found {}", describe(&doc)),
            ));
        };
        let kind = match map.remove("type") {
            None => {
                return Err(SpecError::new(
                    origin,
                    "type",
                    "missing: every spec names its runtime, e.g. `type: wasi` (or docker, local)",
                ));
            }
            Some(Value::String(s)) if !s.trim().is_empty() => s,
            Some(other) => {
                return Err(SpecError::new(
                    origin,
                    "type",
                    format!(
                        "expected a runtime name such as `wasi`, found {}",
                        describe(&other)
                    ),
                ));
            }
        };
        let backend = if SHARED_KEYS.contains(&kind.as_str()) {
            Value::Null
        } else {
            map.remove(&kind).unwrap_or(Value::Null)
        };
        if let Some(stray) = map
            .iter()
            .find(|(k, v)| !SHARED_KEYS.contains(&k.as_str()) && v.is_object())
            .map(|(k, _)| k.clone())
        {
            return Err(SpecError::new(
                origin,
                &stray,
                format!(
                    "unknown section `{stray}`: the backend section must be named after the runtime (`{kind}:` for `type: {kind}`)"
                ),
            ));
        }
        let raw: RawSpec = serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
            let key = e.path().to_string();
            let key = if key == "." { String::new() } else { key };
            SpecError::new(origin, key, e.into_inner().to_string())
        })?;
        let spec = EnvironmentSpec {
            name: raw.name.unwrap_or_else(|| kind.clone()),
            kind: RuntimeKind::new(kind),
            environment: raw.environment,
            setup: raw.setup,
            commands: raw.commands,
            snapshot: raw.snapshot,
            limits: raw.limits,
            static_assets: raw.static_assets,
            asset_groups: raw.asset_groups,
            backend,
            origin: origin.to_string(),
            base_dir: base_dir.into(),
        };
        spec.check_values()?;
        Ok(spec)
    }

    /// Value checks that serde cannot express: limits, globs, asset names and paths, env names.
    fn check_values(&self) -> Result<(), SpecError> {
        let mut issues = Vec::new();
        for (key, message) in self.limits.check() {
            issues.push(SpecIssue {
                key: format!("limits.{key}"),
                message,
            });
        }
        for (field, globs) in [
            ("keep_globs", &self.snapshot.keep_globs),
            ("ignore_globs", &self.snapshot.ignore_globs),
        ] {
            for (i, g) in globs.iter().enumerate() {
                if let Err(e) = crate::glob::check_pattern(g) {
                    issues.push(SpecIssue {
                        key: format!("snapshot.{field}[{i}]"),
                        message: e,
                    });
                }
            }
        }
        for k in self.environment.env.keys() {
            if k.is_empty() || k.contains('=') || k.contains('\0') {
                issues.push(SpecIssue {
                    key: format!("environment.env.{k}"),
                    message: "invalid variable name: names are non-empty and contain no `=` or NUL"
                        .into(),
                });
            }
        }
        if let Err(errs) = validate_groups(&self.asset_group_list(AssetOrigin::SpecFile)) {
            issues.extend(errs.into_iter().map(|e| SpecIssue {
                key: e.key,
                message: e.message,
            }));
        }
        if issues.is_empty() {
            Ok(())
        } else {
            Err(SpecError::from_issues(&self.origin, issues))
        }
    }

    /// The spec's assets as `(key prefix, group, origin)` triples: `static_assets` as a group of
    /// ordering 0, then each of `asset_groups`.
    pub fn asset_group_list(&self, origin: AssetOrigin) -> Vec<(String, AssetGroup, AssetOrigin)> {
        let mut out = vec![(
            "static_assets".to_string(),
            AssetGroup {
                name: None,
                ordering: 0,
                assets: self.static_assets.clone(),
            },
            origin,
        )];
        for (i, g) in self.asset_groups.iter().enumerate() {
            out.push((format!("asset_groups[{i}].assets"), g.clone(), origin));
        }
        out
    }

    /// Names of the assets the spec itself defines.
    pub fn asset_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.static_assets.keys().cloned().collect();
        for g in &self.asset_groups {
            names.extend(g.assets.keys().cloned());
        }
        names.sort();
        names.dedup();
        names
    }

    /// Every `{{static:NAME}}` whose name is not in `known`, or that is malformed, as issues
    /// naming the key that holds it.
    pub fn placeholder_issues(&self, known: &[String]) -> Vec<SpecIssue> {
        let doc = self.to_value();
        let mut issues = Vec::new();
        match placeholder::names_in_value(&doc, "") {
            Err((key, e)) => issues.push(SpecIssue {
                key,
                message: e.to_string(),
            }),
            Ok(found) => {
                for (key, name) in found {
                    if !known.iter().any(|k| k == &name) {
                        let known_list = if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        };
                        issues.push(SpecIssue {
                            key,
                            message: format!(
                                "unknown static asset `{name}` in `{{{{static:{name}}}}}` (known: {known_list})"
                            ),
                        });
                    }
                }
            }
        }
        issues
    }

    /// The normalized document: every section with defaults filled in, units written out.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The normalized document as YAML.
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(&self.to_value()).unwrap_or_default()
    }

    /// Parses the backend section with the runtime's own schema (`deny_unknown_fields`
    /// recommended). An absent section parses from an empty mapping, so every field needs a
    /// default to make the section optional.
    ///
    /// # Errors
    /// A [`SpecError`] whose key starts with the section name (`wasi.programs.python.module`).
    pub fn backend_section<T: de::DeserializeOwned>(&self) -> Result<T, SpecError> {
        let value = match &self.backend {
            Value::Null => Value::Object(Default::default()),
            v => v.clone(),
        };
        serde_path_to_error::deserialize(value).map_err(|e| {
            let key = e.path().to_string();
            let key = if key == "." { String::new() } else { key };
            SpecError::new(&self.origin, key, e.into_inner().to_string()).within(self.kind.as_str())
        })
    }

    /// Resolves a path from the spec (relative to the spec's directory).
    pub fn resolve_path(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

impl Serialize for EnvironmentSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", &self.kind)?;
        m.serialize_entry("name", &self.name)?;
        m.serialize_entry("environment", &self.environment)?;
        m.serialize_entry("setup", &self.setup)?;
        m.serialize_entry("commands", &self.commands)?;
        m.serialize_entry("snapshot", &self.snapshot)?;
        m.serialize_entry("limits", &self.limits)?;
        if !self.static_assets.is_empty() {
            m.serialize_entry("static_assets", &self.static_assets)?;
        }
        if !self.asset_groups.is_empty() {
            m.serialize_entry("asset_groups", &self.asset_groups)?;
        }
        if !self.backend.is_null() {
            m.serialize_entry(self.kind.as_str(), &self.backend)?;
        }
        m.end()
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
        Value::String(s) => format!("the string `{s}`"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

/// Environment maps accept strings, numbers and booleans (converted to strings).
fn env_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let raw = BTreeMap::<String, Value>::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Number(n) => Ok((k, n.to_string())),
            Value::Bool(b) => Ok((k, b.to_string())),
            other => Err(de::Error::custom(format!(
                "variable `{k}`: expected a string, number or boolean, found {}",
                describe(&other)
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests;
