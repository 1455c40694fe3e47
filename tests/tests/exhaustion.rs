//! The exhaustion suite: spin, sleep, a blocked stdin, unbounded allocation and recursion,
//! stdout and stderr floods, a filling disk (bytes, a sparse file, inodes), open files, wasm
//! table growth and a fork bomb, on each runtime. Every case ends in its expected outcome
//! within its deadline plus the runtime's slack, the next command on the same runtime works,
//! and the host process stays within `HOST_GROWTH_BOUND_KIB` of its resident size at the
//! start. The core lives in `hardening/` and is shared with the `security-report` binary.

#[path = "hardening/exhaustion.rs"]
mod exhaustion;
#[path = "hardening/host.rs"]
mod host;
#[path = "hardening/table.rs"]
mod table;

use subrun_tests::Kind;

/// The runtimes' suites run one at a time, so each measures the host process alone (the
/// test harness runs this binary's tests on parallel threads of one process).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn suite(kind: Kind) {
    subrun_tests::run(kind, |t| {
        Box::pin(async move {
            let _turn = ONE_AT_A_TIME.lock().await;
            let start = host::HostUsage::now();
            // SUBRUN_EXHAUSTION_ONLY=<part of a case name> runs only the matching cases.
            let only = std::env::var("SUBRUN_EXHAUSTION_ONLY").unwrap_or_default();
            let results = exhaustion::run_matching(t, &only).await;
            println!(
                "{:?}: host RSS at the start {} MiB, bound on growth {} MiB\n{}",
                t.kind,
                host::mib(start.rss_kib),
                host::mib(exhaustion::HOST_GROWTH_BOUND_KIB),
                exhaustion::results_table(&results)
            );
            let problems = exhaustion::problems(start, &results);
            assert!(
                problems.is_empty(),
                "{:?}:\n- {}\n{}",
                t.kind,
                problems.join("\n- "),
                exhaustion::results_table(&results)
            );
        })
    });
}

/// Every exhaustion case ends as it must on wasi.
#[test]
fn exhaustion_ends_on_time_on_wasi() {
    suite(Kind::Wasi);
}

/// Every exhaustion case ends as it must on docker.
#[test]
fn exhaustion_ends_on_time_on_docker() {
    suite(Kind::Docker);
}

/// Every exhaustion case ends as it must on local.
#[test]
fn exhaustion_ends_on_time_on_local() {
    suite(Kind::Local);
}

/// Regression: a fork bomb whose every process keeps refilling the pids limit outlived its
/// deadline on docker: the kill sweep sent SIGKILL once, then only checked, while the
/// survivors forked new children, until it gave up after 5,000 checks and left the bomb
/// running. The sweep now kills the command's process group at once and re-kills on every
/// pass.
#[test]
fn docker_sweep_ends_a_fork_bomb_that_refills_the_pids_limit() {
    subrun_tests::run(Kind::Docker, |t| {
        Box::pin(async move {
            let _turn = ONE_AT_A_TIME.lock().await;
            let results = exhaustion::run_matching(t, "fork without bound").await;
            assert_eq!(results.len(), 1);
            assert!(
                results[0].problems.is_empty(),
                "{}",
                exhaustion::results_table(&results)
            );
        })
    });
}

/// Regression: right after a fork bomb timed out on docker, the next command sometimes could
/// not fork (`sh` exited 2): the sweep reported the bomb gone while its killed processes were
/// still zombies waiting for the container's init to reap them, and a zombie still counts
/// toward the pids limit. The sweep now waits until they are reaped.
#[test]
fn docker_sweep_waits_until_a_fork_bombs_zombies_are_reaped() {
    use std::time::Duration;
    use subrun::{ExecRequest, Outcome};
    use subrun_tests::fixtures::Fixture;

    subrun_tests::run(Kind::Docker, |t| {
        Box::pin(async move {
            let _turn = ONE_AT_A_TIME.lock().await;
            let (s, rt) = t.spawn("limits: { processes: 64 }\n").await;
            for round in 0..3 {
                let bomb = rt
                    .execute(
                        ExecRequest::new(t.cmd(Fixture::ForkBomb, &[]))
                            .timeout(Duration::from_secs(1)),
                    )
                    .await
                    .unwrap();
                assert_eq!(bomb.outcome, Outcome::TimedOut, "round {round}");
                // Forks twice: fails while the pids limit is still full of zombies.
                let next = rt
                    .execute(ExecRequest::new("echo a | cat; echo b | cat"))
                    .await
                    .unwrap();
                assert_eq!(
                    (next.outcome.clone(), next.stdout_text().as_ref()),
                    (Outcome::Exited { code: 0 }, "a\nb\n"),
                    "round {round}: the command after the fork bomb: {}",
                    next.stderr_text()
                );
            }
            s.close().await.unwrap();
        })
    });
}
