//! Reading a problem's files: one file, and `NAME.in` / answer pairs.

use std::path::Path;

use super::{Case, ProblemError};

/// Reads a file of the problem, naming it on failure.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, ProblemError> {
    std::fs::read(path).map_err(|source| ProblemError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// `NAME.in` files of `dir` paired with their answer (`NAME.ans`, else `NAME.out` when
/// `out_too`), sorted by name. An input without an answer, an answer without an input, or
/// both `.ans` and `.out` is an error naming the file.
pub(crate) fn paired_cases(dir: &Path, out_too: bool) -> Result<Vec<Case>, ProblemError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ProblemError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut inputs = Vec::new();
    let mut answers = std::collections::BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(|source| ProblemError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let (Some(stem), Some(ext)) = (path.file_stem(), path.extension()) else {
            continue;
        };
        let stem = stem.to_string_lossy().into_owned();
        match ext.to_str() {
            Some("in") => inputs.push(stem),
            Some("ans") => {
                answers.insert((stem, "ans"));
            }
            Some("out") if out_too => {
                answers.insert((stem, "out"));
            }
            _ => {}
        }
    }
    inputs.sort();
    let mut cases = Vec::with_capacity(inputs.len());
    for stem in &inputs {
        let has_ans = answers.remove(&(stem.clone(), "ans"));
        let has_out = answers.remove(&(stem.clone(), "out"));
        let ext = match (has_ans, has_out) {
            (true, true) => {
                return Err(ProblemError::invalid(
                    dir.join(format!("{stem}.out")),
                    "",
                    Some(stem),
                    format!("both {stem}.ans and {stem}.out exist: keep one answer"),
                ));
            }
            (true, false) => "ans",
            (false, true) => "out",
            (false, false) => {
                let wanted = if out_too { ".out or .ans" } else { ".ans" };
                return Err(ProblemError::invalid(
                    dir.join(format!("{stem}.in")),
                    "",
                    Some(stem),
                    format!("no answer: expected {stem}{wanted} beside it"),
                ));
            }
        };
        cases.push(Case {
            name: stem.clone(),
            args: Vec::new(),
            stdin: Some(read(&dir.join(format!("{stem}.in")))?),
            files: Vec::new(),
            answer: Some(read(&dir.join(format!("{stem}.{ext}")))?),
            expected_files: Vec::new(),
        });
    }
    if let Some((stem, ext)) = answers.into_iter().next() {
        return Err(ProblemError::invalid(
            dir.join(format!("{stem}.{ext}")),
            "",
            Some(&stem),
            format!("an answer without input: expected {stem}.in beside it"),
        ));
    }
    Ok(cases)
}
