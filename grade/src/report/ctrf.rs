//! `--ctrf FILE`: the report as CTRF JSON (Common Test Report Format, ctrf.io).

use serde::Serialize;

use super::{CaseResult, Kind, Report, kind};
use crate::verdict::{RuntimeFailure, Verdict};

/// The CTRF specification version the document follows.
const SPEC_VERSION: &str = "0.0.0";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    report_format: &'static str,
    spec_version: &'static str,
    generated_by: &'static str,
    results: Results<'a>,
}

#[derive(Serialize)]
struct Results<'a> {
    tool: Tool,
    summary: Summary,
    tests: Vec<Test<'a>>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Summary {
    tests: usize,
    passed: usize,
    failed: usize,
    pending: usize,
    skipped: usize,
    other: usize,
    suites: usize,
    start: u64,
    stop: u64,
    duration: u64,
}

#[derive(Serialize)]
struct Test<'a> {
    name: String,
    status: &'static str,
    /// Milliseconds.
    duration: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    /// From the top: the submission, then the group.
    suite: [&'a str; 2],
    extra: Extra<'a>,
}

#[derive(Serialize)]
struct Extra<'a> {
    submission: &'a str,
    group: &'a str,
    case: &'a str,
    verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<&'a RuntimeFailure>,
    points: Option<f64>,
    peak_memory: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_diff_line: Option<usize>,
}

/// CTRF's status of a verdict: AC passed; WA, PE, PA, TLE, MLE, OLE, RE, CE failed; SKIP
/// skipped; IE (subrun's failure, not the submission's) other.
fn status(v: Verdict) -> &'static str {
    match kind(v) {
        Kind::Passed => "passed",
        Kind::Failure => "failed",
        Kind::Skipped => "skipped",
        Kind::Error => "other",
    }
}

fn test(c: &CaseResult) -> Test<'_> {
    Test {
        name: format!("{} {}/{}", c.submission, c.group, c.case),
        status: status(c.verdict),
        duration: (c.wall_time * 1000.0).round() as u64,
        message: c.message.as_deref(),
        suite: [&c.submission, &c.group],
        extra: Extra {
            submission: &c.submission,
            group: &c.group,
            case: &c.case,
            verdict: c.verdict,
            failure: c.failure.as_ref(),
            points: c.points,
            peak_memory: c.peak_memory,
            first_diff_line: c.first_diff_line,
        },
    }
}

impl Report {
    /// The report as CTRF JSON (`reportFormat` `CTRF`, `specVersion` 0.0.0):
    /// `results.tool.name` is `subrun`, `results.summary` counts the statuses and the
    /// suites, `results.tests` has one test per case (`name` = `submission group/case`,
    /// `suite` = `[submission, group]`, `duration` in milliseconds, `extra` with
    /// the verdict and points). AC is `passed`; WA, PE, PA, TLE, MLE, OLE, RE and CE `failed`;
    /// SKIP `skipped`; IE `other`. `start` and `stop` are the run's bounds in milliseconds
    /// since the Unix epoch, which the report itself does not hold.
    pub fn to_ctrf(&self, start_ms: u64, stop_ms: u64) -> String {
        let tests: Vec<Test<'_>> = self
            .submissions
            .iter()
            .flat_map(|s| &s.cases)
            .map(test)
            .collect();
        let count = |st: &str| tests.iter().filter(|t| t.status == st).count();
        let suites: std::collections::BTreeSet<_> = tests.iter().map(|t| t.suite).collect();
        let summary = Summary {
            tests: tests.len(),
            passed: count("passed"),
            failed: count("failed"),
            pending: 0,
            skipped: count("skipped"),
            other: count("other"),
            suites: suites.len(),
            start: start_ms,
            stop: stop_ms,
            duration: stop_ms.saturating_sub(start_ms),
        };
        let doc = Document {
            report_format: "CTRF",
            spec_version: SPEC_VERSION,
            generated_by: "subrun",
            results: Results {
                tool: Tool {
                    name: "subrun",
                    version: env!("CARGO_PKG_VERSION"),
                },
                summary,
                tests,
            },
        };
        serde_json::to_string_pretty(&doc).expect("reports are plain data")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::report::sample;

    #[test]
    fn ctrf_has_the_required_keys_statuses_and_counts() {
        let doc: Value = serde_json::from_str(&sample::report().to_ctrf(1000, 2000)).unwrap();
        let results = &doc["results"];
        assert_eq!(results["tool"]["name"], "subrun");
        assert_eq!(
            results["summary"],
            serde_json::json!({
                "tests": 5, "passed": 1, "failed": 2, "pending": 0, "skipped": 1,
                "other": 1, "suites": 1, "start": 1000, "stop": 2000, "duration": 1000
            })
        );
        let tests = results["tests"].as_array().unwrap();
        let statuses: Vec<&str> = tests
            .iter()
            .map(|t| t["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["passed", "failed", "failed", "other", "skipped"]);
        for t in tests {
            assert!(t["name"].is_string(), "{t}");
            assert_eq!(t["duration"], 250, "{t}");
        }
        assert_eq!(tests[1]["name"], "sub.py g/wa");
        assert_eq!(tests[1]["suite"], serde_json::json!(["sub.py", "g"]));
        assert_eq!(tests[1]["message"], sample::HOSTILE);
        assert_eq!(tests[1]["extra"]["verdict"], "WA");
        assert_eq!(tests[0]["extra"]["points"], 20.0);
        assert!(tests[0].get("message").is_none());
    }

    /// Read back by `ctrf-rs`, a typed model of the CTRF specification (required keys, their
    /// types, the status enum, `suite` as a list): the document parses, and writing the parsed
    /// report again gives the same JSON, so no key of ours is unknown to the specification
    /// (only `extra` objects hold subrun's own data).
    #[test]
    fn ctrf_is_read_back_unchanged_by_a_ctrf_parser() {
        let text = sample::report().to_ctrf(1000, 2000);
        let ours: Value = serde_json::from_str(&text).unwrap();
        // ctrf-rs 0.2 wants these optional arrays present; it writes them only when not empty.
        let mut padded = ours.clone();
        for t in padded["results"]["tests"].as_array_mut().unwrap() {
            for key in ["tags", "stdout", "stderr", "steps", "attachments"] {
                t.as_object_mut()
                    .unwrap()
                    .entry(key)
                    .or_insert(Value::Array(vec![]));
            }
        }
        let parsed: ctrf_rs::report::Report =
            serde_json::from_value(padded).unwrap_or_else(|e| panic!("not CTRF: {e}\n{text}"));
        let theirs: Value = serde_json::from_str(&parsed.to_string().unwrap()).unwrap();
        assert_eq!(theirs, ours);
    }
}
