//! Grading on the `docker` runtime with the `subrun-test/busybox` image (built by
//! `scripts/build-test-images.sh`). These tests need the Docker engine and the image, and
//! fail (never skip) without them.

use std::path::Path;
use std::sync::Arc;

use subrun::{EnvironmentSpec, Registry};
use subrun_docker::{DockerRuntimeFactory, TEST_IMAGE};
use subrun_grade::{Submission, Verdict};

mod common;
use common::{assert_all_accepted, grade_one, sealed_problem};

async fn registry() -> Registry {
    let factory = DockerRuntimeFactory::connect()
        .await
        .expect("the Docker engine must be reachable for these tests");
    assert!(
        factory.has_image(TEST_IMAGE).await.expect("list images"),
        "the test image {TEST_IMAGE} is missing: run scripts/build-test-images.sh"
    );
    let mut registry = Registry::new();
    registry
        .register(Arc::new(factory))
        .expect("registered once");
    registry
}

fn spec() -> EnvironmentSpec {
    let yaml = format!("type: docker\nname: grade-docker\ndocker: {{ image: {TEST_IMAGE} }}\n");
    EnvironmentSpec::from_yaml_str(&yaml, "test spec", Path::new("/")).expect("valid spec")
}

/// The probe: a shell script that reads every file of the container (but /proc and /sys)
/// looking for the secrets, looks up the problem directory by its host path, checks for
/// what an earlier case may have left in the workspace, `/tmp`, `/var/tmp` and `/dev/shm`,
/// then leaves all of that (files, a symlink, a late writer in the background) itself. It
/// prints `clean` when it found nothing, else what it found. The secrets are spelled in
/// two pieces so the script does not contain them.
fn probe(problem_dir: &Path) -> String {
    format!(
        r#"found=""
note() {{ found="$found $1"; }}
stdin=$(cat)
[ "$stdin" = probe ] || note "stdin:$stdin"
for f in leftover.txt deep/er/leftover.txt given.txt planted-link /tmp/leftover.txt /var/tmp/leftover.txt /dev/shm/leftover.txt /tmp/late.txt; do
  if [ -e "$f" ] || [ -L "$f" ]; then note "exists:$f"; fi
done
for s in INPUT_SECRET ANSWER_SECRET FILE_SECRET; do
  for hit in $(find / \( -path /proc -o -path /sys \) -prune -o -type f -exec grep -lF "OTHER_$s" {{}} + 2>/dev/null); do
    note "OTHER_$s@$hit"
  done
done
for s in PROBLEM_DIR CHECKER; do
  for hit in $(find / \( -path /proc -o -path /sys \) -prune -o -type f -exec grep -lF "${{s}}_SECRET" {{}} + 2>/dev/null); do
    note "${{s}}_SECRET@$hit"
  done
done
if ls {problem} >/dev/null 2>&1; then note listed-problem-dir; fi
echo left > leftover.txt || note cannot-write:workspace
mkdir -p deep/er && echo left > deep/er/leftover.txt
ln -s leftover.txt planted-link || note cannot-plant-symlink
for d in /tmp /var/tmp /dev/shm; do echo left > $d/leftover.txt || note cannot-write:$d; done
(sleep 1; echo late > /tmp/late.txt) &
if [ -z "$found" ]; then echo clean; else echo "$found"; fi
"#,
        problem = problem_dir.display()
    )
}

/// As the wasi sealing test: a submission that looks everywhere it can for another case's
/// input, answer and granted file, a file of the problem directory (and a checker program
/// kept there), and what an earlier case left in the workspace or elsewhere in the container.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_docker_a_submission_sees_only_its_own_case_and_nothing_an_earlier_case_left() {
    let dir = tempfile::tempdir().expect("tempdir");
    let problem_dir = dir.path().join("problem");
    sealed_problem(
        &problem_dir,
        "limits: { time: 20s }",
        &["first", "second", "third"],
    );
    let submission =
        Submission::command("probe.sh", "sh probe.sh").file("probe.sh", probe(&problem_dir));
    let report = grade_one(&problem_dir, &registry().await, spec(), submission).await;
    let cases = &report.submissions[0].cases;
    // The first case sees its own stdin and granted file, and says so: the search works.
    assert_eq!(
        cases[0].verdict,
        Verdict::WrongAnswer,
        "{:?}",
        cases[0].message
    );
    // What it printed: the `+` lines of the diff (the `-` lines are the answer).
    let other: String = cases[0]
        .diff
        .as_deref()
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with('+'))
        .collect();
    assert!(other.contains("exists:given.txt"), "{other}");
    assert!(
        other.contains("OTHER_FILE_SECRET@/workspace/given.txt"),
        "{other}"
    );
    assert!(other.contains("stdin:OTHER_INPUT_SECRET"), "{other}");
    assert!(!other.contains("ANSWER_SECRET"), "{other}");
    assert!(!other.contains("cannot-"), "{other}");
    assert_all_accepted(&cases[1..]);
}
