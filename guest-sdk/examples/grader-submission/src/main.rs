//! Word frequencies, as a grader would run them:
//!
//! - the text comes on **stdin**;
//! - the case file `case.json` in the workspace says how many words to report (`{"top": 3}`);
//! - the static asset `stopwords.txt` lists words to ignore (`/static/stopwords.txt`);
//! - the answer goes to `out/result.json` in the workspace and a summary to stdout;
//! - the exit code is 0, or 2 when the case asks for nothing (`top` is 0).
//!
//! ```text
//! $ subrun build guest-sdk/examples/grader-submission
//! $ subrun run --workspace case1/ --asset stopwords.txt=stopwords.txt --stdin text.txt \
//!       -- grader-submission.wasm
//! ```
//!
//! Natively: `SUBRUN_STATIC_DIR=dir/with/stopwords cargo run < text.txt` in a directory
//! holding `case.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use serde::{Deserialize, Serialize};

/// The case file.
#[derive(Deserialize)]
struct Case {
    /// How many of the most frequent words to report.
    top: usize,
}

/// The result file.
#[derive(Serialize)]
struct Answer {
    /// Words counted (stop words excluded).
    words: usize,
    /// The most frequent words, most frequent first (ties alphabetically).
    top: Vec<(String, usize)>,
}

fn run() -> subrun_guest::Result<ExitCode> {
    let case: Case = subrun_guest::read_json("case.json")?;
    if case.top == 0 {
        eprintln!("case.json asks for the top 0 words: nothing to do");
        return Ok(ExitCode::from(2));
    }
    let stopwords: BTreeSet<String> = subrun_guest::read_asset_to_string("stopwords.txt")?
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let text = subrun_guest::read_stdin_to_string()?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut words = 0;
    for word in text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !stopwords.contains(w))
    {
        words += 1;
        *counts.entry(word).or_default() += 1;
    }
    let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(case.top);
    for (word, n) in &ranked {
        println!("{n:>4} {word}");
    }
    subrun_guest::write_json("out/result.json", &Answer { words, top: ranked })?;
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => subrun_guest::report(Err(e)),
    }
}
