//! What grading produced: per case ([`CaseResult`]), per submission and group, and the
//! renderings for people (a table) and machines (JSON, JSON lines, JUnit XML, CTRF JSON).

mod ctrf;
mod junit;
#[cfg(test)]
mod sample;

use std::fmt::Write;

use serde::Serialize;

use crate::scoring::Scoring;
use crate::verdict::{RuntimeFailure, Verdict};

/// The result of one submission on one case. Times are in seconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CaseResult {
    /// The submission's name.
    pub submission: String,
    /// The case's group.
    pub group: String,
    /// The case.
    pub case: String,
    /// The verdict.
    pub verdict: Verdict,
    /// For RE: the exit code, signal or trap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<RuntimeFailure>,
    /// The shell-like exit code (`None` when the case did not run).
    pub exit_code: Option<i32>,
    /// Wall time of the command.
    pub wall_time: f64,
    /// CPU time, where the runtime measures it.
    pub cpu_time: Option<f64>,
    /// Fuel consumed, when metered.
    pub fuel: Option<u64>,
    /// Peak memory in bytes, where measured (wasi: peak linear memory).
    pub peak_memory: Option<u64>,
    /// Bytes written to stdout and stderr.
    pub output_bytes: u64,
    /// Points this case earned in a `sum` group (its `fraction` of the group's points /
    /// cases); `None` in a `min` group, whose points are the group's ([`GroupReport`]).
    pub points: Option<f64>,
    /// The fraction of its points the case earned: 1 for AC, the checker's fraction for PA,
    /// 0 otherwise.
    pub fraction: f64,
    /// The deadline that applied, after any per-program factor.
    pub deadline: Option<f64>,
    /// A one-line explanation (the checker's message, the failure), escaped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// For WA / PE: the first differing line (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_diff_line: Option<usize>,
    /// For WA / PE: a short unified diff, escaped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Time spent resetting the workspace to the pristine submission and writing the case's
    /// input files, before the command.
    pub reset_time: f64,
}

/// One group's score for one submission.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupReport {
    /// The group.
    pub group: String,
    /// Its scoring.
    pub scoring: Scoring,
    /// Points earned.
    pub points: f64,
    /// Points available.
    pub max_points: f64,
    /// Cases accepted.
    pub accepted: usize,
    /// Cases in the group.
    pub cases: usize,
}

/// One submission's results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SubmissionReport {
    /// The submission's name.
    pub submission: String,
    /// Every case, in problem order.
    pub cases: Vec<CaseResult>,
    /// Every group, in problem order.
    pub groups: Vec<GroupReport>,
    /// Points earned.
    pub score: f64,
    /// Points available.
    pub max_score: f64,
    /// True when every case is AC.
    pub all_accepted: bool,
}

/// The final report of a grading run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The problem's name.
    pub problem: String,
    /// Every submission, in the order given.
    pub submissions: Vec<SubmissionReport>,
}

impl Report {
    /// True when every case of every submission is AC.
    pub fn all_accepted(&self) -> bool {
        self.submissions.iter().all(|s| s.all_accepted)
    }

    /// The report as one JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports are plain data")
    }

    /// A table for people: one row per case (submission, group, case, verdict, time, memory,
    /// points, message), then one summary line per submission. Every name and message is
    /// escaped ([`subrun::terminal::escape`]).
    pub fn table(&self) -> String {
        let esc = |s: &str| subrun::terminal::escape(s).into_owned();
        let mut rows = vec![[
            "submission".to_owned(),
            "group".into(),
            "case".into(),
            "verdict".into(),
            "time".into(),
            "memory".into(),
            "points".into(),
            "message".into(),
        ]];
        for s in &self.submissions {
            for c in &s.cases {
                rows.push([
                    esc(&c.submission),
                    esc(&c.group),
                    esc(&c.case),
                    c.verdict.code().to_owned(),
                    human_secs(c.wall_time),
                    c.peak_memory.map_or_else(|| "-".to_owned(), human_bytes),
                    c.points.map_or_else(|| "-".to_owned(), format_points),
                    c.message.clone().unwrap_or_default(),
                ]);
            }
        }
        let mut widths = [0usize; 8];
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in &rows {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    let _ = write!(line, "{cell:<w$}  ");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        for s in &self.submissions {
            let accepted = s.cases.iter().filter(|c| c.verdict.is_accepted()).count();
            let _ = writeln!(
                out,
                "{}: {}/{} points, {accepted}/{} cases accepted",
                esc(&s.submission),
                format_points(s.score),
                format_points(s.max_score),
                s.cases.len()
            );
        }
        out
    }
}

impl CaseResult {
    /// This result as one line of JSON (for `--jsonl`).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("case results are plain data")
    }
}

/// What a verdict is to a CI report: passed, the submission's failure, subrun's error
/// (IE), or not run.
pub(crate) enum Kind {
    Passed,
    Failure,
    Error,
    Skipped,
}

pub(crate) fn kind(verdict: Verdict) -> Kind {
    match verdict {
        Verdict::Accepted => Kind::Passed,
        Verdict::WrongAnswer
        | Verdict::PresentationError
        | Verdict::Partial
        | Verdict::TimeLimitExceeded
        | Verdict::MemoryLimitExceeded
        | Verdict::OutputLimitExceeded
        | Verdict::RuntimeError
        | Verdict::CompileError => Kind::Failure,
        Verdict::InternalError => Kind::Error,
        Verdict::Skipped => Kind::Skipped,
    }
}

fn format_points(p: f64) -> String {
    let rounded = (p * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded}")
    }
}

/// `0.4ms`, `42.0ms`, `2.071s`.
fn human_secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1}ms", s * 1000.0)
    } else {
        format!("{s:.3}s")
    }
}

fn human_bytes(b: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if b >= 1024 * 1024 {
        format!("{:.1}MiB", b as f64 / MIB)
    } else {
        format!("{:.1}KiB", b as f64 / 1024.0)
    }
}
