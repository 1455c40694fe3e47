//! Load and soak: 10,000 sequential and 200 concurrent executions on wasi (300/20 on docker,
//! 2,000/50 on local), with zero failures and no growth in open descriptors, threads,
//! resident memory, subrun temporary directories or containers after warm-up (tolerances in
//! `hardening/soak.rs`). Ignored in the normal suite; run it with
//!
//! ```text
//! cargo test --release -p subrun-tests --test soak -- --ignored soak --nocapture
//! ```
//!
//! `SUBRUN_SOAK_SCALE=0.1` scales the numbers of executions down for a quick look.
//!
//! Each runtime's soak runs in a process of its own (this binary re-executes itself for the
//! one test) with a private temp root, so what it counts is its own. The figures are printed
//! as a markdown table.

#[path = "hardening/host.rs"]
mod host;
#[path = "hardening/soak.rs"]
mod soak;
#[path = "hardening/table.rs"]
mod table;

use std::process::Command;

use subrun_tests::Kind;

/// Set in the re-executed child: the private temp root it runs under.
const CHILD: &str = "SUBRUN_SOAK_TEMP_ROOT";

/// Scales the plan (`0.1` for a quick look); the default is the full plan.
const SCALE: &str = "SUBRUN_SOAK_SCALE";

/// One soak at a time, so each has the machine to itself.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn soak(kind: Kind, test: &str) {
    if std::env::var_os(CHILD).is_some() {
        subrun_tests::run(kind, |t| {
            Box::pin(async move {
                let root = std::path::PathBuf::from(std::env::var_os(CHILD).expect("child"));
                let scale = std::env::var(SCALE)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .unwrap_or(1.0);
                let plan = soak::Plan::full(t.kind).scaled(scale);
                let report = soak::run(t, plan, &root).await;
                println!("{}", soak::table(std::slice::from_ref(&report)));
                let problems = soak::problems(&report);
                assert!(problems.is_empty(), "- {}", problems.join("\n- "));
            })
        });
        return;
    }
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let root = tempfile::Builder::new()
        .prefix("soak-root-")
        .tempdir()
        .expect("a private temp root");
    let status = Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            test,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("TMPDIR", root.path())
        .env(CHILD, root.path())
        .status()
        .expect("run the soak in its own process");
    assert!(
        status.success(),
        "the {kind:?} soak failed (its output is above)"
    );
}

/// wasi: 10,000 sequential, 5 rounds of 200 concurrent.
#[test]
#[ignore = "soak: about a minute; cargo test --release -p subrun-tests --test soak -- --ignored soak --nocapture"]
fn soak_wasi() {
    soak(Kind::Wasi, "soak_wasi");
}

/// docker: 300 sequential, 3 rounds of 20 concurrent.
#[test]
#[ignore = "soak: about a minute; cargo test --release -p subrun-tests --test soak -- --ignored soak --nocapture"]
fn soak_docker() {
    soak(Kind::Docker, "soak_docker");
}

/// local: 2,000 sequential, 5 rounds of 50 concurrent.
#[test]
#[ignore = "soak: about a minute; cargo test --release -p subrun-tests --test soak -- --ignored soak --nocapture"]
fn soak_local() {
    soak(Kind::Local, "soak_local");
}
