//! A report for the format tests: AC, WA, TLE, IE and SKIP, and a message a submission
//! could have chosen (`<`, `&`, `"` and a control byte).

use super::{CaseResult, GroupReport, Report, SubmissionReport};
use crate::scoring::Scoring;
use crate::verdict::Verdict;

pub(crate) const HOSTILE: &str = "expected <1> & got \"2\"\u{1}";

fn case(name: &str, verdict: Verdict, message: Option<&str>) -> CaseResult {
    CaseResult {
        submission: "sub.py".into(),
        group: "g".into(),
        case: name.into(),
        verdict,
        failure: None,
        exit_code: Some(0),
        wall_time: 0.25,
        cpu_time: None,
        fuel: None,
        peak_memory: Some(1024),
        output_bytes: 2,
        points: Some(if verdict.is_accepted() { 20.0 } else { 0.0 }),
        fraction: if verdict.is_accepted() { 1.0 } else { 0.0 },
        deadline: Some(1.0),
        message: message.map(str::to_owned),
        first_diff_line: (verdict == Verdict::WrongAnswer).then_some(1),
        diff: None,
        reset_time: 0.0,
    }
}

pub(crate) fn report() -> Report {
    let cases = vec![
        case("ac", Verdict::Accepted, None),
        case("wa", Verdict::WrongAnswer, Some(HOSTILE)),
        case(
            "tle",
            Verdict::TimeLimitExceeded,
            Some("deadline 1s passed"),
        ),
        case("ie", Verdict::InternalError, Some("engine failed")),
        case("skip", Verdict::Skipped, None),
    ];
    Report {
        format: super::REPORT_FORMAT,
        problem: "sum".into(),
        fingerprint: "0".repeat(64),
        shard: None,
        groups: vec![super::GroupOutline {
            group: "g".into(),
            points: 100.0,
            scoring: Scoring::Sum,
            cases: ["ac", "wa", "tle", "ie", "skip"].map(String::from).into(),
        }],
        submissions: vec![SubmissionReport {
            submission: "sub.py".into(),
            cases,
            groups: vec![GroupReport {
                group: "g".into(),
                scoring: Scoring::Sum,
                points: 20.0,
                max_points: 100.0,
                accepted: 1,
                cases: 5,
            }],
            score: 20.0,
            max_score: 100.0,
            all_accepted: false,
        }],
    }
}
