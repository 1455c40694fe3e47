//! Finding a checker program's module: `checker: { program: FILE }` of subrun's
//! `problem.yaml`, and the Kattis `output_validators/` directory.
//!
//! A module is a `.wasm` file (or `.wat` text, which the `wasi` runtime compiles too). A
//! source file (`.c`, `.cpp`, `.rs`) is refused with the command that builds it: subrun
//! builds sources in the CLI (`subrun build`), not while loading a problem.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ProblemError;
use crate::checker::{CheckerLimits, CheckerProgram, Convention};

/// `checker:` as a mapping with a `program` key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgramFile {
    /// The module, relative to the problem directory.
    program: PathBuf,
    /// `testlib` or `kattis`.
    convention: Convention,
    /// Arguments after the convention's.
    #[serde(default)]
    args: Vec<String>,
    /// `{ time, memory }`, each optional.
    #[serde(default)]
    limits: CheckerLimits,
}

/// Reads `checker: { program, convention, args?, limits? }` of `problem.yaml` in `dir`.
///
/// # Errors
/// `(key, message)`: the key under `checker` at fault and what is wrong.
pub(super) fn native_program(
    dir: &Path,
    value: &serde_yaml::Value,
) -> Result<CheckerProgram, (String, String)> {
    let file: ProgramFile = serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        let path = e.path().to_string();
        let key = if path == "." {
            "checker".to_owned()
        } else {
            format!("checker.{path}")
        };
        (key, e.into_inner().to_string())
    })?;
    let key = |k: &str| format!("checker.{k}");
    if file.limits.time.is_zero() {
        return Err((key("limits.time"), "must be positive".into()));
    }
    if file.limits.memory.0 == 0 {
        return Err((key("limits.memory"), "must be positive".into()));
    }
    let path = super::native::inside(dir, &file.program).map_err(|m| (key("program"), m))?;
    let module = module(&path).map_err(|m| (key("program"), m))?;
    Ok(CheckerProgram {
        module,
        convention: file.convention,
        args: file.args,
        limits: file.limits,
    })
}

/// `path` as a checker module: an existing `.wasm` or `.wat` file, made absolute.
fn module(path: &Path) -> Result<PathBuf, String> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "wasm" | "wat" => {}
        "c" | "cc" | "cpp" | "cxx" | "rs" => {
            return Err(format!(
                "{} is a source file: build it with `subrun build {} -o {}` and name the .wasm",
                path.display(),
                path.display(),
                path.with_extension("wasm").display()
            ));
        }
        _ => {
            return Err(format!(
                "{}: expected a .wasm (or .wat) module",
                path.display()
            ));
        }
    }
    if !path.is_file() {
        return Err(format!("{}: no such file", path.display()));
    }
    std::fs::canonicalize(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The one module of a Kattis `output_validators/` directory: a `.wasm` (or `.wat`) file in
/// it, or in one of its subdirectories (`output_validators/NAME/NAME.wasm`).
///
/// # Errors
/// Naming the directory when it holds no module (saying how to build a source found there)
/// or more than one.
pub(super) fn kattis_validator(validators: &Path) -> Result<PathBuf, ProblemError> {
    let mut modules = Vec::new();
    let mut sources = Vec::new();
    let mut dirs = vec![validators.to_path_buf()];
    for sub in entries(validators)? {
        if sub.is_dir() {
            dirs.push(sub);
        }
    }
    for dir in &dirs {
        for file in entries(dir)? {
            if !file.is_file() {
                continue;
            }
            match file.extension().and_then(|e| e.to_str()) {
                Some("wasm" | "wat") => modules.push(file),
                Some("c" | "cc" | "cpp" | "cxx" | "rs") => sources.push(file),
                _ => {}
            }
        }
    }
    let bad = |message: String| ProblemError::invalid(validators, "", None, message);
    match modules.as_slice() {
        [one] => module(one).map_err(bad),
        [] => Err(bad(match sources.first() {
            Some(src) => format!(
                "no compiled validator: build {} with `subrun build {} -o {}`",
                src.display(),
                src.display(),
                src.with_extension("wasm").display()
            ),
            None => "no validator: expected one .wasm module in it or in one subdirectory".into(),
        })),
        many => Err(bad(format!(
            "{} modules ({}): keep one validator",
            many.len(),
            many.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The entries of `dir`, sorted.
fn entries(dir: &Path) -> Result<Vec<PathBuf>, ProblemError> {
    let read = |source| ProblemError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        out.push(entry.map_err(read)?.path());
    }
    out.sort();
    Ok(out)
}
