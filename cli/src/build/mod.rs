//! `subrun build`: a submission's source to a `wasm32-wasip1` module the `wasi` runtime runs.
//!
//! ```text
//!  DIR with Cargo.toml ──▶ rustc: is the wasm32-wasip1 std installed? ──▶ cargo build --release
//!                          --target wasm32-wasip1 (JSON messages name the .wasm) ──▶ copy to OUT
//!  FILE.c / FILE.cpp   ──▶ clang: clang, wasm-ld, wasi-libc, compiler-rt (libc++) present?
//!                          ──▶ clang --target=wasm32-wasi -O2 [-fno-exceptions] -o OUT
//!  a missing toolchain piece: the exact command that installs it, exit 125
//!  the compiler rejects the code: its diagnostics on stderr, exit 1
//! ```
//!
//! The module's path is the only thing printed on stdout (compilers write to stderr), so
//! `wasm=$(subrun build sub/)` works.

mod clang;
mod rust;

use std::path::{Path, PathBuf};

use crate::args::BuildArgs;
use crate::error::CliError;

/// The target every submission is built for.
pub(crate) const WASM_TARGET: &str = "wasm32-wasip1";

/// What kind of source a path is.
#[derive(Debug, PartialEq, Eq)]
enum Source {
    /// A Cargo project (its directory).
    Cargo(PathBuf),
    /// One C file.
    C(PathBuf),
    /// One C++ file.
    Cpp(PathBuf),
}

/// Runs `subrun build` and returns the process exit code.
///
/// # Errors
/// [`CliError::BuildToolMissing`] (exit 125) when a target or toolchain piece is missing,
/// [`CliError::BuildFailed`] (exit 1) when the compiler rejects the code, and the I/O errors
/// of running the tools or copying the module.
pub(crate) fn build(args: &BuildArgs) -> Result<i32, CliError> {
    let path = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let built = match classify(&path)? {
        Source::Cargo(dir) => rust::build(&dir, args.bin.as_deref(), args.out.as_deref())?,
        Source::C(file) => clang::build(&file, clang::Language::C, args.out.as_deref())?,
        Source::Cpp(file) => clang::build(&file, clang::Language::Cpp, args.out.as_deref())?,
    };
    println!("{}", built.display());
    Ok(0)
}

/// A Cargo project directory (or its `Cargo.toml`), a `.c` file or a C++ file.
fn classify(path: &Path) -> Result<Source, CliError> {
    let unknown = |why: &str| CliError::BuildSource {
        path: path.to_path_buf(),
        why: why.to_string(),
    };
    if path.is_dir() {
        if path.join("Cargo.toml").is_file() {
            return Ok(Source::Cargo(path.to_path_buf()));
        }
        return Err(unknown("a directory without a Cargo.toml"));
    }
    if !path.exists() {
        return Err(unknown("no such file or directory"));
    }
    if path.file_name().is_some_and(|n| n == "Cargo.toml") {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        return Ok(Source::Cargo(dir));
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("c") => Ok(Source::C(path.to_path_buf())),
        Some("cc" | "cpp" | "cxx" | "c++" | "C") => Ok(Source::Cpp(path.to_path_buf())),
        _ => Err(unknown(
            "not a Cargo project, a .c file or a C++ file (.cc, .cpp, .cxx)",
        )),
    }
}

/// Where the module goes: `out`, else `<name>.wasm` in the current directory.
fn output_path(out: Option<&Path>, name: &str) -> PathBuf {
    out.map_or_else(|| PathBuf::from(format!("{name}.wasm")), Path::to_path_buf)
}

/// Creates `out`'s parent directory when it has one.
fn create_parent(out: &Path) -> Result<(), CliError> {
    match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            std::fs::create_dir_all(parent).map_err(|source| CliError::WriteModule {
                path: out.to_path_buf(),
                source,
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_told_apart_by_manifest_and_extension() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("Cargo.toml"), "").unwrap();
        std::fs::write(p.join("main.c"), "").unwrap();
        std::fs::write(p.join("main.cpp"), "").unwrap();
        std::fs::write(p.join("main.py"), "").unwrap();
        assert_eq!(classify(p).unwrap(), Source::Cargo(p.to_path_buf()));
        assert_eq!(
            classify(&p.join("Cargo.toml")).unwrap(),
            Source::Cargo(p.to_path_buf())
        );
        assert_eq!(
            classify(&p.join("main.c")).unwrap(),
            Source::C(p.join("main.c"))
        );
        assert_eq!(
            classify(&p.join("main.cpp")).unwrap(),
            Source::Cpp(p.join("main.cpp"))
        );
        let err = classify(&p.join("main.py")).unwrap_err().to_string();
        assert!(err.contains("not a Cargo project"), "{err}");
        let err = classify(&p.join("missing.c")).unwrap_err().to_string();
        assert!(err.contains("no such file"), "{err}");
        std::fs::remove_file(p.join("Cargo.toml")).unwrap();
        let err = classify(p).unwrap_err().to_string();
        assert!(err.contains("without a Cargo.toml"), "{err}");
    }

    #[test]
    fn the_default_output_is_named_after_the_binary_in_the_current_directory() {
        assert_eq!(output_path(None, "hello"), Path::new("hello.wasm"));
        assert_eq!(
            output_path(Some(Path::new("out/x.wasm")), "hello"),
            Path::new("out/x.wasm")
        );
    }
}
