//! End to end: DMOJ problems, expected files and group dependencies, on wasi with Python
//! submissions.

use std::path::Path;

use subrun_grade::{Grader, Problem, Report, Submission, Verdict};

use super::{registry, spec, write};

fn py(name: &str, code: &str) -> Submission {
    Submission::command(name, format!("python {name}")).file(name, code)
}

async fn run(problem: &Path, submissions: Vec<Submission>, jobs: usize) -> Report {
    Grader::builder(Problem::load(problem).expect("problem"), &registry())
        .spec(spec())
        .submissions(submissions)
        .jobs(jobs)
        .build()
        .expect("grader")
        .run()
        .await
        .expect("graded")
}

/// (group, case, verdict, message) of one submission.
fn rows(report: &Report, s: usize) -> Vec<(String, String, Verdict, Option<String>)> {
    report.submissions[s]
        .cases
        .iter()
        .map(|c| {
            (
                c.group.clone(),
                c.case.clone(),
                c.verdict,
                c.message.clone(),
            )
        })
        .collect()
}

/// Sums the numbers on stdin; wrong (off by one) when the sum is over 100.
const SUM: &str = "import sys\nn = sum(map(int, sys.stdin.read().split()))\nprint(n)\n";
const SUM_SMALL_ONLY: &str =
    "import sys\nn = sum(map(int, sys.stdin.read().split()))\nprint(n + 1 if n > 100 else n)\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_whose_required_group_failed_is_skipped_and_one_that_passed_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    // Listed before what they depend on: the grader still runs `big` first.
    write(
        p,
        "problem.yaml",
        "groups:\n  - name: bigger\n    points: 30\n    depends_on: [big]\n    cases: [{ name: x, stdin: \"500 500\", stdout: \"1000\" }]\n  - name: big\n    points: 40\n    depends_on: [small]\n    cases:\n      - { name: a, stdin: \"100 1\", stdout: \"101\" }\n      - { name: b, stdin: \"1 1\", stdout: \"2\" }\n  - name: small\n    points: 20\n    cases: [{ name: s, stdin: \"1 2\", stdout: \"3\" }]\n  - name: alone\n    points: 10\n    cases: [{ name: y, stdin: \"200 1\", stdout: \"201\" }]\n",
    );
    let report = run(
        p,
        vec![py("sum.py", SUM), py("small.py", SUM_SMALL_ONLY)],
        2,
    )
    .await;
    assert!(report.submissions[0].all_accepted, "{:?}", rows(&report, 0));
    assert_eq!(report.submissions[0].score, 100.0);
    use Verdict::*;
    let skipped = |group: &str| {
        Some(format!(
            "skipped: group `{group}`, which this group depends on, was not fully accepted"
        ))
    };
    assert_eq!(
        rows(&report, 1),
        [
            ("bigger".into(), "x".into(), Skipped, skipped("big")),
            (
                "big".into(),
                "a".into(),
                WrongAnswer,
                Some("token 1: expected `101`, got `102`".into())
            ),
            ("big".into(), "b".into(), Accepted, None),
            ("small".into(), "s".into(), Accepted, None),
            (
                "alone".into(),
                "y".into(),
                WrongAnswer,
                Some("token 1: expected `201`, got `202`".into())
            ),
        ]
    );
    assert_eq!(report.submissions[1].score, 20.0 + 20.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_files_are_read_back_without_following_symlinks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    write(p, "answers/a1.txt", "EXPECTED_FILE_SECRET 1\n");
    write(
        p,
        "problem.yaml",
        "checker: tokens\ngroups:\n  - name: g\n    cases:\n      - name: c\n        stdout: \"done\"\n        expected_files:\n          out/result.txt: \"42\\n\"\n          \"a[1].txt\": { file: answers/a1.txt }\n",
    );
    // Writes what the answers say unless it can find an answer anywhere it can see.
    let correct = r#"import os
leak = False
for root in ("/", "/workspace"):
    for dirpath, dirs, files in os.walk(root):
        for name in files:
            try:
                with open(os.path.join(dirpath, name), "rb") as f:
                    if b"EXPECTED_FILE_" + b"SECRET" in f.read(1 << 20):
                        leak = True
            except Exception:
                pass
os.makedirs("out", exist_ok=True)
with open("out/result.txt", "w") as f:
    f.write("leaked" if leak else "42")
with open("a[1].txt", "w") as f:
    f.write("EXPECTED_FILE_" + "SECRET  1")
print("done")
"#;
    let missing = "with open('out_result.txt', 'w') as f:\n    f.write('42')\nprint('done')\n";
    let different = "import os\nos.makedirs('out')\nopen('out/result.txt', 'w').write('41')\nopen('a[1].txt', 'w').write('EXPECTED_FILE_SECRET 1')\nprint('done')\n";
    let symlink = "import os\nos.makedirs('out')\nopen('real.txt', 'w').write('42')\nos.symlink('../real.txt', 'out/result.txt')\nopen('a[1].txt', 'w').write('EXPECTED_FILE_SECRET 1')\nprint('done')\n";
    let report = run(
        p,
        vec![
            py("correct.py", correct),
            py("missing.py", missing),
            py("different.py", different),
            py("symlink.py", symlink),
        ],
        2,
    )
    .await;
    let got: Vec<(Verdict, Option<String>)> = report
        .submissions
        .iter()
        .map(|s| (s.cases[0].verdict, s.cases[0].message.clone()))
        .collect();
    use Verdict::*;
    assert_eq!(
        got,
        [
            (Accepted, None),
            (
                WrongAnswer,
                Some("expected file `a[1].txt` is missing (or not a regular file)".into())
            ),
            (
                WrongAnswer,
                Some("file `out/result.txt`: token 1: expected `42`, got `41`".into())
            ),
            (
                WrongAnswer,
                Some("expected file `out/result.txt` is missing (or not a regular file)".into())
            ),
        ]
    );
    assert!(
        report.submissions[2].cases[0]
            .diff
            .as_deref()
            .unwrap_or("")
            .contains("+41"),
        "the diff is the file's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dmoj_problem_from_an_archive_grades_batches_all_or_nothing() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    write(
        p,
        "init.yml",
        "archive: data.zip\ntest_cases:\n  - { in: 1.in, out: 1.out, points: 10 }\n  - batched:\n      - { in: 2.in, out: 2.out }\n      - { in: 3.in, out: 3.out }\n    points: 30\n  - batched:\n      - { in: 4.in, out: 4.out }\n    points: 60\n    dependencies: [1]\n",
    );
    let file = std::fs::File::create(p.join("data.zip")).expect("zip");
    let mut zip = zip::ZipWriter::new(file);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in [
        ("1.in", "1 2\r\n"),
        ("1.out", "3\r\n"),
        ("2.in", "2 2"),
        ("2.out", "4"),
        ("3.in", "100 5"),
        ("3.out", "105"),
        ("4.in", "1 1"),
        ("4.out", "2"),
    ] {
        zip.start_file(name, options).expect("entry");
        zip.write_all(text.as_bytes()).expect("write");
    }
    zip.finish().expect("zip written");
    let report = run(
        p,
        vec![py("sum.py", SUM), py("small.py", SUM_SMALL_ONLY)],
        2,
    )
    .await;
    assert_eq!(report.submissions[0].score, 100.0, "{:?}", rows(&report, 0));
    use Verdict::*;
    let got: Vec<(String, Verdict)> = rows(&report, 1)
        .into_iter()
        .map(|(g, _, v, _)| (g, v))
        .collect();
    let want: Vec<(String, Verdict)> = [
        ("case1", Accepted),
        ("batch1", Accepted),
        ("batch1", WrongAnswer),
        ("batch2", Skipped),
    ]
    .into_iter()
    .map(|(g, v)| (g.to_owned(), v))
    .collect();
    assert_eq!(got, want);
    assert_eq!(
        report.submissions[1].score, 10.0,
        "a batch is all or nothing"
    );
}
