//! The spec `subrun run` uses without `--env`: the `wasi` runtime with nothing granted but the
//! workspace copy, stdin when asked, and the installed interpreter guests.

use std::path::Path;

use subrun::{EnvironmentSpec, SpecError};

/// [`subrun_wasi::guests::default_spec`]: wasi, default limits, the workspace at
/// `/workspace`, the interpreter guests installed in `guest_dir`.
///
/// # Errors
/// Only if the engine refuses the document (a bug).
pub(crate) fn default_spec(
    guest_dir: Option<&Path>,
    base_dir: &Path,
) -> Result<EnvironmentSpec, SpecError> {
    subrun_wasi::guests::default_spec(guest_dir, base_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_guests_it_is_bare_wasi() {
        let spec = default_spec(None, Path::new("/")).unwrap();
        assert_eq!(spec.kind.as_str(), "wasi");
        assert_eq!(spec.limits, subrun::spec::Limits::default());
        assert_eq!(spec.backend["programs"], serde_json::json!({}));
        assert!(spec.environment.env.is_empty());
        assert!(!spec.environment.include_os_env);
    }
}
