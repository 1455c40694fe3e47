//! What the grading tests share.

use std::path::Path;

/// Writes `text` to `root/rel`, creating the directories.
pub(crate) fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

/// The problem of the sealing tests, in `problem_dir`: group `other` has one case whose
/// input, answer and granted file (`given.txt`) hold `OTHER_INPUT_SECRET`,
/// `OTHER_ANSWER_SECRET` and `OTHER_FILE_SECRET`; group `probe` has the cases `probes` (stdin
/// `probe`, answer `clean`). The directory also holds `PROBLEM_DIR_SECRET` (`notes.txt`) and
/// a checker program with `CHECKER_SECRET` (`checker/check.sh`). `limits` is a YAML line
/// (or empty).
pub(crate) fn sealed_problem(problem_dir: &Path, limits: &str, probes: &[&str]) {
    write(problem_dir, "data/other.in", "OTHER_INPUT_SECRET\n");
    write(problem_dir, "data/other.ans", "OTHER_ANSWER_SECRET\n");
    write(problem_dir, "data/other.txt", "OTHER_FILE_SECRET\n");
    write(problem_dir, "notes.txt", "PROBLEM_DIR_SECRET\n");
    write(
        problem_dir,
        "checker/check.sh",
        "# CHECKER_SECRET\nexit 0\n",
    );
    let mut yaml = format!(
        "{limits}\ngroups:\n  - name: other\n    cases:\n      - {{ name: other, stdin_file: data/other.in, stdout_file: data/other.ans, files: {{ given.txt: data/other.txt }} }}\n  - name: probe\n    cases:\n"
    );
    for name in probes {
        yaml.push_str(&format!(
            "      - {{ name: {name}, stdin: probe, stdout: clean }}\n"
        ));
    }
    write(problem_dir, "problem.yaml", &yaml);
}

/// Grades `submission` against the problem in `problem_dir`, one case at a time.
pub(crate) async fn grade_one(
    problem_dir: &Path,
    registry: &subrun::Registry,
    spec: subrun::EnvironmentSpec,
    submission: subrun_grade::Submission,
) -> subrun_grade::Report {
    subrun_grade::Grader::builder(
        subrun_grade::Problem::load(problem_dir).expect("problem"),
        registry,
    )
    .spec(spec)
    .submission(submission)
    .jobs(1)
    .build()
    .expect("grader")
    .run()
    .await
    .expect("graded")
}

/// Every case of `cases` is AC (else: which, and what it printed).
pub(crate) fn assert_all_accepted(cases: &[subrun_grade::CaseResult]) {
    for case in cases {
        assert_eq!(
            case.verdict,
            subrun_grade::Verdict::Accepted,
            "{}: {:?} {:?}",
            case.case,
            case.message,
            case.diff
        );
    }
}
