//! Submissions: the files a case starts from and the command that runs them.

use std::path::Path;

use crate::error::GradeError;

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
}

impl Submission {
    /// A file submission, by extension: `.wasm` / `.wat` runs as the module itself,
    /// `.py` as `python FILE` (the wasi runtime's python guest). The file is copied into
    /// the workspace under its own name.
    ///
    /// # Errors
    /// [`GradeError::ReadSubmission`] when the file cannot be read,
    /// [`GradeError::UnknownSubmission`] for another extension.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, GradeError> {
        let path = path.as_ref();
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| GradeError::UnknownSubmission {
                path: path.to_path_buf(),
            })?;
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let quoted = shell_words::quote(&file_name).into_owned();
        let command = match ext {
            "wasm" | "wat" => quoted,
            "py" => format!("python {quoted}"),
            _ => {
                return Err(GradeError::UnknownSubmission {
                    path: path.to_path_buf(),
                });
            }
        };
        let bytes = std::fs::read(path).map_err(|source| GradeError::ReadSubmission {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            name: file_name.clone(),
            files: vec![(file_name, bytes)],
            command,
        })
    }

    /// A command submission (for example `./a.out` on `local`, or a command over files added
    /// with [`file`](Self::file)).
    pub fn command(name: impl Into<String>, command: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            files: Vec::new(),
            command: command.into(),
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
}
