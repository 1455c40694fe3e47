//! End-to-end grading on the wasi runtime with the python guest.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use subrun::{EnvironmentSpec, Registry};
use subrun_grade::{
    GradeError, Grader, GraderBuilder, MergeError, Problem, Report, Shard, ShardError, Submission,
    Verdict,
};
use subrun_wasi::{WasiEngineConfig, WasiRuntimeFactory};

#[path = "grade/checker_programs.rs"]
mod checker_programs;
mod common;
mod grade_problems;
use common::{assert_all_accepted, grade_one, sealed_problem, write};

fn registry() -> Registry {
    let mut config = WasiEngineConfig::default();
    config.pool_slots = 16;
    let mut registry = Registry::new();
    registry
        .register(Arc::new(
            WasiRuntimeFactory::new(config).expect("wasi engine"),
        ))
        .expect("registered once");
    registry
}

/// The CLI's default spec: wasi with the installed interpreter guests.
fn spec() -> EnvironmentSpec {
    let guests = subrun_wasi::guests::guest_dir()
        .expect("no guest directory: set SUBRUN_GUEST_DIR or HOME and run scripts/fetch-guests.sh");
    let programs = subrun_wasi::guests::installed_programs(&guests);
    assert!(
        programs.contains_key("python"),
        "the python guest is not installed in {}",
        guests.display()
    );
    let doc = json!({
        "type": "wasi",
        "name": "grade-test",
        "wasi": { "workdir": "/workspace", "programs": programs },
    });
    EnvironmentSpec::from_value(doc, "test spec", Path::new("/")).expect("valid spec")
}

fn example(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/grade")
        .join(rel)
}

fn verdicts(report: &Report, submission: usize) -> Vec<(String, Verdict)> {
    report.submissions[submission]
        .cases
        .iter()
        .map(|c| (c.case.clone(), c.verdict))
        .collect()
}

fn pairs(list: &[(&str, Verdict)]) -> Vec<(String, Verdict)> {
    list.iter().map(|(n, v)| ((*n).to_owned(), *v)).collect()
}

/// A grader of `problem` with the example submissions `subs`, on the test spec.
fn builder(problem: &Path, subs: &[&str]) -> GraderBuilder {
    let submissions = subs
        .iter()
        .map(|s| Submission::from_path(example(&format!("submissions/{s}"))).expect("submission"));
    Grader::builder(Problem::load(problem).expect("problem"), &registry())
        .spec(spec())
        .submissions(submissions)
}

async fn grade(problem: &Path, subs: &[&str], jobs: usize, fail_fast: bool) -> Report {
    builder(problem, subs)
        .jobs(jobs)
        .fail_fast(fail_fast)
        .build()
        .expect("grader")
        .run()
        .await
        .expect("graded")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_gives_each_submission_its_verdicts_and_points() {
    let report = grade(
        &example("sum"),
        &["correct.py", "wrong.py", "crash.py", "slow.py"],
        2,
        false,
    )
    .await;
    use Verdict::*;
    assert_eq!(
        verdicts(&report, 0),
        pairs(&[
            ("small", Accepted),
            ("negative", Accepted),
            ("many", Accepted)
        ])
    );
    assert_eq!(
        verdicts(&report, 1),
        pairs(&[
            ("small", Accepted),
            ("negative", WrongAnswer),
            ("many", WrongAnswer)
        ])
    );
    assert_eq!(
        verdicts(&report, 2),
        pairs(&[
            ("small", Accepted),
            ("negative", RuntimeError),
            ("many", RuntimeError)
        ])
    );
    assert_eq!(
        verdicts(&report, 3),
        pairs(&[
            ("small", TimeLimitExceeded),
            ("negative", TimeLimitExceeded),
            ("many", TimeLimitExceeded)
        ])
    );
    let scores: Vec<f64> = report.submissions.iter().map(|s| s.score).collect();
    assert_eq!(scores, [100.0, 10.0, 10.0, 0.0]);
    assert!(report.submissions[0].all_accepted && !report.all_accepted());

    let wa = &report.submissions[1].cases[1];
    assert_eq!(
        wa.message.as_deref(),
        Some("token 1: expected `-9`, got `3`")
    );
    assert_eq!(wa.first_diff_line, Some(1));
    let re = &report.submissions[2].cases[1];
    assert_eq!(re.failure, Some(subrun_grade::RuntimeFailure::ExitCode(1)));
    let tle = &report.submissions[3].cases[0];
    assert_eq!(
        tle.deadline,
        Some(2.0),
        "the problem's 250ms under the python guest's factor 8"
    );
    assert!(
        tle.wall_time >= 1.9,
        "the 2s limit applied: {}",
        tle.wall_time
    );
    assert!(report.submissions[0].cases[2].peak_memory.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_fast_skips_the_rest_of_a_failing_group_only() {
    let report = grade(&example("sum"), &["crash.py"], 1, true).await;
    use Verdict::*;
    assert_eq!(
        verdicts(&report, 0),
        pairs(&[
            ("small", Accepted),
            ("negative", RuntimeError),
            ("many", Skipped)
        ])
    );
}

/// Python: `search(roots, secrets)` lists `SECRET@PATH` for every file under `roots` that
/// holds one of `secrets` (the first 4 MiB of each file a guest can open).
const SEARCH_PY: &str = r#"
def search(roots, secrets):
    found = []
    for root in roots:
        for dirpath, dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    with open(path, "rb") as f:
                        text = f.read(1 << 22)
                except Exception:
                    continue
                for s in secrets:
                    if s.encode() in text:
                        found.append(s + "@" + path)
    return found
"#;

/// A submission that looks everywhere it can for the other case's input, answer and
/// granted file, a file of the problem directory, and what an earlier case left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_sees_only_its_own_case_and_nothing_an_earlier_case_left() {
    let dir = tempfile::tempdir().expect("tempdir");
    let problem_dir = dir.path().join("problem");
    sealed_problem(&problem_dir, "", &["first", "second"]);
    let probe = format!(
        r#"import os, sys
stdin = sys.stdin.read()
secrets = ["OTHER_" + s for s in ("INPUT_SECRET", "ANSWER_SECRET", "FILE_SECRET")] + ["PROBLEM_" + "DIR_SECRET"]
found = []
for name in ("leftover.txt", "deep/er/leftover.txt", "given.txt", "planted-link"):
    if os.path.lexists(name):
        found.append("exists:" + name)
with open("leftover.txt", "w") as f:
    f.write("left by an earlier case")
try:
    os.symlink("leftover.txt", "planted-link")
except Exception as e:
    found.append("cannot-plant-symlink")
os.makedirs("deep/er", exist_ok=True)
with open("deep/er/leftover.txt", "w") as f:
    f.write("left")
{SEARCH_PY}
found += search(("/", "/workspace", "..", {problem:?}), secrets)
try:
    os.listdir({problem:?})
    found.append("listed-problem-dir")
except Exception:
    pass
if stdin != "probe":
    found.append("stdin:" + stdin.strip())
print("clean" if not found else " ".join(sorted(set(found))))
"#,
        problem = problem_dir.display().to_string(),
    );
    let submission = Submission::command("probe.py", "python probe.py").file("probe.py", probe);
    let report = grade_one(&problem_dir, &registry(), spec(), submission).await;
    let cases = &report.submissions[0].cases;
    // The first case sees its own stdin and granted file, and says so.
    assert_eq!(cases[0].verdict, Verdict::WrongAnswer);
    let other = cases[0].diff.as_deref().unwrap_or_default();
    assert!(other.contains("exists:given.txt"), "{other}");
    assert!(other.contains("OTHER_FILE_SECRET@"), "{other}");
    assert!(!other.contains("cannot-plant-symlink"), "{other}");
    assert_all_accepted(&cases[1..]);
}

/// A module that traps at once (`unreachable`).
const TRAP_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "_start") unreachable))"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_outcome_ends_in_its_verdict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    write(
        p,
        "problem.yaml",
        "limits: { time: 250ms, memory: 64MiB, output: 1MiB }\nchecker: exact\ngroups:\n  - name: g\n    cases:\n      - { name: c, stdin: \"1 2\\n\", stdout: \"3\\n\" }\n",
    );
    let py = |name: &str, code: &str| {
        Submission::command(name, format!("python {name}")).file(name, code)
    };
    let submissions = [
        py(
            "ok.py",
            "import sys\nprint(sum(map(int, sys.stdin.read().split())))\n",
        ),
        py("pe.py", "print('3 ')\n"),
        py("wa.py", "print(4)\n"),
        py(
            "mle.py",
            "chunks = []\nwhile True:\n    chunks.append(bytearray(1 << 20))\n",
        ),
        py("ole.py", "while True:\n    print('x' * 1000)\n"),
        py("tle.py", "while True:\n    pass\n"),
        py("re.py", "import sys\nsys.exit(7)\n"),
        Submission::command("trap.wat", "trap.wat").file("trap.wat", TRAP_WAT),
    ];
    let report = Grader::builder(Problem::load(p).expect("problem"), &registry())
        .spec(spec())
        .submissions(submissions)
        .build()
        .expect("grader")
        .run()
        .await
        .expect("graded");
    let got: Vec<(String, Verdict, Option<subrun_grade::RuntimeFailure>)> = report
        .submissions
        .iter()
        .map(|s| {
            (
                s.submission.clone(),
                s.cases[0].verdict,
                s.cases[0].failure.clone(),
            )
        })
        .collect();
    use Verdict::*;
    use subrun_grade::RuntimeFailure::{ExitCode, Trap};
    let want = [
        ("ok.py", Accepted, None),
        ("pe.py", PresentationError, None),
        ("wa.py", WrongAnswer, None),
        ("mle.py", MemoryLimitExceeded, None),
        ("ole.py", OutputLimitExceeded, None),
        ("tle.py", TimeLimitExceeded, None),
        ("re.py", RuntimeError, Some(ExitCode(7))),
        (
            "trap.wat",
            RuntimeError,
            Some(Trap("unreachable executed".into())),
        ),
    ];
    let want: Vec<_> = want
        .into_iter()
        .map(|(n, v, f)| (n.to_owned(), v, f))
        .collect();
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kattis_and_plain_layouts_grade_like_the_subrun_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = example("sum/cases");
    for (layout, sub, answer_ext) in [("kattis", "data/secret", "ans"), ("plain", "cases", "out")] {
        let root = dir.path().join(layout);
        for name in ["small", "negative", "many"] {
            let read = |ext: &str| {
                std::fs::read_to_string(cases.join(format!("{name}.{ext}"))).expect("case")
            };
            write(&root, &format!("{sub}/{name}.in"), &read("in"));
            write(&root, &format!("{sub}/{name}.{answer_ext}"), &read("ans"));
        }
        let report = grade(&root, &["correct.py", "wrong.py"], 2, false).await;
        let accepted: Vec<usize> = report
            .submissions
            .iter()
            .map(|s| s.cases.iter().filter(|c| c.verdict.is_accepted()).count())
            .collect();
        assert_eq!(accepted, [3, 1], "{layout}");
        assert_eq!(
            report.submissions[0].score, 3.0,
            "{layout}: one point per case"
        );
    }
}

/// `submissions` against examples/grade/sum, two cases at a time.
async fn grade_sum(submissions: impl IntoIterator<Item = Submission>) -> Report {
    Grader::builder(Problem::load(example("sum")).expect("problem"), &registry())
        .spec(spec())
        .submissions(submissions)
        .jobs(2)
        .build()
        .expect("grader")
        .run()
        .await
        .expect("graded")
}

fn sum_of(report: &Report, submission: usize) -> Vec<Verdict> {
    report.submissions[submission]
        .cases
        .iter()
        .map(|c| c.verdict)
        .collect()
}

/// Code the compiler rejects is CE on every case, with the compiler's message, in C and in
/// Rust; nothing runs, and the other submissions of the call are graded as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_that_does_not_build_is_ce_on_every_case_with_the_compilers_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    write(p, "bad.c", "int main( { return 0; }\n");
    write(
        p,
        "bad-rust/Cargo.toml",
        "[package]\nname = \"bad-rust\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n",
    );
    write(
        p,
        "bad-rust/src/main.rs",
        "fn main() { println!(\"{}\", undefined_sum); }\n",
    );
    let submissions = [
        Submission::from_path(p.join("bad.c")).expect("a CE is not an error"),
        Submission::from_path(p.join("bad-rust")).expect("a CE is not an error"),
        Submission::from_path(example("submissions/correct.py")).expect("submission"),
    ];
    assert_eq!(submissions[1].name, "bad-rust");
    let report = grade_sum(submissions).await;
    use Verdict::*;
    for s in 0..2 {
        assert_eq!(
            sum_of(&report, s),
            [CompileError; 3],
            "{}",
            report.submissions[s].submission
        );
        for case in &report.submissions[s].cases {
            assert_eq!((case.wall_time, case.exit_code), (0.0, None), "nothing ran");
        }
        assert_eq!(report.submissions[s].score, 0.0);
    }
    let c = report.submissions[0].cases[0]
        .message
        .as_deref()
        .unwrap_or_default();
    assert!(c.starts_with("compile error: "), "{c}");
    assert!(c.contains("bad.c:1:") && c.contains("error"), "{c}");
    assert!(!c.contains('\n'), "one line: {c}");
    let rust = report.submissions[1].cases[2]
        .message
        .as_deref()
        .unwrap_or_default();
    assert!(rust.contains("undefined_sum"), "{rust}");
    assert!(rust.contains("error[E0425]"), "{rust}");
    assert!(
        !rust.contains("Compiling bad-rust"),
        "no cargo progress: {rust}"
    );
    assert_eq!(sum_of(&report, 2), [Accepted; 3]);
    assert!(
        !p.join("bad-rust/target").exists(),
        "grading builds outside the submission's directory"
    );
}

/// `.js` and `.mjs` run through the QuickJS guest as `node FILE`; a C file is built and runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_files_run_by_the_node_guest_and_c_files_are_built() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    let js = "const fs = require('fs');\nconst tokens = fs.readFileSync(0, 'utf8').split(/\\s+/).filter(t => t);\nconsole.log(tokens.reduce((a, t) => a + BigInt(t), 0n).toString());\n";
    write(p, "sum.js", js);
    write(p, "sum.mjs", js);
    let submissions = [
        Submission::from_path(p.join("sum.js")).expect("submission"),
        Submission::from_path(p.join("sum.mjs")).expect("submission"),
        Submission::from_path(example("submissions/c/wrong.c")).expect("built"),
    ];
    assert_eq!(submissions[0].command, "node sum.js");
    assert_eq!(submissions[2].command, "wrong.wasm");
    let report = grade_sum(submissions).await;
    use Verdict::*;
    assert_eq!(
        sum_of(&report, 0),
        [Accepted; 3],
        "{:?}",
        report.submissions[0].cases[0].message
    );
    assert_eq!(
        sum_of(&report, 1),
        [Accepted; 3],
        "{:?}",
        report.submissions[1].cases[0].message
    );
    assert_eq!(sum_of(&report, 2), [Accepted, WrongAnswer, WrongAnswer]);
    let cwd = std::env::current_dir().expect("cwd");
    assert!(
        !cwd.join("wrong.wasm").exists(),
        "no module left in {}",
        cwd.display()
    );
}

// ---- shards and merge ----

/// Shard `index` of `count` of the example submissions `subs` (2 jobs).
async fn grade_shard(problem: &Path, subs: &[&str], index: u32, count: u32) -> Report {
    builder(problem, subs)
        .jobs(2)
        .shard(index, count)
        .build()
        .expect("grader")
        .run()
        .await
        .expect("graded")
}

/// The report as JSON without what two runs of the same inputs measure differently.
fn without_measurements(report: &Report) -> serde_json::Value {
    let mut doc = serde_json::to_value(report).expect("json");
    for s in doc["submissions"].as_array_mut().expect("submissions") {
        for c in s["cases"].as_array_mut().expect("cases") {
            let c = c.as_object_mut().expect("a case");
            for key in ["wall_time", "cpu_time", "reset_time", "peak_memory", "fuel"] {
                assert!(
                    c.remove(key).is_some() || key == "fuel",
                    "{key} is in every case"
                );
            }
        }
    }
    doc
}

/// The (submission, group/case) items a report has.
fn items(report: &Report) -> Vec<(String, String)> {
    report
        .submissions
        .iter()
        .flat_map(|s| {
            s.cases
                .iter()
                .map(|c| (s.submission.clone(), format!("{}/{}", c.group, c.case)))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_merged_equal_the_single_run() {
    let subs = ["correct.py", "wrong.py", "crash.py"];
    let problem = example("sum");
    let whole = grade(&problem, &subs, 2, false).await;
    assert_eq!(whole.shard, None);
    let mut every_item = items(&whole);
    every_item.sort();
    let mut min_group_split = false;
    for count in 1..=3 {
        let mut shards = Vec::new();
        for index in 0..count {
            let report = grade_shard(&problem, &subs, index, count).await;
            assert_eq!(report.shard, Some(Shard { index, count }));
            assert_eq!(
                report.fingerprint, whole.fingerprint,
                "shards share the fingerprint"
            );
            assert_eq!(
                report.submissions.len(),
                3,
                "every submission, even without cases"
            );
            shards.push((format!("shard {index}/{count}"), report));
        }
        // Each item is graded by exactly one shard.
        let mut graded: Vec<_> = shards.iter().flat_map(|(_, r)| items(r)).collect();
        graded.sort();
        assert_eq!(graded, every_item, "{count} shards");
        // A `min` group whose cases are in different shards (crash.py's `main` at 3).
        for s in 0..subs.len() {
            let holding = shards
                .iter()
                .filter(|(_, r)| r.submissions[s].cases.iter().any(|c| c.group == "main"))
                .count();
            min_group_split |= holding > 1;
        }
        let merged = Report::merge(shards).expect("the shards merge");
        assert_eq!(merged.shard, None);
        assert_eq!(
            without_measurements(&merged),
            without_measurements(&whole),
            "{count} shards merged"
        );
    }
    assert!(
        min_group_split,
        "no `min` group was split across shards: the test covers less than it says"
    );
    let scores: Vec<f64> = whole.submissions.iter().map(|s| s.score).collect();
    assert_eq!(scores, [100.0, 10.0, 10.0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_run_twice_grades_the_same_items_and_is_merged_once() {
    let subs = ["correct.py", "wrong.py"];
    let problem = example("sum");
    let first = grade_shard(&problem, &subs, 1, 2).await;
    let again = grade_shard(&problem, &subs, 1, 2).await;
    assert!(!items(&first).is_empty());
    assert_eq!(
        items(&again),
        items(&first),
        "a retried shard grades the same items"
    );
    let other = grade_shard(&problem, &subs, 0, 2).await;
    let once =
        Report::merge([("1.json", first.clone()), ("0.json", other.clone())]).expect("merges");
    let twice = Report::merge([
        ("1.json", first),
        ("0.json", other),
        ("1-retry.json", again),
    ])
    .expect("a retried shard merges");
    assert_eq!(without_measurements(&twice), without_measurements(&once));
    assert_eq!(items(&twice).len(), 6, "each case once");
    let scores: Vec<f64> = twice.submissions.iter().map(|s| s.score).collect();
    assert_eq!(scores, [100.0, 10.0]);
}

/// Why `Report::merge` refuses these reports.
fn refusal<const N: usize>(reports: [(&str, Report); N]) -> String {
    Report::merge(reports)
        .expect_err("the merge is refused")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merges_that_do_not_fit_are_refused_naming_the_report() {
    let sum = example("sum");
    // wrong.py's cases are all in shard 1 of 2 (pinned by the hash): shard 0 runs nothing.
    let one = grade_shard(&sum, &["wrong.py"], 1, 2).await;
    assert_eq!(items(&one).len(), 3);
    let zero = grade_shard(&sum, &["wrong.py"], 0, 2).await;
    assert!(items(&zero).is_empty());

    // A different problem: the same cases worth other points.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("cases")).expect("mkdir");
    for entry in std::fs::read_dir(sum.join("cases")).expect("cases") {
        let entry = entry.expect("entry");
        std::fs::copy(
            entry.path(),
            dir.path().join("cases").join(entry.file_name()),
        )
        .expect("copy");
    }
    let yaml = std::fs::read_to_string(sum.join("problem.yaml")).expect("problem.yaml");
    std::fs::write(
        dir.path().join("problem.yaml"),
        yaml.replace("points: 90", "points: 80"),
    )
    .expect("write");
    let other_problem = grade_shard(dir.path(), &["wrong.py"], 0, 2).await;
    let err = Report::merge([("one.json", one.clone()), ("other.json", other_problem)])
        .expect_err("different problems");
    assert!(matches!(err, MergeError::Fingerprint { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("other.json: a report of different inputs"),
        "{text}"
    );
    assert!(text.contains("than one.json"), "{text}");

    // A missing shard.
    assert_eq!(
        refusal([("one.json", one.clone())]),
        "shard 0/2 is missing: the reports given are shards 1/2 (one.json)"
    );

    // Mixed shard counts.
    let third = grade_shard(&sum, &["wrong.py"], 0, 3).await;
    assert_eq!(
        refusal([("zero.json", zero.clone()), ("third.json", third)]),
        "third.json: shard 0/3 does not split the run like zero.json (shard 0/2): mixed shard counts"
    );

    // A case in none of the reports (an edited one).
    let mut partial = one.clone();
    partial.submissions[0].cases.remove(2);
    assert_eq!(
        refusal([("zero.json", zero.clone()), ("partial.json", partial)]),
        "submission `wrong.py`, case `main/many` is in none of the reports (zero.json, partial.json)"
    );

    // The same shard twice with a different result for a case.
    let mut flaky = one.clone();
    flaky.submissions[0].cases[1].verdict = Verdict::Accepted;
    assert_eq!(
        refusal([
            ("zero.json", zero),
            ("one.json", one),
            ("flaky.json", flaky),
        ]),
        "flaky.json: submission `wrong.py`, case `main/negative` is verdict AC there and verdict WA in one.json: the same case with different results"
    );
}

#[test]
fn the_fingerprint_changes_with_the_inputs_not_with_jobs_or_the_shard() {
    let sum = example("sum");
    let fingerprint = |b: GraderBuilder| b.build().expect("grader").fingerprint().to_owned();
    let base = fingerprint(builder(&sum, &["correct.py"]));
    assert_eq!(base.len(), 64, "SHA-256 in hex: {base}");
    assert_eq!(fingerprint(builder(&sum, &["correct.py"]).jobs(1)), base);
    assert_eq!(
        fingerprint(builder(&sum, &["correct.py"]).shard(1, 3)),
        base
    );
    assert_ne!(
        fingerprint(builder(&sum, &["correct.py"]).fail_fast(true)),
        base
    );
    assert_ne!(fingerprint(builder(&sum, &["wrong.py"])), base);
    assert_ne!(
        fingerprint(builder(&sum, &["correct.py", "wrong.py"])),
        base
    );
    let mut spec = spec();
    spec.limits.open_files = Some(7);
    assert_ne!(fingerprint(builder(&sum, &["correct.py"]).spec(spec)), base);
    let edited = Submission::from_path(example("submissions/correct.py"))
        .expect("submission")
        .file("extra.txt", "x");
    assert_ne!(
        fingerprint(builder(&sum, &[]).submission(edited)),
        base,
        "the submission's files count"
    );
}

#[test]
fn a_shard_index_not_below_its_count_is_refused() {
    let err = builder(&example("sum"), &["correct.py"])
        .shard(3, 3)
        .build()
        .expect_err("3/3");
    assert!(
        matches!(
            err,
            GradeError::Shard(ShardError::OutOfRange { index: 3, count: 3 })
        ),
        "{err:?}"
    );
}

/// A shard cannot decide a dependency (its group's cases are spread over the shards): a
/// sharded run of a problem with `depends_on` is refused before anything runs, naming the group.
#[test]
fn a_shard_of_a_problem_with_group_dependencies_is_refused_naming_the_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "problem.yaml",
        "groups:\n  - name: small\n    cases:\n      - { name: a, stdin: \"1\", stdout: \"1\" }\n  - name: big\n    depends_on: [small]\n    cases:\n      - { name: b, stdin: \"2\", stdout: \"2\" }\n",
    );
    let sharded = Grader::builder(Problem::load(dir.path()).expect("problem"), &registry())
        .spec(spec())
        .submission(
            Submission::command("echo.py", "python echo.py").file("echo.py", "print(input())\n"),
        )
        .shard(0, 2)
        .build();
    match sharded {
        Err(e @ GradeError::ShardWithDependencies { .. }) => {
            assert!(e.to_string().contains("`big`"), "{e}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// `Grader::stream`: every case arrives on the stream before the report is ready, and the
/// report holds exactly what was streamed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_gives_every_case_then_the_report() {
    let grader = builder(&example("sum"), &["correct.py", "wrong.py"])
        .jobs(2)
        .build()
        .expect("grader");
    let (mut cases, report) = grader.stream();
    let mut streamed = Vec::new();
    while let Some(case) = cases.recv().await {
        streamed.push((case.submission, case.case, case.verdict));
    }
    let report = report.await.expect("joined").expect("graded");
    let mut reported: Vec<_> = report
        .submissions
        .iter()
        .flat_map(|s| &s.cases)
        .map(|c| (c.submission.clone(), c.case.clone(), c.verdict))
        .collect();
    assert_eq!(reported.len(), 6);
    streamed.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    reported.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(streamed, reported);
}
