//! DMOJ `init.yml`, expected files and group dependencies, as read from problem files.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::tests::{err, write};
use super::*;
use crate::checker::FloatTolerance;

/// Writes each `(text, want)` as `file` in `dir` and requires the load error to contain `want`.
fn refused_as(dir: &Path, file: &str, cases: Vec<(String, &str)>) {
    for (text, want) in cases {
        write(dir, file, &text);
        let e = err(dir);
        assert!(e.contains(want), "want `{want}` in: {e}");
    }
}

/// Writes a zip (stored, not compressed) of `files` at `rel`.
fn zip(root: &Path, rel: &str, files: &[(&str, &str)]) {
    let file = fs::File::create(root.join(rel)).unwrap();
    let mut w = zip::ZipWriter::new(file);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in files {
        w.start_file(*name, options).unwrap();
        w.write_all(text.as_bytes()).unwrap();
    }
    w.finish().unwrap();
}

const DMOJ: &str = r#"
checker: { name: floats, args: { precision: 3 } }
pretest_test_cases:
  - { in: p.in, out: p.out }
test_cases:
  - { in: 1.in, out: 1.out, points: 5 }
  - batched:
      - { in: 2.in, out: 2.out }
      - { in: 2.in, out: 3.out }
    points: 20
  - { in: 4.in, out: 4.out }
  - batched:
      - { in: 5.in, out: 5.out }
    points: 70
    dependencies: [1]
points: 3
"#;

fn dmoj_files(d: &Path) {
    write(d, "init.yml", DMOJ);
    for n in ["p", "1", "2", "4", "5"] {
        write(d, &format!("{n}.in"), &format!("{n} in\r\n"));
    }
    for n in ["p", "1", "2", "3", "4", "5"] {
        write(d, &format!("{n}.out"), &format!("{n} out\r"));
    }
}

/// A group as (name, points, scoring, case names, depends_on).
type Shape<'a> = (&'a str, f64, Scoring, Vec<&'a str>, Vec<&'a str>);

#[test]
fn dmoj_cases_batches_points_pretests_and_dependencies() {
    let d = tempfile::tempdir().unwrap();
    dmoj_files(d.path());
    let p = Problem::load(d.path()).unwrap();
    assert_eq!(p.layout, Layout::Dmoj);
    let shape: Vec<Shape<'_>> = p
        .groups
        .iter()
        .map(|g| {
            (
                g.name.as_str(),
                g.points,
                g.scoring,
                g.cases.iter().map(|c| c.name.as_str()).collect(),
                g.depends_on.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("pretests", 0.0, Scoring::Sum, vec!["p.in"], vec![]),
            ("case1", 5.0, Scoring::Sum, vec!["1.in"], vec![]),
            (
                "batch1",
                20.0,
                Scoring::Min,
                vec!["2.in", "2.in (2)"],
                vec![]
            ),
            // The top-level `points: 3` is the default; cases are counted across batches.
            ("case4", 3.0, Scoring::Sum, vec!["4.in"], vec![]),
            ("batch2", 70.0, Scoring::Min, vec!["5.in"], vec!["batch1"]),
        ]
    );
    let c = &p.groups[2].cases[1];
    assert_eq!(
        c.stdin.as_deref(),
        Some(&b"2 in\n"[..]),
        "\\r\\n normalized"
    );
    assert_eq!(c.answer.as_deref(), Some(&b"3 out\n"[..]), "\\r normalized");
    assert_eq!(
        p.checker,
        Checker::Floats(FloatTolerance {
            absolute: Some(1e-3),
            relative: Some(1e-3)
        })
    );
}

#[test]
fn dmoj_reads_data_from_the_archive_and_the_directory_first() {
    let d = tempfile::tempdir().unwrap();
    zip(
        d.path(),
        "data.zip",
        &[("a.in", "1 2\r\n"), ("a.out", "3\n"), ("b.in", "zip")],
    );
    write(
        d.path(),
        "init.yml",
        "archive: data.zip\nbinary_data: true\noutput_limit_length: 4096\ncheckers: x\n",
    );
    // An unknown key is refused, naming it.
    let e = err(d.path());
    assert!(e.contains("init.yml, key `checkers`: unknown key"), "{e}");
    write(
        d.path(),
        "init.yml",
        "archive: data.zip\nbinary_data: true\noutput_limit_length: 4096\ntest_cases:\n  - { in: a.in, out: a.out, points: 1 }\n  - { in: b.in, out: b.out, points: 1 }\n",
    );
    write(d.path(), "b.out", "from the directory\n");
    let p = Problem::load(d.path()).unwrap();
    let a = &p.groups[0].cases[0];
    assert_eq!(
        a.stdin.as_deref(),
        Some(&b"1 2\r\n"[..]),
        "binary_data keeps \\r"
    );
    assert_eq!(
        p.groups[1].cases[0].answer.as_deref(),
        Some(&b"from the directory\n"[..])
    );
    assert_eq!(p.limits.output, Some(ByteSize(4096)));
    assert_eq!(p.checker, Checker::Tokens, "standard is the default");
}

#[test]
fn dmoj_errors_name_the_file_the_key_and_the_case() {
    let d = tempfile::tempdir().unwrap();
    dmoj_files(d.path());
    fs::remove_file(d.path().join("3.out")).unwrap();
    let e = err(d.path());
    assert!(
        e.contains("init.yml, key `test_cases[1].batched[1].out`, case `2.in`: no file `3.out`"),
        "{e}"
    );
    write(d.path(), "3.out", "3\n");
    let refused = [
        (
            DMOJ.replace("name: floats", "name: my_checker.py"),
            "key `checker`: custom checker files (`my_checker.py`) are not supported",
        ),
        (
            DMOJ.replace("name: floats", "name: linecount"),
            "key `checker`: checker `linecount` has no subrun equivalent",
        ),
        (
            DMOJ.replace("precision: 3", "precision: -1"),
            "key `checker.args.precision`",
        ),
        (
            DMOJ.replace("dependencies: [1]", "dependencies: [2]"),
            "key `test_cases[3].dependencies[0]`: expected the number of an earlier batch (1 to 1)",
        ),
        (
            DMOJ.replace(
                "{ in: 4.in, out: 4.out }",
                "{ in: 4.in, out: 4.out, checker: identical }",
            ),
            "key `test_cases[2].checker`, case `4.in`: a checker per case or batch is not supported",
        ),
        (
            DMOJ.replace(
                "{ in: 4.in, out: 4.out }",
                "{ in: 4.in, out: 4.out, generator_args: [1] }",
            ),
            "key `test_cases[2].generator_args`, case `4.in`: test data generators are not supported",
        ),
        (
            format!("grader: interactor.py\n{DMOJ}"),
            "key `grader`: interactive graders are not supported",
        ),
        (
            DMOJ.replace("{ in: 4.in, out: 4.out }", "{ in: 4.in }"),
            "key `test_cases[2].out`, case `4.in`: missing",
        ),
        (
            DMOJ.replace("points: 3\n", ""),
            "key `test_cases[2].points`: missing",
        ),
        (
            DMOJ.replace("{ in: 1.in,", "{ in: ../1.in,"),
            "inside the problem directory",
        ),
        (
            "archive: nope.zip\ntest_cases: []\n".into(),
            "key `archive`: cannot open",
        ),
    ];
    refused_as(d.path(), "init.yml", refused.into());
}

#[test]
fn layouts_are_detected_in_the_documented_order() {
    let d = tempfile::tempdir().unwrap();
    dmoj_files(d.path());
    // init.yml goes before data/ (Kattis) and cases/ (plain).
    write(d.path(), "data/secret/1.in", "1\n");
    write(d.path(), "data/secret/1.ans", "1\n");
    write(d.path(), "cases/1.in", "1\n");
    write(d.path(), "cases/1.out", "1\n");
    assert_eq!(Problem::load(d.path()).unwrap().layout, Layout::Dmoj);
    // A subrun problem.yaml (with `groups`) goes first.
    write(
        d.path(),
        "problem.yaml",
        "groups:\n  - name: g\n    cases:\n      - { name: c, stdin: x }\n",
    );
    assert_eq!(Problem::load(d.path()).unwrap().layout, Layout::Subrun);
}

const EXPECTED: &str = r#"
groups:
  - name: g
    cases:
      - name: c
        expected_files:
          out.txt: "42\n"
          deep/a[1].txt: { file: answers/a1.txt }
"#;

#[test]
fn expected_files_are_inline_or_problem_files_at_workspace_paths() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "problem.yaml", EXPECTED);
    write(d.path(), "answers/a1.txt", "from a file\n");
    let p = Problem::load(d.path()).unwrap();
    let files: Vec<(&str, &[u8])> = p.groups[0].cases[0]
        .expected_files
        .iter()
        .map(|f| (f.path.as_str(), f.content.as_slice()))
        .collect();
    assert_eq!(
        files,
        [
            ("deep/a[1].txt", &b"from a file\n"[..]),
            ("out.txt", &b"42\n"[..])
        ]
    );
    let refused = [
        (
            EXPECTED.replace("out.txt:", "../out.txt:"),
            "key `groups[0].cases[0].expected_files.../out.txt`, case `c`: `../out.txt` is not a workspace path",
        ),
        (
            EXPECTED.replace("out.txt:", "/etc/out.txt:"),
            "is not a workspace path",
        ),
        (
            EXPECTED.replace("answers/a1.txt", "answers/none.txt"),
            "key `groups[0].cases[0].expected_files.deep/a[1].txt`, case `c`: cannot read",
        ),
        (
            EXPECTED.replace("{ file: answers/a1.txt }", "{ path: answers/a1.txt }"),
            "unknown field `path`, expected `file`",
        ),
    ];
    refused_as(d.path(), "problem.yaml", refused.into());
}

const DEPENDS: &str = r#"
groups:
  - name: hard
    depends_on: [easy, medium]
    cases: [{ name: h }]
  - name: easy
    cases: [{ name: e }]
  - name: medium
    depends_on: [easy]
    cases: [{ name: m }]
"#;

#[test]
fn depends_on_is_checked_and_orders_groups_after_what_they_need() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "problem.yaml", DEPENDS);
    let p = Problem::load(d.path()).unwrap();
    assert_eq!(p.groups[0].depends_on, ["easy", "medium"]);
    assert_eq!(dependencies::order(&p.groups).unwrap(), [1, 2, 0]);
    refused_as(
        d.path(),
        "problem.yaml",
        vec![
            (
                DEPENDS.replace("[easy, medium]", "[easy, mediun]"),
                "key `groups[0].depends_on[1]`: no group is named `mediun`",
            ),
            (
                DEPENDS.replace("depends_on: [easy]", "depends_on: [hard]"),
                "key `groups[2].depends_on[0]`: groups depend on each other: `hard` -> `medium` -> `hard`",
            ),
            (
                DEPENDS.replace("depends_on: [easy]", "depends_on: [medium]"),
                "key `groups[2].depends_on[0]`: groups depend on each other: `medium` -> `medium`",
            ),
        ],
    );
}
