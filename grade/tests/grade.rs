//! End-to-end grading on the wasi runtime with the python guest.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use subrun::{EnvironmentSpec, Registry};
use subrun_grade::{Grader, Problem, Report, Submission, Verdict};
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

async fn grade(problem: &Path, subs: &[&str], jobs: usize, fail_fast: bool) -> Report {
    let submissions = subs
        .iter()
        .map(|s| Submission::from_path(example(&format!("submissions/{s}"))).expect("submission"));
    Grader::builder(Problem::load(problem).expect("problem"), &registry())
        .spec(spec())
        .submissions(submissions)
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
