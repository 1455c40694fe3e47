use std::fs;
use std::path::Path;

use super::*;
use crate::checker::FloatTolerance;

pub(super) fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

pub(super) fn err(dir: &Path) -> String {
    Problem::load(dir)
        .expect_err("the problem is invalid")
        .to_string()
}

#[test]
fn plain_layout_pairs_in_with_out_or_ans_sorted_by_name() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "cases/b.in", "1 2\n");
    write(d.path(), "cases/b.ans", "3\n");
    write(d.path(), "cases/a.in", "5 5\n");
    write(d.path(), "cases/a.out", "10\n");
    let p = Problem::load(d.path()).unwrap();
    assert_eq!(p.layout, Layout::Plain);
    assert_eq!(p.groups.len(), 1);
    let names: Vec<_> = p.groups[0].cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(p.groups[0].cases[0].stdin.as_deref(), Some(&b"5 5\n"[..]));
    assert_eq!(p.groups[0].cases[0].answer.as_deref(), Some(&b"10\n"[..]));
    assert_eq!(p.groups[0].points, 2.0);
    assert_eq!(p.checker, Checker::Tokens);
}

#[test]
fn plain_layout_errors_name_the_file_and_the_case() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "cases/a.in", "1\n");
    let e = err(d.path());
    assert!(
        e.contains("cases/a.in") && e.contains("case `a`") && e.contains("no answer"),
        "{e}"
    );
    write(d.path(), "cases/a.out", "1\n");
    write(d.path(), "cases/a.ans", "1\n");
    let e = err(d.path());
    assert!(e.contains("both a.ans and a.out"), "{e}");
    fs::remove_file(d.path().join("cases/a.in")).unwrap();
    fs::remove_file(d.path().join("cases/a.out")).unwrap();
    let e = err(d.path());
    assert!(
        e.contains("cases/a.ans") && e.contains("without input"),
        "{e}"
    );
}

#[test]
fn kattis_layout_reads_sample_secret_subgroups_and_limits() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "data/sample/1.in", "1 2\n");
    write(d.path(), "data/sample/1.ans", "3\n");
    write(d.path(), "data/secret/big.in", "100 200\n");
    write(d.path(), "data/secret/big.ans", "300\n");
    write(d.path(), "data/secret/group1/x.in", "0 0\n");
    write(d.path(), "data/secret/group1/x.ans", "0\n");
    write(
        d.path(),
        "problem.yaml",
        "name: Sum\nauthor: someone\nlimits:\n  time_limit: 1.5\n  memory: 64\n  time_multiplier: 5\nvalidator_flags: float_tolerance 1e-6\n",
    );
    let p = Problem::load(d.path()).unwrap();
    assert_eq!(p.layout, Layout::Kattis);
    assert_eq!(p.name, "Sum");
    let groups: Vec<_> = p.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(groups, ["sample", "secret", "secret/group1"]);
    assert_eq!(p.limits.time, Some(Duration::from_millis(1500)));
    assert_eq!(p.limits.memory, Some(ByteSize::mib(64)));
    assert_eq!(
        p.checker,
        Checker::Floats(FloatTolerance {
            absolute: Some(1e-6),
            relative: Some(1e-6)
        })
    );
}

#[test]
fn kattis_timelimit_file_and_refusals() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "data/secret/1.in", "1\n");
    write(d.path(), "data/secret/1.ans", "1\n");
    write(d.path(), ".timelimit", "2\n");
    assert_eq!(
        Problem::load(d.path()).unwrap().limits.time,
        Some(Duration::from_secs(2))
    );
    write(d.path(), "problem.yaml", "validation: custom\n");
    let e = err(d.path());
    assert!(e.contains("problem.yaml, key `validation`"), "{e}");
    write(d.path(), "problem.yaml", "limits:\n  memroy: 5\n");
    let e = err(d.path());
    assert!(e.contains("key `limits.memroy`: unknown key"), "{e}");
    write(
        d.path(),
        "problem.yaml",
        "validator_flags: case_sensitive\n",
    );
    assert!(err(d.path()).contains("not supported yet"));
    // Kattis answers are .ans only: a .out is not an answer.
    fs::remove_file(d.path().join("problem.yaml")).unwrap();
    fs::remove_file(d.path().join("data/secret/1.ans")).unwrap();
    write(d.path(), "data/secret/1.out", "1\n");
    assert!(err(d.path()).contains("expected 1.ans"));
}

const NATIVE: &str = r#"
name: sum
runtime: wasi
limits: { time: 2s, memory: 64MiB }
checker: { floats: { absolute: 0.001 } }
groups:
  - name: samples
    points: 0
    cases:
      - { name: one, stdin: "1 2\n", stdout: "3\n" }
  - name: big
    points: 40
    scoring: min
    cases:
      - { name: a, args: [--big], stdin_file: data/a.in, stdout_file: data/a.ans, files: { grid.txt: data/a.grid } }
      - { name: free }
"#;

#[test]
fn subrun_problem_yaml_reads_groups_cases_files_and_limits() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "problem.yaml", NATIVE);
    write(d.path(), "data/a.in", "5 6\n");
    write(d.path(), "data/a.ans", "11\n");
    write(d.path(), "data/a.grid", "##\n");
    let p = Problem::load(d.path()).unwrap();
    assert_eq!(p.layout, Layout::Subrun);
    assert!(matches!(&p.environment, Some(ProblemEnvironment::Runtime(r)) if r == "wasi"));
    assert_eq!(p.limits.time, Some(Duration::from_secs(2)));
    assert_eq!(p.groups[1].scoring, Scoring::Min);
    assert_eq!(p.groups[1].points, 40.0);
    let a = &p.groups[1].cases[0];
    assert_eq!(a.args, ["--big"]);
    assert_eq!(a.stdin.as_deref(), Some(&b"5 6\n"[..]));
    assert_eq!(a.answer.as_deref(), Some(&b"11\n"[..]));
    assert_eq!(a.files[0].path, "grid.txt");
    assert!(p.groups[1].cases[1].answer.is_none());
}

#[test]
fn subrun_problem_yaml_errors_name_file_key_and_case() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "problem.yaml", NATIVE);
    write(d.path(), "data/a.in", "5 6\n");
    write(d.path(), "data/a.ans", "11\n");
    let e = err(d.path());
    assert!(
        e.contains("problem.yaml, key `groups[1].cases[0].files.grid.txt`, case `a`: cannot read"),
        "{e}"
    );
    write(
        d.path(),
        "problem.yaml",
        &NATIVE.replace("stdin_file: data/a.in", "stdin_file: ../secret"),
    );
    let e = err(d.path());
    assert!(
        e.contains("key `groups[1].cases[0].stdin_file`, case `a`")
            && e.contains("inside the problem directory"),
        "{e}"
    );
    write(
        d.path(),
        "problem.yaml",
        &NATIVE.replace("stdout: \"3\\n\"", "stdot: \"3\\n\""),
    );
    let e = err(d.path());
    assert!(
        e.contains("key `groups[0].cases[0].stdot`: unknown field `stdot`"),
        "{e}"
    );
    write(
        d.path(),
        "problem.yaml",
        &NATIVE.replace("scoring: min", "scoring: max"),
    );
    let e = err(d.path());
    assert!(
        e.contains("groups[1].scoring") && e.contains("unknown variant `max`"),
        "{e}"
    );
}

#[test]
fn no_layout_is_an_error_that_lists_the_layouts() {
    let d = tempfile::tempdir().unwrap();
    assert!(
        err(d.path()).contains("expected data/ (Kattis), problem.yaml (subrun) or cases/ (plain)")
    );
}

#[test]
fn a_checker_program_is_read_with_its_convention_limits_and_args() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "check/testlib.wasm", "(module)");
    write(
        d.path(),
        "problem.yaml",
        "checker: { program: check/testlib.wasm, convention: testlib, args: [--strict], limits: { time: 2s } }\ngroups:\n  - { name: g, cases: [{ name: c, stdin: \"1\", stdout: \"1\" }] }\n",
    );
    let p = Problem::load(d.path()).unwrap();
    let Checker::Program(program) = &p.checker else {
        panic!("not a program: {:?}", p.checker);
    };
    assert!(program.module.is_absolute());
    assert_eq!(
        program.module,
        d.path().join("check/testlib.wasm").canonicalize().unwrap()
    );
    assert_eq!(program.convention, crate::checker::Convention::Testlib);
    assert_eq!(program.args, ["--strict"]);
    assert_eq!(program.limits.time, Duration::from_secs(2));
    assert_eq!(
        program.limits.memory,
        crate::checker::CheckerLimits::default().memory
    );
}

#[test]
fn a_bad_checker_program_is_an_error_naming_its_key() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "check.c", "int main(void) { return 0; }");
    write(d.path(), "check.wasm", "(module)");
    let with = |checker: &str| {
        write(
            d.path(),
            "problem.yaml",
            &format!("checker: {checker}\ngroups:\n  - {{ name: g, cases: [{{ name: c }}] }}\n"),
        );
        err(d.path())
    };
    for (checker, key, says) in [
        (
            "{ program: nope.wasm, convention: testlib }",
            "checker.program",
            "no such file",
        ),
        (
            "{ program: check.c, convention: testlib }",
            "checker.program",
            "build it with `subrun build",
        ),
        (
            "{ program: ../check.wasm, convention: testlib }",
            "checker.program",
            "inside the problem directory",
        ),
        (
            "{ program: check.wasm, convention: icpc }",
            "checker.convention",
            "unknown variant `icpc`",
        ),
        (
            "{ program: check.wasm }",
            "checker",
            "missing field `convention`",
        ),
        (
            "{ program: check.wasm, convention: kattis, limit: {} }",
            "checker.limit",
            "unknown field `limit`",
        ),
        (
            "{ program: check.wasm, convention: kattis, limits: { time: 0s } }",
            "checker.limits.time",
            "must be positive",
        ),
        (
            "{ program: check.wasm, convention: kattis, limits: { memory: lots } }",
            "checker.limits.memory",
            "",
        ),
    ] {
        let e = with(checker);
        assert!(
            e.contains(&format!("problem.yaml, key `{key}`")) && e.contains(says),
            "{checker}: {e}"
        );
    }
}

#[test]
fn kattis_output_validators_are_a_kattis_checker_program() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "data/secret/1.in", "1\n");
    write(d.path(), "data/secret/1.ans", "1\n");
    write(
        d.path(),
        "output_validators/v/v.c",
        "int main(void) { return 42; }",
    );
    let e = err(d.path());
    assert!(
        e.contains("output_validators") && e.contains("subrun build") && e.contains("v/v.c"),
        "{e}"
    );
    write(d.path(), "output_validators/v/v.wasm", "(module)");
    write(
        d.path(),
        "problem.yaml",
        "validation: custom\nvalidator_flags: float_tolerance 1e-6\nlimits: { validation_time: 2.5, validation_memory: 64 }\n",
    );
    let p = Problem::load(d.path()).unwrap();
    let Checker::Program(program) = &p.checker else {
        panic!("not a program: {:?}", p.checker);
    };
    assert_eq!(program.convention, crate::checker::Convention::Kattis);
    assert!(program.module.ends_with("output_validators/v/v.wasm"));
    assert_eq!(program.args, ["float_tolerance", "1e-6"]);
    assert_eq!(program.limits.time, Duration::from_millis(2500));
    assert_eq!(
        program.limits.memory,
        subrun::spec::units::ByteSize::mib(64)
    );
    // `validation: default` keeps the default validator, output_validators/ or not.
    write(d.path(), "problem.yaml", "validation: default\n");
    assert_eq!(Problem::load(d.path()).unwrap().checker, Checker::Tokens);
    write(d.path(), "problem.yaml", "validation: custom interactive\n");
    assert!(err(d.path()).contains("interactive problems are not supported"));
    write(d.path(), "problem.yaml", "validation: special\n");
    assert!(err(d.path()).contains("unknown validation `special`"));
    write(d.path(), "problem.yaml", "validation: custom\n");
    write(d.path(), "output_validators/w.wasm", "(module)");
    let e = err(d.path());
    assert!(e.contains("2 modules") && e.contains("keep one"), "{e}");
}
