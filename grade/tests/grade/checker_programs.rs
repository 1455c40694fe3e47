//! Checker programs in their own wasi sandbox: each exit code of the testlib and Kattis
//! conventions, partial points through `sum` and `min` groups and the reports, and sealing
//! (the checker gets the answer, the submission gets neither the answer nor the checker).
//!
//! The checkers and the submission are the C files of `tests/fixtures/checkers/`, built here
//! with clang for `wasm32-wasi`, as `subrun build` builds C.

use std::path::Path;
use std::process::Command;

use subrun_grade::{CaseResult, Grader, Problem, Report, Submission, Verdict};

use super::{SEARCH_PY, registry, spec, write};

/// Builds `tests/fixtures/checkers/NAME.c` to `out` with clang and wasi-libc.
fn build(name: &str, out: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/checkers")
        .join(format!("{name}.c"));
    std::fs::create_dir_all(out.parent().expect("a parent")).expect("mkdir");
    let run = Command::new("clang")
        .args(["--target=wasm32-wasi", "-O2", "-Wall", "-Werror", "-o"])
        .arg(out)
        .arg(&source)
        .output()
        .unwrap_or_else(|e| {
            panic!("clang with wasi-libc builds the checker fixtures, and cannot run: {e}")
        });
    assert!(
        run.status.success(),
        "clang failed on {}: {}",
        source.display(),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// The submission that prints its stdin: each case's input says what the checker sees.
fn echo(dir: &Path) -> Submission {
    let module = dir.join("echo.wasm");
    build("echo", &module);
    Submission::from_path(&module).expect("submission")
}

async fn grade(problem: &Path, submission: Submission, jobs: usize) -> Report {
    Grader::builder(Problem::load(problem).expect("problem"), &registry())
        .spec(spec())
        .submission(submission)
        .jobs(jobs)
        .build()
        .expect("grader")
        .run()
        .await
        .expect("graded")
}

fn case<'a>(report: &'a Report, name: &str) -> &'a CaseResult {
    report.submissions[0]
        .cases
        .iter()
        .find(|c| c.case == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

/// `(case, verdict, fraction)` of every case, in problem order.
fn verdicts(report: &Report) -> Vec<(String, Verdict, f64)> {
    report.submissions[0]
        .cases
        .iter()
        .map(|c| (c.case.clone(), c.verdict, c.fraction))
        .collect()
}

fn message(report: &Report, name: &str) -> String {
    case(report, name).message.clone().unwrap_or_default()
}

const TESTLIB_PROBLEM: &str = r#"
checker:
  program: checkers/testlib.wasm
  convention: testlib
  limits: { time: 1s, memory: 16MiB }
groups:
  - name: each
    points: 15
    cases:
      - { name: ac, stdin: "42\n", stdout: "42\n" }
      - { name: wa, stdin: "41\n", stdout: "42\n" }
      - { name: pe, stdin: "pe\n", stdout: "42\n" }
      - { name: fail, stdin: "fail\n", stdout: "42\n" }
      - { name: quarter, stdin: "points 0.25\n", stdout: "42\n" }
      - { name: half_on_stdout, stdin: "stdout-points 0.5\n", stdout: "42\n" }
      - { name: one, stdin: "points 1\n", stdout: "42\n" }
      - { name: zero, stdin: "points 0\n", stdout: "42\n" }
      - { name: bad_points, stdin: "bad-points\n", stdout: "42\n" }
      - { name: no_points, stdin: "no-points\n", stdout: "42\n" }
      - { name: exit5, stdin: "exit5\n", stdout: "42\n" }
      - { name: loop, stdin: "loop\n", stdout: "42\n" }
      - { name: trap, stdin: "trap\n", stdout: "42\n" }
      - { name: hog, stdin: "hog\n", stdout: "42\n" }
      - { name: hostile, stdin: "hostile\n", stdout: "42\n" }
  - name: weakest
    points: 10
    scoring: min
    cases:
      - { name: min_half, stdin: "points 0.5\n", stdout: "42\n" }
      - { name: min_three_quarters, stdin: "stdout-points 0.75\n", stdout: "42\n" }
      - { name: min_whole, stdin: "42\n", stdout: "42\n" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testlib_exit_codes_give_their_verdicts_and_partial_points() {
    let dir = tempfile::tempdir().expect("tempdir");
    let problem = dir.path().join("problem");
    write(&problem, "problem.yaml", TESTLIB_PROBLEM);
    build("testlib", &problem.join("checkers/testlib.wasm"));
    let report = grade(&problem, echo(dir.path()), 2).await;

    use Verdict::*;
    let want = [
        ("ac", Accepted, 1.0),
        ("wa", WrongAnswer, 0.0),
        ("pe", PresentationError, 0.0),
        ("fail", InternalError, 0.0),
        ("quarter", Partial, 0.25),
        ("half_on_stdout", Partial, 0.5),
        ("one", Accepted, 1.0),
        ("zero", WrongAnswer, 0.0),
        ("bad_points", InternalError, 0.0),
        ("no_points", InternalError, 0.0),
        ("exit5", InternalError, 0.0),
        ("loop", InternalError, 0.0),
        ("trap", InternalError, 0.0),
        ("hog", InternalError, 0.0),
        ("hostile", WrongAnswer, 0.0),
        ("min_half", Partial, 0.5),
        ("min_three_quarters", Partial, 0.75),
        ("min_whole", Accepted, 1.0),
    ];
    let want: Vec<_> = want
        .into_iter()
        .map(|(n, v, f)| (n.to_owned(), v, f))
        .collect();
    assert_eq!(verdicts(&report), want);

    // The checker read all three files: the answer (42) and the input (41) are in its message.
    assert_eq!(message(&report, "wa"), "expected 42, found 41 (input 41)");
    assert_eq!(case(&report, "wa").first_diff_line, Some(1));
    assert_eq!(message(&report, "pe"), "right numbers, wrong layout");
    for (name, says) in [
        ("fail", "exit code 3"),
        ("fail", "the answer file is broken"),
        ("bad_points", "`1.5` is not a fraction in [0, 1]"),
        ("no_points", "`lots` is not a fraction"),
        (
            "exit5",
            "exit code 5 (testlib: 0 AC, 1 WA, 2 PE, 3 fail, 7 points)",
        ),
        ("loop", "time limit exceeded (1s)"),
        ("trap", "trap"),
        ("hog", "memory limit exceeded"),
    ] {
        let m = message(&report, name);
        assert!(
            m.starts_with("checker failed: ") && m.contains(says),
            "{name}: {m}"
        );
    }
    assert_eq!(message(&report, "quarter"), "points 0.25: partly right");
    assert_eq!(message(&report, "half_on_stdout"), "points 0.5");
    assert_eq!(message(&report, "zero"), "points 0: partly right");
    assert!(
        case(&report, "loop").wall_time < 5.0,
        "the submission's time is its own"
    );

    // The checker's message is escaped where it is made: in the result, the table, JUnit.
    let hostile = message(&report, "hostile");
    assert_eq!(
        hostile,
        "\\u{1b}[2J\\u{1b}]0;owned\\u{7} cleared your screen"
    );
    let table = report.table();
    assert!(table.contains(&hostile), "{table}");
    assert!(!table.contains('\u{1b}') && !table.contains('\u{7}'));

    // sum: each case its fraction of a share of 1 point; min: 10 x the smallest fraction.
    let sub = &report.submissions[0];
    assert_eq!(case(&report, "quarter").points, Some(0.25));
    assert_eq!(case(&report, "min_half").points, None);
    let groups: Vec<(f64, usize)> = sub.groups.iter().map(|g| (g.points, g.accepted)).collect();
    assert_eq!(groups, [(1.0 + 0.25 + 0.5 + 1.0, 2), (5.0, 1)]);
    assert_eq!((sub.score, sub.max_score), (7.75, 25.0));
    assert!(!report.all_accepted(), "PA is not AC");

    // The reports: PA is the submission's failure, with its points.
    assert!(
        table.contains("quarter") && table.contains(" PA "),
        "{table}"
    );
    let junit = report.to_junit();
    assert!(junit.contains(r#"type="PA""#), "{junit}");
    let ctrf: serde_json::Value =
        serde_json::from_str(&report.to_ctrf(0, 1)).expect("CTRF is JSON");
    let quarter = ctrf["results"]["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .find(|t| {
            t["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("each/quarter"))
        })
        .expect("the quarter case");
    assert_eq!(quarter["status"], "failed");
    assert_eq!(quarter["extra"]["verdict"], "PA");
    assert_eq!(quarter["extra"]["points"], 0.25);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("JSON");
    assert_eq!(json["submissions"][0]["cases"][4]["fraction"], 0.25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kattis_validators_give_their_verdicts_with_flags_and_score() {
    let dir = tempfile::tempdir().expect("tempdir");
    let problem = dir.path().join("problem");
    for (name, input) in [
        ("ac", "42"),
        ("wa", "41"),
        ("partial", "partial 0.5"),
        ("bad_score", "bad-score"),
        ("exit1", "exit1"),
        ("flags", "flags"),
    ] {
        write(
            &problem,
            &format!("data/secret/{name}.in"),
            &format!("{input}\n"),
        );
        write(&problem, &format!("data/secret/{name}.ans"), "42\n");
    }
    build(
        "kattis",
        &problem.join("output_validators/check/check.wasm"),
    );
    write(
        &problem,
        "problem.yaml",
        "validation: custom score\nvalidator_flags: a b\n",
    );
    let report = grade(&problem, echo(dir.path()), 1).await;
    use Verdict::*;
    let want: Vec<_> = [
        ("ac", Accepted, 1.0),
        ("bad_score", InternalError, 0.0),
        ("exit1", InternalError, 0.0),
        ("flags", Accepted, 1.0),
        ("partial", Partial, 0.5),
        ("wa", WrongAnswer, 0.0),
    ]
    .into_iter()
    .map(|(n, v, f)| (n.to_owned(), v, f))
    .collect();
    assert_eq!(verdicts(&report), want);
    // judgemessage.txt is the message; the validator read the input, the answer and stdin.
    assert_eq!(message(&report, "wa"), "expected 42, got 41 (input 41)");
    assert_eq!(message(&report, "partial"), "points 0.5: some of it");
    let bad_score = message(&report, "bad_score");
    assert!(
        bad_score.contains("score.txt holds `much`, not a fraction"),
        "{bad_score}"
    );
    let exit1 = message(&report, "exit1");
    assert!(
        exit1.contains("exit code 1 (Kattis: 42 AC, 43 WA): validator crashed"),
        "{exit1}"
    );
    assert_eq!(report.submissions[0].score, 2.5);

    // Without problem.yaml, output_validators/ alone makes the validator custom (no flags).
    std::fs::remove_file(problem.join("problem.yaml")).expect("rm");
    let report = grade(&problem, echo(dir.path()), 1).await;
    assert_eq!(case(&report, "flags").verdict, WrongAnswer);
    assert_eq!(message(&report, "flags"), "flags: 3 arguments");
    assert_eq!(case(&report, "ac").verdict, Accepted);
}

/// The checker gets the answer (it compares with it) while the submission, which looks for
/// the answer, the checker's module and the checker's files everywhere it can, finds none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checker_sees_the_answer_and_the_submission_sees_neither() {
    let dir = tempfile::tempdir().expect("tempdir");
    let problem = dir.path().join("problem");
    write(
        &problem,
        "problem.yaml",
        "checker: { program: checkers/testlib.wasm, convention: testlib }\ngroups:\n  - name: g\n    cases:\n      - { name: probe, stdin: probe, stdout: \"clean SEALED_ANSWER_SECRET\\n\" }\n      - { name: again, stdin: probe, stdout: \"clean SEALED_ANSWER_SECRET\\n\" }\n",
    );
    build("testlib", &problem.join("checkers/testlib.wasm"));
    let probe = format!(
        r#"import os
secrets = ["SEALED_" + "ANSWER_SECRET", "CHECKER_" + "MODULE_MARKER"]
found = []
for name in ("answer", "input", "output", "feedback", "checker", "testlib.wasm", "checkers"):
    if os.path.lexists(name):
        found.append("exists:" + name)
{SEARCH_PY}
found += search(("/", "/workspace", "..", {problem:?}), secrets)
print("clean" if not found else "found:" + ",".join(sorted(set(found))))
"#,
        problem = problem.display().to_string()
    );
    let submission = Submission::command("probe.py", "python probe.py").file("probe.py", probe);
    let report = grade(&problem, submission, 1).await;
    for c in &report.submissions[0].cases {
        assert_eq!(
            c.verdict,
            Verdict::Accepted,
            "{}: {:?} {:?}",
            c.case,
            c.message,
            c.diff
        );
    }
}
