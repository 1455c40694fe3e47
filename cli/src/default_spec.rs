//! The spec `subrun run` uses without `--env`: the `wasi` runtime with nothing granted but the
//! workspace copy, stdin when asked, and the installed interpreter guests.

use std::path::Path;

use serde_json::json;
use subrun::{EnvironmentSpec, SpecError};

use crate::guests::installed_programs_json;

/// What the default spec is called in messages.
pub(crate) const ORIGIN: &str = "default spec";

/// `type: wasi`, name `default`, every limit at its default (10s, 512MiB, 16MiB of output per
/// stream, 256 open files), the workspace at `/workspace`, and a `wasi.programs` entry for
/// each interpreter guest installed in `guest_dir`.
///
/// # Errors
/// Only if the engine refuses the document (a bug).
pub(crate) fn default_spec(
    guest_dir: Option<&Path>,
    base_dir: &Path,
) -> Result<EnvironmentSpec, SpecError> {
    let doc = json!({
        "type": "wasi",
        "name": "default",
        "wasi": {
            "workdir": "/workspace",
            "programs": installed_programs_json(guest_dir),
        },
    });
    EnvironmentSpec::from_value(doc, ORIGIN, base_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_guests_it_is_bare_wasi() {
        let spec = default_spec(None, Path::new("/")).unwrap();
        assert_eq!(spec.kind.as_str(), "wasi");
        assert_eq!(spec.limits, subrun::spec::Limits::default());
        assert_eq!(spec.backend["programs"], json!({}));
        assert!(spec.environment.env.is_empty());
        assert!(!spec.environment.include_os_env);
    }
}
