//! The optional `local:` section of an environment spec, and spec validation.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use subrun::spec::SpecIssue;
use subrun::{EnvironmentSpec, SpecError};

use crate::limits;

/// Settings of the `local:` section. The section is optional: a spec without it gets the
/// defaults below.
///
/// ```yaml
/// type: local
/// local:
///   shell: /bin/sh   # default
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LocalConfig {
    /// The shell that runs each command as `<shell> -c <command>`. Default `/bin/sh`; must be
    /// an absolute path (the command's `PATH` is not used to find it).
    #[serde(default = "default_shell")]
    pub shell: PathBuf,
}

fn default_shell() -> PathBuf {
    PathBuf::from("/bin/sh")
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            shell: default_shell(),
        }
    }
}

impl LocalConfig {
    /// Parses the `local:` section of `spec` and checks everything the local runtime must
    /// refuse: limits it cannot enforce (`limits.fuel`, `limits.processes`, `limits.cpus`,
    /// `limits.disk`) and a relative `local.shell`.
    ///
    /// # Errors
    /// A [`SpecError`] listing every refused key.
    pub fn from_spec(spec: &EnvironmentSpec) -> Result<Self, SpecError> {
        let mut issues = limits::refused(&spec.limits);
        let config = match spec.backend_section::<LocalConfig>() {
            Ok(config) => Some(config),
            Err(e) => {
                issues.extend(e.issues);
                None
            }
        };
        if let Some(config) = &config
            && !config.shell.is_absolute()
        {
            issues.push(SpecIssue {
                key: "local.shell".into(),
                message: format!(
                    "`{}` is not an absolute path; write it in full, for example `/bin/sh`",
                    config.shell.display()
                ),
            });
        }
        match config {
            Some(config) if issues.is_empty() => Ok(config),
            _ => Err(SpecError::from_issues(&spec.origin, issues)),
        }
    }
}
