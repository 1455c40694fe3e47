//! [`Report::merge`]: the reports of the shards of one run, put back together into the
//! report one unsharded run gives.

use std::collections::BTreeMap;

use super::{CaseResult, REPORT_FORMAT, Report, summarize};
use crate::shard::Shard;

/// Why shard reports cannot be merged. Each names the report (as the caller labelled it:
/// the CLI gives file names) and, where one is at fault, the submission, group and case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no report to merge")]
    Empty,
    /// A report of another format version.
    #[error("{source_name}: a report of format {found}; this subrun reads format {REPORT_FORMAT}")]
    Format {
        /// The report.
        source_name: String,
        /// Its `format`.
        found: u32,
    },
    /// Reports of different inputs (problem, submissions, environment or options).
    #[error(
        "{source_name}: a report of different inputs (problem, submissions, environment or grading options) than {first}: fingerprint {found} is not {expected}"
    )]
    Fingerprint {
        /// The report.
        source_name: String,
        /// Its fingerprint.
        found: String,
        /// The first report.
        first: String,
        /// The first report's fingerprint.
        expected: String,
    },
    /// Reports of different shard counts (an unsharded report counts as `0/1`).
    #[error(
        "{source_name}: shard {found} does not split the run like {first} (shard {expected}): mixed shard counts"
    )]
    ShardCount {
        /// The report.
        source_name: String,
        /// Its shard.
        found: Shard,
        /// The first report.
        first: String,
        /// The first report's shard.
        expected: Shard,
    },
    /// A shard index none of the reports is.
    #[error("shard {missing} is missing: the reports given are shards {given}")]
    MissingShard {
        /// The missing shard.
        missing: Shard,
        /// The shards given, with their reports (`0/3 (a.json), 2/3 (c.json)`).
        given: String,
    },
    /// A report that lists other submissions or groups than the first, for the same
    /// fingerprint (an edited report).
    #[error("{source_name}: {what} differ from those of {first} under the same fingerprint")]
    Structure {
        /// The report.
        source_name: String,
        /// `the submissions` or `the groups`.
        what: &'static str,
        /// The first report.
        first: String,
    },
    /// A result for a case the problem does not have.
    #[error("{source_name}: {case}: the problem has no such case")]
    UnknownCase {
        /// The report.
        source_name: String,
        /// The case.
        case: CaseKey,
    },
    /// A case two reports give different results for.
    #[error(
        "{source_name}: {case} is {found} there and {expected} in {other}: the same case with different results"
    )]
    Conflict {
        /// The report.
        source_name: String,
        /// The other report.
        other: String,
        /// The case.
        case: Box<CaseKey>,
        /// What this report says (`verdict WA`, or the first field that differs).
        found: String,
        /// What the other report says.
        expected: String,
    },
    /// A case no report has a result for.
    #[error("{case} is in none of the reports ({sources})")]
    MissingCase {
        /// The case.
        case: CaseKey,
        /// The reports given.
        sources: String,
    },
}

/// One submission's case, as a [`MergeError`] names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseKey {
    /// The submission.
    pub submission: String,
    /// The case's group.
    pub group: String,
    /// The case.
    pub case: String,
}

impl std::fmt::Display for CaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "submission `{}`, case `{}/{}`",
            self.submission, self.group, self.case
        )
    }
}

/// What a case's result is, for telling a retried shard (the same results, other times) from
/// a conflicting one: every field but the measurements (`wall_time`, `cpu_time`, `fuel`,
/// `peak_memory`, `reset_time`), by name.
fn judged(c: &CaseResult) -> [(&'static str, String); 9] {
    [
        ("verdict", c.verdict.to_string()),
        ("failure", format!("{:?}", c.failure)),
        ("exit_code", format!("{:?}", c.exit_code)),
        ("points", format!("{:?}", c.points)),
        ("message", format!("{:?}", c.message)),
        ("first_diff_line", format!("{:?}", c.first_diff_line)),
        ("diff", format!("{:?}", c.diff)),
        ("output_bytes", c.output_bytes.to_string()),
        ("deadline", format!("{:?}", c.deadline)),
    ]
}

impl Report {
    /// Merges the reports of the shards of one run into the report one unsharded run of the
    /// same inputs gives: every case once, in problem order, groups scored again (a `min`
    /// group split across shards included), scores summed. Each report comes with a name for
    /// messages (the CLI gives the file's).
    ///
    /// Every report must have this format and the same fingerprint, and the same shard
    /// count; every shard `0..N` must be given. A shard given twice is used once when both
    /// give every case the same result (a retried shard: only the times differ; the first
    /// given is kept); a case with different results in two reports is refused.
    ///
    /// # Errors
    /// A [`MergeError`] naming the report at fault.
    pub fn merge<S: Into<String>>(
        reports: impl IntoIterator<Item = (S, Report)>,
    ) -> Result<Report, MergeError> {
        let reports: Vec<(String, Report)> =
            reports.into_iter().map(|(s, r)| (s.into(), r)).collect();
        let Some((first_name, first)) = reports.first() else {
            return Err(MergeError::Empty);
        };
        let first_shard = first.shard.unwrap_or(Shard::WHOLE);
        let mut shards: BTreeMap<u32, &str> = BTreeMap::new();
        for (name, report) in &reports {
            check_compatible(name, report, first_name, first, first_shard)?;
            shards
                .entry(report.shard.unwrap_or(Shard::WHOLE).index)
                .or_insert(name);
        }
        if let Some(missing) = (0..first_shard.count).find(|i| !shards.contains_key(i)) {
            let given = shards
                .iter()
                .map(|(i, name)| format!("{i}/{} ({name})", first_shard.count))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(MergeError::MissingShard {
                missing: Shard {
                    index: missing,
                    count: first_shard.count,
                },
                given,
            });
        }

        // Every case of every submission, from whichever report has it; `from` says which.
        let outline = &first.groups;
        let mut submissions = Vec::with_capacity(first.submissions.len());
        for (s, sub) in first.submissions.iter().enumerate() {
            let key = |group: &str, case: &str| CaseKey {
                submission: sub.submission.clone(),
                group: group.to_owned(),
                case: case.to_owned(),
            };
            let mut slots: Vec<Vec<Option<(&str, &CaseResult)>>> =
                outline.iter().map(|g| vec![None; g.cases.len()]).collect();
            for (name, report) in &reports {
                for case in &report.submissions[s].cases {
                    let (g, c) = outline
                        .iter()
                        .enumerate()
                        .find(|(_, g)| g.group == case.group)
                        .and_then(|(g, group)| {
                            group
                                .cases
                                .iter()
                                .position(|c| *c == case.case)
                                .map(|c| (g, c))
                        })
                        .ok_or_else(|| MergeError::UnknownCase {
                            source_name: name.clone(),
                            case: key(&case.group, &case.case),
                        })?;
                    match slots[g][c] {
                        None => slots[g][c] = Some((name, case)),
                        Some((other, kept)) if judged(kept) == judged(case) => {
                            tracing::debug!(report = %name, kept = %other, case = %case.case, "a case given twice with the same result: used once");
                        }
                        Some((other, kept)) => {
                            let (found, expected) = difference(case, kept);
                            return Err(MergeError::Conflict {
                                source_name: name.clone(),
                                other: other.to_owned(),
                                case: Box::new(key(&case.group, &case.case)),
                                found,
                                expected,
                            });
                        }
                    }
                }
            }
            let mut results = Vec::with_capacity(outline.len());
            for (group, slots) in outline.iter().zip(slots) {
                let mut cases = Vec::with_capacity(slots.len());
                for (case, slot) in group.cases.iter().zip(slots) {
                    let Some((_, result)) = slot else {
                        return Err(MergeError::MissingCase {
                            case: key(&group.group, case),
                            sources: reports
                                .iter()
                                .map(|(n, _)| n.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                        });
                    };
                    let mut result = result.clone();
                    // A report is a file anyone may have edited: its message reaches the
                    // table, so it is escaped again (a no-op on subrun's own, escaped ones).
                    result.message = result
                        .message
                        .map(|m| subrun::terminal::escape(&m).into_owned());
                    cases.push(Some(result));
                }
                results.push(cases);
            }
            submissions.push(summarize(outline, &sub.submission, results));
        }
        Ok(Report {
            format: REPORT_FORMAT,
            problem: first.problem.clone(),
            fingerprint: first.fingerprint.clone(),
            shard: None,
            groups: outline.clone(),
            submissions,
        })
    }
}

fn check_compatible(
    name: &str,
    report: &Report,
    first_name: &str,
    first: &Report,
    first_shard: Shard,
) -> Result<(), MergeError> {
    if report.format != REPORT_FORMAT {
        return Err(MergeError::Format {
            source_name: name.to_owned(),
            found: report.format,
        });
    }
    if report.fingerprint != first.fingerprint {
        return Err(MergeError::Fingerprint {
            source_name: name.to_owned(),
            found: report.fingerprint.clone(),
            first: first_name.to_owned(),
            expected: first.fingerprint.clone(),
        });
    }
    let shard = report.shard.unwrap_or(Shard::WHOLE);
    if shard.count != first_shard.count {
        return Err(MergeError::ShardCount {
            source_name: name.to_owned(),
            found: shard,
            first: first_name.to_owned(),
            expected: first_shard,
        });
    }
    let structure = |what| MergeError::Structure {
        source_name: name.to_owned(),
        what,
        first: first_name.to_owned(),
    };
    if report.groups != first.groups {
        return Err(structure("the groups"));
    }
    let names = |r: &Report| {
        r.submissions
            .iter()
            .map(|s| s.submission.clone())
            .collect::<Vec<_>>()
    };
    if names(report) != names(first) {
        return Err(structure("the submissions"));
    }
    Ok(())
}

/// The first field two results of one case differ in, as `field value` for each.
fn difference(found: &CaseResult, expected: &CaseResult) -> (String, String) {
    judged(found)
        .into_iter()
        .zip(judged(expected))
        .find(|(a, b)| a != b)
        .map_or_else(Default::default, |((field, a), (_, b))| {
            (format!("{field} {a}"), format!("{field} {b}"))
        })
}

#[cfg(test)]
mod tests {
    use super::super::{GroupOutline, sample};
    use super::*;
    use crate::scoring::Scoring;
    use crate::verdict::Verdict;

    #[test]
    fn a_report_reads_back_from_its_json() {
        let report = sample::report();
        let back: Report = serde_json::from_str(&report.to_json()).expect("a report");
        assert_eq!(back, report);
    }

    /// A shard's groups: a `sum` case earns its share of the whole group, a `min` group
    /// split across shards earns nothing until merged.
    #[test]
    fn a_shard_is_scored_by_its_whole_groups() {
        let outline = [
            GroupOutline {
                group: "s".into(),
                points: 40.0,
                scoring: Scoring::Sum,
                cases: vec!["a".into(), "b".into()],
            },
            GroupOutline {
                group: "m".into(),
                points: 60.0,
                scoring: Scoring::Min,
                cases: vec!["c".into(), "d".into()],
            },
        ];
        let mut ac = sample::report().submissions[0].cases[0].clone();
        ac.points = None;
        let sub = summarize(
            &outline,
            "sub.py",
            vec![vec![Some(ac.clone()), None], vec![Some(ac.clone()), None]],
        );
        assert_eq!(sub.cases.len(), 2);
        assert_eq!(sub.cases[0].points, Some(20.0));
        assert_eq!(sub.cases[1].points, None);
        let points: Vec<(f64, usize, usize)> = sub
            .groups
            .iter()
            .map(|g| (g.points, g.accepted, g.cases))
            .collect();
        assert_eq!(points, [(20.0, 1, 1), (0.0, 1, 1)]);
        assert_eq!(
            (sub.score, sub.max_score, sub.all_accepted),
            (20.0, 100.0, true)
        );

        let whole = summarize(
            &outline,
            "sub.py",
            vec![vec![Some(ac.clone()); 2], vec![Some(ac); 2]],
        );
        assert_eq!(whole.score, 100.0);
    }

    /// Two shards of a report whose `min` group (every case AC) is split between them:
    /// neither shard claims the group, the merge gives its points.
    #[test]
    fn a_min_group_split_across_shards_scores_once_merged() {
        let mut whole = sample::report();
        whole.groups[0].scoring = Scoring::Min;
        for c in &mut whole.submissions[0].cases {
            c.verdict = Verdict::Accepted;
            c.fraction = 1.0;
            c.points = None;
        }
        let shard = |index: u32, keep: &[&str]| {
            let mut r = whole.clone();
            r.shard = Some(Shard { index, count: 2 });
            let results = vec![
                whole.submissions[0]
                    .cases
                    .iter()
                    .map(|c| keep.contains(&c.case.as_str()).then(|| c.clone()))
                    .collect(),
            ];
            r.submissions[0] = summarize(&r.groups, "sub.py", results);
            r
        };
        let a = shard(0, &["ac", "tle"]);
        let b = shard(1, &["wa", "ie", "skip"]);
        assert_eq!((a.submissions[0].score, b.submissions[0].score), (0.0, 0.0));
        let merged = Report::merge([("b.json", b), ("a.json", a)]).expect("merges");
        assert_eq!(merged.submissions[0].score, 100.0);
        assert_eq!(merged.submissions[0].groups[0].cases, 5);
        let order: Vec<&str> = merged.submissions[0]
            .cases
            .iter()
            .map(|c| c.case.as_str())
            .collect();
        assert_eq!(order, ["ac", "wa", "tle", "ie", "skip"], "problem order");
    }

    #[test]
    fn a_report_of_another_format_or_an_unknown_case_is_refused_naming_it() {
        let mut old = sample::report();
        old.format = 0;
        let err = Report::merge([("old.json", old)]).expect_err("format 0");
        assert_eq!(
            err.to_string(),
            "old.json: a report of format 0; this subrun reads format 1"
        );

        let mut edited = sample::report();
        edited.submissions[0].cases[1].case = "nope".into();
        let err = Report::merge([("e.json", edited)]).expect_err("an unknown case");
        assert_eq!(
            err.to_string(),
            "e.json: submission `sub.py`, case `g/nope`: the problem has no such case"
        );
        assert!(matches!(
            Report::merge(Vec::<(String, Report)>::new()),
            Err(MergeError::Empty)
        ));
    }

    #[test]
    fn a_message_read_from_a_report_is_escaped() {
        let mut report = sample::report();
        report.submissions[0].cases[1].message = Some("\u{1b}[2Jforged".into());
        let merged = Report::merge([("r.json", report)]).expect("merges");
        assert_eq!(
            merged.submissions[0].cases[1].message.as_deref(),
            Some("\\u{1b}[2Jforged")
        );
        assert_eq!(merged.submissions[0].cases[1].verdict, Verdict::WrongAnswer);
    }
}
