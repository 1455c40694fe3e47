//! What grading produced: per case ([`CaseResult`]), per submission and group, and the
//! renderings for people (a table) and machines (JSON, JSON lines, JUnit XML, CTRF JSON).

mod ctrf;
mod junit;
mod merge;
#[cfg(test)]
mod sample;

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::scoring::Scoring;
use crate::shard::Shard;
use crate::verdict::{RuntimeFailure, Verdict};

pub use merge::{CaseKey, MergeError};

/// The version of the report document ([`Report::format`]); [`Report::merge`] reads this
/// version only.
pub const REPORT_FORMAT: u32 = 1;

/// The result of one submission on one case. Times are in seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

/// One submission's results. In a shard's report, only the shard's cases, and its groups
/// count only those (a case of another shard counts as not accepted).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

/// The final report of a grading run, or of one shard of it. It records what
/// [`Report::merge`] needs to put shards back together: the inputs' fingerprint, the shard,
/// and the problem's groups.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The version of this document: [`REPORT_FORMAT`].
    pub format: u32,
    /// The problem's name.
    pub problem: String,
    /// SHA-256 (hex) of what the results depend on: the problem as loaded, the environment,
    /// the submissions and the options that change results (not `jobs`, not the shard).
    /// Shards of one run share it; see `docs/grading.md`.
    pub fingerprint: String,
    /// The shard this report is of; `None` for a whole run (and a merged one).
    pub shard: Option<Shard>,
    /// The problem's groups, in order, each with its points, scoring and case names: how
    /// cases are scored, whichever of them this report has.
    pub groups: Vec<GroupOutline>,
    /// Every submission, in the order given.
    pub submissions: Vec<SubmissionReport>,
}

/// A group of the problem, as a report records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupOutline {
    /// The group.
    pub group: String,
    /// What it is worth.
    pub points: f64,
    /// How its cases make its points.
    pub scoring: Scoring,
    /// Its cases' names, in order.
    pub cases: Vec<String>,
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

/// Scores one submission: `results[g][c]` is case `c` of group `g` of `outline`, `None`
/// when this report does not have it (another shard's). Cases are kept in problem order;
/// a `sum` case earns its `fraction` of `points / cases` of its group (cases of the whole group, so a
/// shard's case has the points it has in the whole run); a group's points are its scoring
/// over all its cases, with a case this report does not have counting as not accepted, so
/// complete results score exactly as [`Scoring::score`] does and a shard never claims a
/// `min` group it has only part of. `accepted` and `cases` count the cases present.
pub(crate) fn summarize(
    outline: &[GroupOutline],
    submission: &str,
    results: Vec<Vec<Option<CaseResult>>>,
) -> SubmissionReport {
    let mut cases = Vec::new();
    let mut groups = Vec::new();
    for (group, results) in outline.iter().zip(results) {
        // A case this report does not have earns nothing here.
        let fractions: Vec<f64> = results
            .iter()
            .map(|r| r.as_ref().map_or(0.0, |r| r.fraction))
            .collect();
        let share = group.points / results.len().max(1) as f64;
        let (mut present, mut accepted) = (0, 0);
        for mut c in results.into_iter().flatten() {
            present += 1;
            accepted += usize::from(c.verdict.is_accepted());
            if group.scoring == Scoring::Sum {
                c.points = Some(share * c.fraction);
            }
            cases.push(c);
        }
        groups.push(GroupReport {
            group: group.group.clone(),
            scoring: group.scoring,
            points: group.scoring.score(group.points, &fractions),
            max_points: group.points,
            accepted,
            cases: present,
        });
    }
    SubmissionReport {
        submission: submission.to_owned(),
        all_accepted: cases.iter().all(|c| c.verdict.is_accepted()),
        score: groups.iter().map(|g| g.points).sum(),
        max_score: groups.iter().map(|g| g.max_points).sum(),
        groups,
        cases,
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
