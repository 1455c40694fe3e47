//! What `run`'s view options change, on top of the spec: `-e/--env` and `--dir` become spawn
//! env and spawn mounts; `--cwd`, `--no-workspace`, `--argv0` and `--module` become settings
//! of the spec's backend section (`wasi.cwd`, `wasi.mount_workspace`, `wasi.argv0`, a
//! `wasi.programs` entry; `docker.mount_workspace`), so the runtime validates them like any
//! spec. `docker` and `local` commands run through `sh -c`, so there `--cwd` is a `cd` in
//! front of the command line. An option a runtime cannot honour is an error naming it.
//!
//! ```text
//!  RunArgs ──▶ Grants { spawn: SpawnOptions (env, mounts), command, display }
//!         └──▶ spec.backend edited (wasi: cwd, mount_workspace, argv0, programs; docker: mount_workspace)
//! ```

use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value, json};
use subrun::{EnvironmentSpec, Mount, SpawnOptions};

use crate::args::{DirArg, EnvArg, RunArgs};
use crate::error::CliError;

/// The command word of a `--module` program: one the `wasi.programs` table accepts and no
/// interpreter guest uses. It never reaches the guest (its `argv[0]` is the path as typed).
const MODULE_WORD: &str = "subrun-module";

/// What the runtime gets besides the spec.
#[derive(Debug)]
pub(crate) struct Grants {
    /// Spawn-level env and mounts.
    pub(crate) spawn: SpawnOptions,
    /// The command line the runtime runs.
    pub(crate) command: String,
    /// The command line as the user wrote it, for messages.
    pub(crate) display: String,
}

/// The runtimes that know the options (the registry has these three).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Wasi,
    Docker,
    Local,
}

/// Applies the view options of `args` to `spec` and returns the spawn options and the
/// command line for `command` (COMMAND joined, or the `--module` arguments).
///
/// # Errors
/// A [`CliError`] naming the option: a variable whose host value is not UTF-8, a `--dir`
/// that is not a directory, a `--module` that is not a file, an option the spec's runtime
/// cannot honour.
pub(crate) fn grant(
    args: &RunArgs,
    spec: &mut EnvironmentSpec,
    command: &str,
) -> Result<Grants, CliError> {
    let kind = match spec.kind.as_str() {
        "wasi" => Kind::Wasi,
        "docker" => Kind::Docker,
        _ => Kind::Local,
    };
    let kind_name = spec.kind.to_string();
    let unsupported = |flag: &'static str, why: &'static str| CliError::Unsupported {
        flag,
        kind: kind_name.clone(),
        why,
    };
    let mut spawn = SpawnOptions::new();
    for var in &args.env {
        if let Some(value) = env_value(var)? {
            spawn = spawn.env(&var.key, value);
        }
    }
    for dir in &args.dirs {
        if kind == Kind::Local {
            return Err(unsupported(
                "--dir",
                "local commands see the host filesystem as it is: use the host path itself",
            ));
        }
        spawn = spawn.mount(mount(dir)?);
    }
    if args.no_workspace {
        match kind {
            Kind::Wasi | Kind::Docker => set(spec, "mount_workspace", json!(false)),
            Kind::Local => {
                return Err(unsupported(
                    "--no-workspace",
                    "local commands run in the workspace directory",
                ));
            }
        }
    }
    if args.argv0.is_some() && kind != Kind::Wasi {
        return Err(unsupported(
            "--argv0",
            "its commands run through `sh -c`, which sets argv[0] itself",
        ));
    }
    if let Some(argv0) = &args.argv0 {
        set(spec, "argv0", json!(argv0));
    }
    let (mut command, display) = match &args.module {
        Some(_) if kind != Kind::Wasi => {
            return Err(unsupported(
                "--module",
                "it runs commands, not WebAssembly modules",
            ));
        }
        Some(path) => module_program(spec, path, &args.command)?,
        None => (command.to_string(), command.to_string()),
    };
    if let Some(cwd) = &args.cwd {
        let cwd = normalize(Path::new(cwd));
        let cwd = utf8("--cwd", &cwd)?;
        match kind {
            Kind::Wasi => set(spec, "cwd", json!(cwd)),
            Kind::Docker | Kind::Local => {
                command = format!("cd -- {} || exit\n{command}", shell_words::quote(&cwd));
            }
        }
    }
    Ok(Grants {
        spawn,
        command,
        display,
    })
}

/// The value of `-e KEY[=VALUE]`: the one given, else this process's, else none (the
/// variable stays unset, as with `docker run -e` and `wasmtime run --env`).
fn env_value(var: &EnvArg) -> Result<Option<String>, CliError> {
    match &var.value {
        Some(value) => Ok(Some(value.clone())),
        // Ambient: this process's environment, named by the caller.
        None => match std::env::var_os(&var.key) {
            None => Ok(None),
            Some(value) => value
                .into_string()
                .map(Some)
                .map_err(|_| CliError::EnvNotUtf8 {
                    key: var.key.clone(),
                }),
        },
    }
}

/// A spawn mount for `--dir`: the host directory made absolute (against the current
/// directory), shown at GUEST or at that absolute path, writable unless `:ro`.
fn mount(dir: &DirArg) -> Result<Mount, CliError> {
    let host = absolute(&dir.host)?;
    let bad = |why: String| CliError::Dir {
        arg: dir.host.clone(),
        why,
    };
    match std::fs::metadata(&host) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(bad("not a directory".into())),
        Err(e) => return Err(bad(e.to_string())),
    }
    let target = match &dir.guest {
        Some(guest) => guest.clone(),
        None => utf8("--dir", &host)?,
    };
    Ok(Mount {
        host,
        target,
        writable: !dir.read_only,
    })
}

/// The `wasi.programs` entry that runs `path` from the host, and the command line that
/// calls it with `args` (each one argument). Returns the command and how to show it.
fn module_program(
    spec: &mut EnvironmentSpec,
    path: &Path,
    args: &[String],
) -> Result<(String, String), CliError> {
    let host = absolute(path)?;
    match std::fs::metadata(&host) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(CliError::Module {
                path: path.to_path_buf(),
                source: std::io::Error::other("not a file"),
            });
        }
        Err(source) => {
            return Err(CliError::Module {
                path: path.to_path_buf(),
                source,
            });
        }
    }
    let module = utf8("--module", &host)?;
    // A program's absolute module path is read in the guest's view when it lies there.
    let workdir = spec.backend["workdir"]
        .as_str()
        .unwrap_or("/workspace")
        .to_string();
    for prefix in [workdir.as_str(), "/static"] {
        if host.starts_with(prefix) {
            return Err(CliError::ModuleShadowed {
                path: host,
                prefix: prefix.to_string(),
            });
        }
    }
    let typed = utf8("--module", path)?;
    if let Some(programs) = programs_mut(spec) {
        programs.insert(
            MODULE_WORD.into(),
            json!({ "module": module, "argv0": typed }),
        );
    }
    let words = |first: &str| {
        std::iter::once(first.to_string())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
    };
    Ok((
        shell_words::join(words(MODULE_WORD)),
        shell_words::join(words(&typed)),
    ))
}

/// The spec's backend section as an object to edit: a missing section becomes an empty
/// one; a section that is not an object is left for validation to report (`None`).
fn backend_mut(spec: &mut EnvironmentSpec) -> Option<&mut Map<String, Value>> {
    if spec.backend.is_null() {
        spec.backend = Value::Object(Map::new());
    }
    spec.backend.as_object_mut()
}

/// The `programs` table of the spec's backend section, made when missing (`None` when the
/// section or the table is not an object: validation reports it).
pub(crate) fn programs_mut(spec: &mut EnvironmentSpec) -> Option<&mut Map<String, Value>> {
    backend_mut(spec)?
        .entry("programs")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
}

/// Sets `key` in the spec's backend section (over the spec's own value).
fn set(spec: &mut EnvironmentSpec, key: &str, value: Value) {
    if let Some(section) = backend_mut(spec) {
        section.insert(key.to_string(), value);
    }
}

/// `path` made absolute against the current directory, `.` and `..` resolved lexically (so
/// `--dir "$PWD"` shows the directory at `$PWD` as the shell spells it).
fn absolute(path: &Path) -> Result<PathBuf, CliError> {
    // Ambient: the process's current directory.
    let full = std::path::absolute(path).map_err(CliError::CurrentDir)?;
    Ok(normalize(&full))
}

/// Lexical normalization of an absolute path: `/a/./b/../c` is `/a/c`.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// `path` as UTF-8, which guest paths and spec values must be.
fn utf8(flag: &'static str, path: &Path) -> Result<String, CliError> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| CliError::NotUtf8 {
            flag,
            path: path.to_path_buf(),
        })
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::args::{Cli, Command};

    fn run_args(line: &[&str]) -> RunArgs {
        let cli =
            Cli::try_parse_from(["subrun", "run"].iter().chain(line)).expect("valid command line");
        match cli.command {
            Command::Run(args) => args,
            other => panic!("expected run, got {other:?}"),
        }
    }

    fn spec(yaml: &str) -> EnvironmentSpec {
        EnvironmentSpec::from_yaml_str(yaml, "test.yaml", "/").expect("valid spec")
    }

    #[test]
    fn normalize_resolves_dots_lexically() {
        assert_eq!(normalize(Path::new("/a/./b/../c/")), Path::new("/a/c"));
        assert_eq!(normalize(Path::new("/../x")), Path::new("/x"));
    }

    #[test]
    fn wasi_options_become_wasi_settings() {
        let dir = tempfile::tempdir().expect("temp dir");
        let host = dir.path().to_str().expect("utf-8 temp dir");
        let data = format!("{host}::/data:ro");
        let args = run_args(&[
            "-e",
            "A=1",
            "--dir",
            &data,
            "--dir",
            host,
            "--cwd",
            "/data/.",
            "--no-workspace",
            "--argv0",
            "prog",
            "--",
            "x.wasm",
        ]);
        let mut spec = spec("type: wasi\n");
        let grants = grant(&args, &mut spec, "x.wasm").expect("granted");
        assert_eq!(grants.spawn.env["A"], "1");
        let mounts: Vec<_> = grants
            .spawn
            .mounts
            .iter()
            .map(|m| (m.target.as_str(), m.writable))
            .collect();
        assert_eq!(mounts, [("/data", false), (host, true)]);
        assert_eq!(
            spec.backend,
            json!({ "mount_workspace": false, "argv0": "prog", "cwd": "/data" })
        );
        assert_eq!(grants.command, "x.wasm");
    }

    #[test]
    fn module_is_a_program_entry_called_with_its_arguments() {
        let dir = tempfile::tempdir().expect("temp dir");
        let wasm = dir.path().join("x.wasm");
        std::fs::write(&wasm, b"\0asm").expect("write");
        let wasm = wasm.to_str().expect("utf-8 temp dir");
        let args = run_args(&["--module", wasm, "--", "a b", "c"]);
        let mut spec = spec("type: wasi\n");
        let grants = grant(&args, &mut spec, "").expect("granted");
        assert_eq!(grants.command, "subrun-module 'a b' c");
        assert_eq!(grants.display, format!("{wasm} 'a b' c"));
        assert_eq!(
            spec.backend["programs"][MODULE_WORD],
            json!({ "module": wasm, "argv0": wasm })
        );
        let missing = run_args(&["--module", "/nonexistent/x.wasm"]);
        let err = grant(&missing, &mut spec, "").expect_err("no such file");
        assert!(err.to_string().contains("/nonexistent/x.wasm"), "{err}");
    }

    #[test]
    fn shell_runtimes_cd_and_refuse_what_they_cannot_do() {
        let args = run_args(&["--cwd", "/work dir", "--", "make test"]);
        let mut local = spec("type: local\n");
        let grants = grant(&args, &mut local, "make test").expect("granted");
        assert_eq!(grants.command, "cd -- '/work dir' || exit\nmake test");
        assert_eq!(grants.display, "make test");
        for line in [
            &["--dir", "/tmp", "--", "true"][..],
            &["--no-workspace", "--", "true"],
            &["--argv0", "x", "--", "true"],
        ] {
            let err = grant(&run_args(line), &mut local, "true").expect_err("refused");
            assert!(
                err.to_string().contains(&format!(
                    "{} is not supported by the `local` runtime",
                    line[0]
                )),
                "{err}"
            );
        }
        let mut docker = spec("type: docker\ndocker: { image: busybox }\n");
        grant(
            &run_args(&["--no-workspace", "--", "true"]),
            &mut docker,
            "true",
        )
        .expect("granted");
        assert_eq!(docker.backend["mount_workspace"], false);
        let err = grant(&run_args(&["--module", "x.wasm"]), &mut docker, "").expect_err("refused");
        assert!(err.to_string().contains("--module"), "{err}");
    }
}
