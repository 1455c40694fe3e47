//! Expected files: after a case ran, the files the case names are read back from the
//! submission's workspace and compared with their answers by the problem's checker.
//!
//! Reading goes through [`Session::get_file_contents`], which never follows a symlink (a
//! symlink a submission planted at an expected path is not a match, so the file is missing)
//! and reads at most the workspace's `max_read_bytes`. The answers stay in this process:
//! they are never written into a workspace.

use subrun::Session;

use crate::checker::{CheckOutcome, Checker, Mismatch};
use crate::problem::ExpectedFile;
use crate::verdict::Verdict;

/// Why the expected files refuse a case that was otherwise accepted.
#[derive(Debug)]
pub(crate) struct FileFailure {
    /// WA, PE (from the checker) or OLE (a file past the read bound).
    pub(crate) verdict: Verdict,
    /// One line naming the path (escaped).
    pub(crate) message: String,
    /// The checker's mismatch, when it compared the file.
    pub(crate) mismatch: Option<Mismatch>,
}

/// Checks `files` in order; the first one missing or different is the failure.
pub(crate) fn check(
    session: &Session,
    files: &[ExpectedFile],
    checker: &Checker,
) -> Option<FileFailure> {
    files.iter().find_map(|f| check_one(session, f, checker))
}

fn check_one(session: &Session, file: &ExpectedFile, checker: &Checker) -> Option<FileFailure> {
    let shown = subrun::terminal::escape(&file.path).into_owned();
    let fail = |verdict, message: String, mismatch| {
        Some(FileFailure {
            verdict,
            message,
            mismatch,
        })
    };
    let mut found = match session.get_file_contents(&[glob_literal(&file.path)]) {
        Ok(found) => found,
        Err(e) if e.limit_exceeded().is_some() => {
            let e = subrun::terminal::escape(&e.to_string()).into_owned();
            return fail(
                Verdict::OutputLimitExceeded,
                format!("expected file `{shown}` is too large to read back: {e}"),
                None,
            );
        }
        Err(e) => {
            let e = subrun::terminal::escape(&e.to_string()).into_owned();
            return fail(
                Verdict::WrongAnswer,
                format!("expected file `{shown}` cannot be read: {e}"),
                None,
            );
        }
    };
    let Some(got) = found.remove(&file.path) else {
        return fail(
            Verdict::WrongAnswer,
            format!("expected file `{shown}` is missing (or not a regular file)"),
            None,
        );
    };
    // A checker program judges a case's stdout in its sandbox; files use the judges' default.
    let checker = match checker {
        Checker::Program(_) => &Checker::Tokens,
        builtin => builtin,
    };
    match checker.check(got.as_bytes(), &file.content) {
        CheckOutcome::Accepted => None,
        CheckOutcome::WrongAnswer(m) => fail(
            Verdict::WrongAnswer,
            format!("file `{shown}`: {}", m.message),
            Some(m),
        ),
        CheckOutcome::PresentationError(m) => fail(
            Verdict::PresentationError,
            format!("file `{shown}`: {}", m.message),
            Some(m),
        ),
        // Only a checker program gives these, and files never go to one.
        CheckOutcome::Partial { .. } | CheckOutcome::CheckerFailed(_) => fail(
            Verdict::InternalError,
            format!("file `{shown}`: the checker gave no verdict"),
            None,
        ),
    }
}

/// `path` as a workspace glob that matches only itself (glob characters escaped).
fn glob_literal(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::glob_literal;

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_literal("out/a.txt"), "out/a.txt");
        assert_eq!(glob_literal("a[1]*.txt"), "a\\[1\\]\\*.txt");
    }
}
