//! Rust submissions: `cargo build --release --target wasm32-wasip1`, after checking that the
//! toolchain cargo will use has the target's standard library.

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{
    BuildError, BuildOptions, Built, WASM_TARGET, collect_diagnostics, create_parent, output_path,
};

/// Builds the Cargo project in `dir` and copies its binary to `options.out` (default
/// `<bin>.wasm`).
///
/// # Errors
/// See [`super::build`].
pub(super) fn build(dir: &Path, options: &BuildOptions) -> Result<Built, BuildError> {
    check_target(dir)?;
    // Ambient: the cargo that runs subrun (`CARGO`, as cargo sets it), else the one on PATH.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.args(["build", "--release", "--target", WASM_TARGET])
        .arg("--message-format=json-render-diagnostics")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(bin) = &options.bin {
        cmd.args(["--bin", bin]);
    }
    if let Some(target_dir) = &options.target_dir {
        cmd.arg("--target-dir").arg(target_dir);
    }
    let mut child = cmd.spawn().map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            BuildError::ToolMissing(format!(
                "cargo is not installed (no `{}` on PATH): install a Rust toolchain with rustup, then run `rustup target add {WASM_TARGET}`",
                cargo.to_string_lossy()
            ))
        } else {
            BuildError::RunTool {
                tool: cargo.to_string_lossy().into_owned(),
                source,
            }
        }
    })?;
    // stderr (cargo's progress and the rendered diagnostics) is read beside stdout (the JSON
    // messages), so neither pipe fills up and blocks cargo.
    let echo = options.echo;
    let stderr = child
        .stderr
        .take()
        .map(|stderr| std::thread::spawn(move || collect_diagnostics(stderr, echo)));
    let mut binaries = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|source| BuildError::RunTool {
                tool: "cargo".into(),
                source,
            })?;
            if let Some(found) = binary_of(&line) {
                binaries.push(found);
            }
        }
    }
    let status = child.wait().map_err(|source| BuildError::RunTool {
        tool: "cargo".into(),
        source,
    })?;
    let diagnostics = stderr
        .and_then(|reader| reader.join().ok())
        .map(|text| without_progress(&text))
        .unwrap_or_default();
    if !status.success() {
        return Err(BuildError::Failed {
            what: format!("cargo build of {}", dir.display()),
            diagnostics,
        });
    }
    let (name, wasm) = match binaries.as_slice() {
        [] => {
            return Err(BuildError::Output(format!(
                "cargo built no binary in {}: a submission needs a `src/main.rs` or a [[bin]] target",
                dir.display()
            )));
        }
        [one] => one.clone(),
        many => {
            let names: Vec<&str> = many.iter().map(|(n, _)| n.as_str()).collect();
            return Err(BuildError::Output(format!(
                "{} builds several binaries ({}): choose one with --bin NAME",
                dir.display(),
                names.join(", ")
            )));
        }
    };
    let out = output_path(options, &name);
    create_parent(&out)?;
    std::fs::copy(&wasm, &out).map_err(|source| BuildError::WriteModule {
        path: out.clone(),
        source,
    })?;
    Ok(Built {
        module: out,
        diagnostics,
    })
}

/// cargo's stderr without its progress lines (`   Compiling x v0.1.0`, `    Finished ...`:
/// a capitalized verb right-aligned in 12 columns), which say nothing about the code.
fn without_progress(stderr: &str) -> String {
    stderr
        .split_inclusive('\n')
        .filter(|line| !is_progress(line))
        .collect()
}

fn is_progress(line: &str) -> bool {
    let Some((head, _)) = line.split_at_checked(12) else {
        return false;
    };
    let verb = head.trim_start();
    head.starts_with(' ')
        && line[12..].starts_with(' ')
        && verb.chars().next().is_some_and(char::is_uppercase)
        && verb.chars().all(char::is_alphabetic)
}

/// `(name, path)` of the binary a cargo JSON message announces, if it announces one.
fn binary_of(line: &str) -> Option<(String, PathBuf)> {
    let msg: Value = serde_json::from_str(line).ok()?;
    if msg["reason"] != "compiler-artifact" {
        return None;
    }
    let path = msg["executable"].as_str()?;
    let name = msg["target"]["name"].as_str()?;
    Some((name.to_string(), PathBuf::from(path)))
}

/// Fails with the command that installs the target when the toolchain cargo will use in
/// `dir` (rustup honours `rust-toolchain.toml` there) has no standard library for
/// `wasm32-wasip1`. Asks `rustc --print target-libdir` with the same `RUSTC` and rustflags
/// (`CARGO_ENCODED_RUSTFLAGS`, else `RUSTFLAGS`) that cargo reads from the environment.
fn check_target(dir: &Path) -> Result<(), BuildError> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let add = add_target_command();
    let output = Command::new(&rustc)
        .args(rustflags())
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                BuildError::ToolMissing(format!(
                    "rustc is not installed (no `{}` on PATH): install a Rust toolchain with rustup, then run `{add}`",
                    rustc.to_string_lossy()
                ))
            } else {
                BuildError::RunTool {
                    tool: rustc.to_string_lossy().into_owned(),
                    source,
                }
            }
        })?;
    if !output.status.success() {
        return Err(BuildError::ToolMissing(format!(
            "rustc cannot build for {WASM_TARGET} ({}): install the target with `{add}`",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let libdir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let has_std = std::fs::read_dir(&libdir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("libstd-") && name.ends_with(".rlib")
        })
    });
    if has_std {
        Ok(())
    } else {
        Err(BuildError::ToolMissing(format!(
            "the Rust target {WASM_TARGET} is not installed (rustc finds no standard library for it in {}): install it with `{add}`",
            libdir.display()
        )))
    }
}

/// `rustup target add wasm32-wasip1`, with `--toolchain` when `RUSTUP_TOOLCHAIN` picks one.
fn add_target_command() -> String {
    match std::env::var("RUSTUP_TOOLCHAIN") {
        Ok(t) if !t.is_empty() => format!("rustup target add {WASM_TARGET} --toolchain {t}"),
        _ => format!("rustup target add {WASM_TARGET}"),
    }
}

/// The rustflags cargo takes from the environment: `CARGO_ENCODED_RUSTFLAGS` (separated by
/// 0x1f), else `RUSTFLAGS` (separated by whitespace).
fn rustflags() -> Vec<OsString> {
    if let Some(encoded) = std::env::var_os("CARGO_ENCODED_RUSTFLAGS") {
        let encoded = encoded.to_string_lossy().into_owned();
        return encoded
            .split('\x1f')
            .filter(|f| !f.is_empty())
            .map(OsString::from)
            .collect();
    }
    std::env::var("RUSTFLAGS")
        .map(|f| f.split_whitespace().map(OsString::from).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_are_dropped_and_diagnostics_kept() {
        let stderr = "   Compiling sum v0.1.0 (/s)\nerror[E0425]: cannot find value `x`\n --> src/main.rs:1:13\n    Finished `release` profile\nerror: could not compile `sum`\n";
        assert_eq!(
            without_progress(stderr),
            "error[E0425]: cannot find value `x`\n --> src/main.rs:1:13\nerror: could not compile `sum`\n"
        );
    }

    #[test]
    fn only_artifacts_with_an_executable_are_binaries() {
        let bin = r#"{"reason":"compiler-artifact","target":{"name":"hello","kind":["bin"]},"executable":"/t/wasm32-wasip1/release/hello.wasm"}"#;
        assert_eq!(
            binary_of(bin),
            Some((
                "hello".into(),
                PathBuf::from("/t/wasm32-wasip1/release/hello.wasm")
            ))
        );
        let lib = r#"{"reason":"compiler-artifact","target":{"name":"serde","kind":["lib"]},"executable":null}"#;
        assert_eq!(binary_of(lib), None);
        assert_eq!(
            binary_of(r#"{"reason":"build-finished","success":true}"#),
            None
        );
        assert_eq!(binary_of("not json"), None);
    }
}
