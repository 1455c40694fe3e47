//! Building a submission's source to a `wasm32-wasip1` module the `wasi` runtime runs: the
//! code behind `subrun build`, and behind [`Submission::from_path`](crate::Submission::from_path)
//! for C, C++ and Cargo submissions.
//!
//! ```text
//!  DIR with Cargo.toml ──▶ rustc: is the wasm32-wasip1 std installed? ──▶ cargo build --release
//!                          --target wasm32-wasip1 (JSON messages name the .wasm) ──▶ copy to OUT
//!  FILE.c / FILE.cpp   ──▶ clang: clang, wasm-ld, wasi-libc, compiler-rt (libc++) present?
//!                          ──▶ clang --target=wasm32-wasi -O2 [-fno-exceptions] -o OUT
//!  a missing toolchain piece: BuildError::ToolMissing, naming the command that installs it
//!  the compiler rejects the code: BuildError::Failed, with the compiler's messages
//! ```
//!
//! The tools are found as `subrun build` finds them: `CARGO` / `RUSTC` (else `cargo` / `rustc`
//! on `PATH`), `RUSTFLAGS` / `CARGO_ENCODED_RUSTFLAGS`, `clang` on `PATH` and `WASI_SYSROOT`.
//! Building blocks the calling thread while the compiler runs.

mod clang;
mod rust;

use std::io::{BufRead as _, BufReader, Read};
use std::path::{Path, PathBuf};

/// The target every submission is built for.
pub const WASM_TARGET: &str = "wasm32-wasip1";

/// The most of a compiler's messages kept in memory (the rest is dropped).
const MAX_DIAGNOSTICS: usize = 1 << 20;

/// What kind of source a path is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// A Cargo project (its directory).
    Cargo(PathBuf),
    /// One C file.
    C(PathBuf),
    /// One C++ file.
    Cpp(PathBuf),
}

impl Source {
    /// A Cargo project directory (or its `Cargo.toml`), a `.c` file or a C++ file (`.cc`,
    /// `.cpp`, `.cxx`, `.c++`, `.C`).
    ///
    /// # Errors
    /// [`BuildError::Source`] naming the path and why it is not buildable.
    pub fn classify(path: &Path) -> Result<Self, BuildError> {
        let unknown = |why: &str| BuildError::Source {
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
            Some(ext) if is_c(ext) => Ok(Source::C(path.to_path_buf())),
            Some(ext) if is_cpp(ext) => Ok(Source::Cpp(path.to_path_buf())),
            _ => Err(unknown(
                "not a Cargo project, a .c file or a C++ file (.cc, .cpp, .cxx)",
            )),
        }
    }
}

/// True for the extension of a C file.
pub(crate) fn is_c(ext: &str) -> bool {
    ext == "c"
}

/// True for the extensions of a C++ file.
pub(crate) fn is_cpp(ext: &str) -> bool {
    matches!(ext, "cc" | "cpp" | "cxx" | "c++" | "C")
}

/// How to build. Default: the only binary, `<name>.wasm` in the current directory, cargo's
/// own target directory, the compiler's messages only returned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuildOptions {
    /// The binary to build when the Cargo project has several.
    pub bin: Option<String>,
    /// Where to write the module. Default: `<binary name>.wasm` (Rust) or `<file stem>.wasm`
    /// (C, C++) in the current directory.
    pub out: Option<PathBuf>,
    /// Without `out`: the directory the module is written to under its default name
    /// (default: the current directory).
    pub out_dir: Option<PathBuf>,
    /// cargo's `--target-dir` (default: cargo's own choice, `CARGO_TARGET_DIR` or the
    /// project's `target/`).
    pub target_dir: Option<PathBuf>,
    /// Also write the compiler's messages to this process's stderr as they come, each line
    /// escaped ([`subrun::terminal::escape`]): they quote the source.
    pub echo: bool,
}

impl BuildOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the binary to build.
    #[must_use]
    pub fn bin(mut self, bin: impl Into<String>) -> Self {
        self.bin = Some(bin.into());
        self
    }

    /// Sets the module's path.
    #[must_use]
    pub fn out(mut self, out: impl Into<PathBuf>) -> Self {
        self.out = Some(out.into());
        self
    }

    /// Sets the directory the module goes to under its default name.
    #[must_use]
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Sets cargo's target directory.
    #[must_use]
    pub fn target_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.target_dir = Some(dir.into());
        self
    }

    /// Echoes the compiler's messages on stderr (true) or not.
    #[must_use]
    pub fn echo(mut self, echo: bool) -> Self {
        self.echo = echo;
        self
    }
}

/// A built module.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Built {
    /// Where the module was written.
    pub module: PathBuf,
    /// What the compiler said (warnings), as it wrote it.
    pub diagnostics: String,
}

/// Why a build did not produce a module.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The path is not something subrun can build.
    #[error("cannot build {}: {why}", path.display())]
    Source {
        /// The path given.
        path: PathBuf,
        /// Why it is not buildable.
        why: String,
    },
    /// A target or toolchain piece is missing; says what to install.
    #[error("{0}")]
    ToolMissing(String),
    /// The compiler rejected the code: the submission's fault (a CE when grading).
    #[error("{what} failed")]
    Failed {
        /// Which build (`clang of main.c`, `cargo build of sub/`).
        what: String,
        /// The compiler's messages, as it wrote them (not escaped).
        diagnostics: String,
    },
    /// The Cargo project builds no binary, or several and none was chosen: the submission's
    /// fault too.
    #[error("{0}")]
    Output(String),
    /// A build tool could not be run or read.
    #[error("cannot run `{tool}`")]
    RunTool {
        /// The tool.
        tool: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The module could not be written to its output path.
    #[error("cannot write {}", path.display())]
    WriteModule {
        /// The output path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl BuildError {
    /// What the submission got wrong, when the error is its fault ([`BuildError::Failed`]:
    /// the compiler's messages; [`BuildError::Output`]: which binaries); `None` when the
    /// toolchain or the machine failed.
    pub fn submission_fault(&self) -> Option<String> {
        match self {
            BuildError::Failed { what, diagnostics } => Some(if diagnostics.trim().is_empty() {
                format!("{what} failed")
            } else {
                diagnostics.clone()
            }),
            BuildError::Output(message) => Some(message.clone()),
            _ => None,
        }
    }
}

/// Builds `source` to a module.
///
/// # Errors
/// [`BuildError::ToolMissing`] when a target or toolchain piece is missing,
/// [`BuildError::Failed`] when the compiler rejects the code, [`BuildError::Output`] when a
/// Cargo project has no binary or several (and no [`BuildOptions::bin`]), and the I/O errors
/// of running the tools or writing the module.
pub fn build(source: &Source, options: &BuildOptions) -> Result<Built, BuildError> {
    let built = match source {
        Source::Cargo(dir) => rust::build(dir, options)?,
        Source::C(file) => clang::build(file, clang::Language::C, options)?,
        Source::Cpp(file) => clang::build(file, clang::Language::Cpp, options)?,
    };
    tracing::debug!(module = %built.module.display(), "built");
    Ok(built)
}

/// Where the module goes: `out`, else `<name>.wasm` in `out_dir`, else in the current
/// directory.
fn output_path(options: &BuildOptions, name: &str) -> PathBuf {
    match (&options.out, &options.out_dir) {
        (Some(out), _) => out.clone(),
        (None, Some(dir)) => dir.join(format!("{name}.wasm")),
        (None, None) => PathBuf::from(format!("{name}.wasm")),
    }
}

/// Creates `out`'s parent directory when it has one.
fn create_parent(out: &Path) -> Result<(), BuildError> {
    match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            std::fs::create_dir_all(parent).map_err(|source| BuildError::WriteModule {
                path: out.to_path_buf(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// Reads a compiler's stderr to the end: kept (up to [`MAX_DIAGNOSTICS`]) and, with `echo`,
/// written to this process's stderr line by line, escaped.
fn collect_diagnostics(stream: impl Read, echo: bool) -> String {
    let mut kept = String::new();
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        if echo {
            eprintln!(
                "{}",
                subrun::terminal::escape(text.trim_end_matches(['\n', '\r']))
            );
        }
        if kept.len() + text.len() <= MAX_DIAGNOSTICS {
            kept.push_str(&text);
        }
    }
    kept
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
        assert_eq!(Source::classify(p).unwrap(), Source::Cargo(p.to_path_buf()));
        assert_eq!(
            Source::classify(&p.join("Cargo.toml")).unwrap(),
            Source::Cargo(p.to_path_buf())
        );
        assert_eq!(
            Source::classify(&p.join("main.c")).unwrap(),
            Source::C(p.join("main.c"))
        );
        assert_eq!(
            Source::classify(&p.join("main.cpp")).unwrap(),
            Source::Cpp(p.join("main.cpp"))
        );
        let err = Source::classify(&p.join("main.py"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a Cargo project"), "{err}");
        let err = Source::classify(&p.join("missing.c"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no such file"), "{err}");
        std::fs::remove_file(p.join("Cargo.toml")).unwrap();
        let err = Source::classify(p).unwrap_err().to_string();
        assert!(err.contains("without a Cargo.toml"), "{err}");
    }

    #[test]
    fn the_default_output_is_named_after_the_binary_in_the_current_directory() {
        assert_eq!(
            output_path(&BuildOptions::new(), "hello"),
            Path::new("hello.wasm")
        );
        let into = BuildOptions::new().out_dir("/o");
        assert_eq!(output_path(&into, "hello"), Path::new("/o/hello.wasm"));
        assert_eq!(
            output_path(&into.out("out/x.wasm"), "hello"),
            Path::new("out/x.wasm")
        );
    }

    #[test]
    fn diagnostics_are_kept_whole_up_to_the_cap() {
        let text = "a.c:1:1: error: \x1b[31mred\x1b[0m\nsecond line\n";
        assert_eq!(collect_diagnostics(text.as_bytes(), false), text);
        let big = "x".repeat(MAX_DIAGNOSTICS - 1) + "\nmore\n";
        let kept = collect_diagnostics(big.as_bytes(), false);
        assert_eq!(kept.len(), MAX_DIAGNOSTICS);
    }

    #[test]
    fn only_the_submissions_faults_are_submission_faults() {
        let failed = BuildError::Failed {
            what: "clang of a.c".into(),
            diagnostics: "a.c:1: error\n".into(),
        };
        assert_eq!(failed.submission_fault().as_deref(), Some("a.c:1: error\n"));
        let silent = BuildError::Failed {
            what: "clang of a.c".into(),
            diagnostics: String::new(),
        };
        assert_eq!(
            silent.submission_fault().as_deref(),
            Some("clang of a.c failed")
        );
        assert!(
            BuildError::ToolMissing("no clang".into())
                .submission_fault()
                .is_none()
        );
    }
}
