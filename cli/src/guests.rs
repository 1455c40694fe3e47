//! Interpreter guests (`python`, `python3`, `node`) in the CLI's specs: the default spec offers
//! every installed guest, and a `wasi` spec given with `--spec` gets the installed guests for
//! the words its own `wasi.programs` does not define. The table and the guest directory are
//! [`subrun_wasi::guests`]'s.

use std::path::Path;

use serde_json::Value;
use subrun::EnvironmentSpec;
use subrun_wasi::guests::{Guest, installed_programs, missing_message};

use crate::error::CliError;

/// The `type` of the runtime that runs interpreter guests.
const WASI: &str = "wasi";

/// `wasi.programs` for every guest installed in `dir`, as JSON.
pub(crate) fn installed_programs_json(dir: Option<&Path>) -> Value {
    let programs = dir.map(installed_programs).unwrap_or_default();
    serde_json::to_value(programs).expect("program entries are plain data")
}

/// Adds the installed guests to a `wasi` spec's `wasi.programs`, for the words it does not
/// define itself (its own entries win). Other runtimes' specs are left alone.
pub(crate) fn complete_programs(spec: &mut EnvironmentSpec, dir: Option<&Path>) {
    if spec.kind.as_str() != WASI {
        return;
    }
    let Value::Object(installed) = installed_programs_json(dir) else {
        return;
    };
    if installed.is_empty() {
        return;
    }
    if let Some(programs) = crate::grants::programs_mut(spec) {
        for (word, entry) in installed {
            programs.entry(word).or_insert(entry);
        }
    }
}

/// Fails with what to fetch when `command` starts with a guest word that `spec` cannot run:
/// a `wasi` spec without that program, and the guest not installed.
///
/// # Errors
/// [`CliError::GuestMissing`] naming the missing files and `scripts/fetch-guests.sh`.
pub(crate) fn check_guest_word(
    spec: &EnvironmentSpec,
    command: &str,
    dir: Option<&Path>,
) -> Result<(), CliError> {
    if spec.kind.as_str() != WASI {
        return Ok(());
    }
    let Some(word) = shell_words::split(command)
        .ok()
        .and_then(|w| w.into_iter().next())
    else {
        return Ok(());
    };
    if Guest::for_word(&word).is_none() || spec.backend["programs"].get(&word).is_some() {
        return Ok(());
    }
    match missing_message(&word, dir) {
        Some(message) => Err(CliError::GuestMissing(message)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A guest directory holding the Python guest's files (empty stand-ins).
    fn python_guest_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let python = Guest::for_word("python").unwrap();
        for file in python.files() {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"\0asm").unwrap();
        }
        dir
    }

    fn wasi_spec(yaml: &str) -> EnvironmentSpec {
        EnvironmentSpec::from_yaml_str(yaml, "test.yaml", "/").unwrap()
    }

    #[test]
    fn a_wasi_spec_gets_the_installed_guests_but_keeps_its_own_entries() {
        let dir = python_guest_dir();
        let mut spec = wasi_spec(
            "type: wasi\nwasi:\n  programs:\n    python: { module: /opt/my-python.wasm }\n",
        );
        complete_programs(&mut spec, Some(dir.path()));
        assert_eq!(
            spec.backend["programs"]["python"],
            json!({ "module": "/opt/my-python.wasm" })
        );
        assert_eq!(spec.backend["programs"]["python3"]["deadline_factor"], 8.0);
        assert!(spec.backend["programs"].get("node").is_none());
        check_guest_word(&spec, "python3 main.py", Some(dir.path())).unwrap();
        let err = check_guest_word(&spec, "node main.js", Some(dir.path())).unwrap_err();
        assert!(err.to_string().contains("quickjs.wasm"), "{err}");
    }

    #[test]
    fn a_spec_without_a_wasi_section_gets_one() {
        let dir = python_guest_dir();
        let mut spec = wasi_spec("type: wasi\n");
        complete_programs(&mut spec, Some(dir.path()));
        assert_eq!(
            spec.backend["programs"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["python", "python3"]
        );
    }

    #[test]
    fn other_runtimes_are_left_alone() {
        let dir = python_guest_dir();
        let mut spec = wasi_spec("type: local\n");
        complete_programs(&mut spec, Some(dir.path()));
        assert!(spec.backend.is_null());
        check_guest_word(&spec, "python main.py", None).unwrap();
    }
}
