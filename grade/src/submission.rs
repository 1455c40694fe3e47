//! Submissions: the files a case starts from and the command that runs them.

use std::path::Path;

use crate::build::{self, BuildOptions, Source};
use crate::error::GradeError;

/// The most of a compiler's messages a CE case's message quotes, in bytes (before escaping).
const MAX_COMPILE_MESSAGE: usize = 2000;

/// A submission: its pristine files (written into every case's fresh workspace) and the
/// command that runs it there (case arguments are appended, quoted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// The name reports use (the file name, or the name given).
    pub name: String,
    /// Workspace path -> bytes.
    pub files: Vec<(String, Vec<u8>)>,
    /// The command, run in the workspace.
    pub command: String,
    /// Set when the submission could not be built: the compiler's messages, as it wrote
    /// them. Every case of such a submission is [`Verdict::CompileError`](crate::Verdict),
    /// and nothing runs.
    pub compile_error: Option<String>,
}

impl Submission {
    /// A file submission, by extension, copied into the workspace under its own name:
    ///
    /// | path | runs as |
    /// |---|---|
    /// | `NAME.wasm`, `NAME.wat` | the module itself |
    /// | `NAME.py` | `python NAME.py` (the python guest) |
    /// | `NAME.js`, `NAME.mjs` | `node NAME.js` (the QuickJS guest) |
    /// | `NAME.c`, `NAME.cpp` (`.cc`, `.cxx`, `.c++`, `.C`), a Cargo project directory (or its `Cargo.toml`) | built as `subrun build` builds it ([`Submission::build`]); the module runs |
    ///
    /// # Errors
    /// [`GradeError::ReadSubmission`] when the file cannot be read,
    /// [`GradeError::UnknownSubmission`] for another extension, and those of
    /// [`Submission::build`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, GradeError> {
        Self::from_path_with(path, &BuildOptions::new())
    }

    /// As [`from_path`](Self::from_path), building sources with `options` (its `out` and
    /// `out_dir` are ignored: the module goes to a temporary directory).
    ///
    /// # Errors
    /// As [`from_path`](Self::from_path).
    pub fn from_path_with(
        path: impl AsRef<Path>,
        options: &BuildOptions,
    ) -> Result<Self, GradeError> {
        let path = path.as_ref();
        let unknown = || GradeError::UnknownSubmission {
            path: path.to_path_buf(),
        };
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if path.is_dir()
            || path.file_name().is_some_and(|n| n == "Cargo.toml")
            || build::is_c(ext)
            || build::is_cpp(ext)
        {
            return Self::build(path, options);
        }
        let file_name = file_name(path).ok_or_else(unknown)?;
        let quoted = shell_words::quote(&file_name).into_owned();
        let command = match ext {
            "wasm" | "wat" => quoted,
            "py" => format!("python {quoted}"),
            "js" | "mjs" => format!("node {quoted}"),
            _ => return Err(unknown()),
        };
        let bytes = std::fs::read(path).map_err(|source| GradeError::ReadSubmission {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            name: file_name.clone(),
            files: vec![(file_name, bytes)],
            command,
            compile_error: None,
        })
    }

    /// Builds a C / C++ file or a Cargo project with [`build::build`] (the code of
    /// `subrun build`), into a temporary directory, and makes the module the submission
    /// (`NAME.wasm` in the workspace, run as itself). The submission is named after the file
    /// (`sum.c`) or the project's directory.
    ///
    /// Code the compiler rejects, or a Cargo project without exactly one binary, is not an
    /// error: the submission gets [`compile_error`](Self::compile_error) and every case the
    /// verdict CE. Blocks while the compiler runs.
    ///
    /// # Errors
    /// [`GradeError::Build`] when `path` is not buildable, a toolchain piece is missing (the
    /// message says what to install) or the tools cannot be run.
    pub fn build(path: impl AsRef<Path>, options: &BuildOptions) -> Result<Self, GradeError> {
        let path = path.as_ref();
        let failed = |source| GradeError::Build {
            path: path.to_path_buf(),
            source,
        };
        let source = Source::classify(path).map_err(failed)?;
        let name = match &source {
            Source::Cargo(dir) => std::fs::canonicalize(dir)
                .ok()
                .as_deref()
                .and_then(file_name)
                .unwrap_or_else(|| dir.display().to_string()),
            _ => file_name(path).unwrap_or_else(|| path.display().to_string()),
        };
        let dir = tempfile::Builder::new()
            .prefix("subrun-grade-build-")
            .tempdir()
            .map_err(|source| {
                failed(build::BuildError::WriteModule {
                    path: std::env::temp_dir(),
                    source,
                })
            })?;
        // The module is named after the binary (Rust) or the file's stem (C, C++).
        let mut options = options.clone();
        options.out = None;
        options.out_dir = Some(dir.path().to_path_buf());
        // cargo's target directory: the caller's, else `CARGO_TARGET_DIR`, else a temporary
        // one, so grading leaves no target/ in the submission's directory.
        if options.target_dir.is_none() && std::env::var_os("CARGO_TARGET_DIR").is_none() {
            options.target_dir = Some(dir.path().join("target"));
        }
        let built = match build::build(&source, &options) {
            Ok(built) => built,
            Err(err) => {
                return match err.submission_fault() {
                    Some(message) => {
                        tracing::debug!(submission = %name, "compile error");
                        Ok(Self {
                            name,
                            files: Vec::new(),
                            command: String::new(),
                            compile_error: Some(message),
                        })
                    }
                    None => Err(failed(err)),
                };
            }
        };
        let module = built
            .module
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "main.wasm".to_owned());
        let bytes = std::fs::read(&built.module).map_err(|source| GradeError::ReadSubmission {
            path: built.module.clone(),
            source,
        })?;
        Ok(Self {
            name,
            command: shell_words::quote(&module).into_owned(),
            files: vec![(module, bytes)],
            compile_error: None,
        })
    }

    /// A command submission (for example `./a.out` on `local`, or a command over files added
    /// with [`file`](Self::file)). Its workspace holds only the files added: nothing else is
    /// copied in.
    pub fn command(name: impl Into<String>, command: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            files: Vec::new(),
            command: command.into(),
            compile_error: None,
        }
    }

    /// Adds a file to the submission's pristine workspace.
    #[must_use]
    pub fn file(mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        self.files.push((path.into(), bytes.into()));
        self
    }

    /// The command for a case with `args`.
    pub(crate) fn command_with(&self, args: &[String]) -> String {
        if args.is_empty() {
            return self.command.clone();
        }
        format!("{} {}", self.command, shell_words::join(args))
    }

    /// The message of a CE case: `compile error: ` and the start of the compiler's messages
    /// (at most [`MAX_COMPILE_MESSAGE`] bytes, cut at a character), escaped, so it is one line
    /// a terminal shows as is. `None` when the submission was built.
    pub(crate) fn compile_message(&self) -> Option<String> {
        let text = self.compile_error.as_deref()?.trim();
        let mut cut = text.len().min(MAX_COMPILE_MESSAGE);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut message = format!("compile error: {}", subrun::terminal::escape(&text[..cut]));
        if cut < text.len() {
            message.push_str(&format!(" … ({} more bytes)", text.len() - cut));
        }
        Some(message)
    }
}

/// The last component of `path`, as text.
fn file_name(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_run_by_their_guest_and_modules_as_themselves() {
        let dir = tempfile::tempdir().unwrap();
        for (file, command) in [
            ("a b.py", "python 'a b.py'"),
            ("main.js", "node main.js"),
            ("main.mjs", "node main.mjs"),
            ("m.wasm", "m.wasm"),
            ("m.wat", "m.wat"),
        ] {
            std::fs::write(dir.path().join(file), "x").unwrap();
            let s = Submission::from_path(dir.path().join(file)).unwrap();
            assert_eq!(
                (s.name.as_str(), s.command.as_str()),
                (file, command),
                "{file}"
            );
            assert_eq!(s.files, [(file.to_owned(), b"x".to_vec())]);
            assert_eq!(s.compile_error, None);
        }
        std::fs::write(dir.path().join("x.rb"), "").unwrap();
        let err = Submission::from_path(dir.path().join("x.rb")).unwrap_err();
        assert!(err.to_string().contains("x.rb: not a submission"), "{err}");
        let err = Submission::from_path(dir.path()).unwrap_err();
        let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(
            chain.contains("a directory without a Cargo.toml"),
            "{chain}"
        );
    }

    #[test]
    fn a_compile_message_is_one_escaped_line_cut_at_a_character() {
        let mut s = Submission::command("bad.c", "");
        assert_eq!(s.compile_message(), None);
        s.compile_error = Some("bad.c:1:1: error: \x1b[2J\nint main( {\n".into());
        assert_eq!(
            s.compile_message().as_deref(),
            Some("compile error: bad.c:1:1: error: \\u{1b}[2J\\nint main( {")
        );
        s.compile_error = Some("é".repeat(MAX_COMPILE_MESSAGE));
        let message = s.compile_message().unwrap();
        assert!(
            message.ends_with(&format!(" … ({} more bytes)", MAX_COMPILE_MESSAGE)),
            "{message}"
        );
        assert_eq!(
            message.chars().filter(|c| *c == 'é').count(),
            MAX_COMPILE_MESSAGE / 2
        );
    }
}
