//! Deadlines, kill, output cap, memory, stack, open files.

use std::time::{Duration, Instant};

use subrun::{ExecRequest, Outcome, Resource, RuntimeError, RuntimeState, TrapKind};

use crate::Target;
use crate::fixtures::Fixture;
use crate::target::{Kind, chain};

const SECOND: Duration = Duration::from_secs(1);

fn on_time(t: &Target, took: Duration, what: &str) {
    assert!(took >= SECOND, "{what} ended early: {took:?}");
    assert!(
        took <= SECOND + t.slack,
        "{what} ended {took:?} after start, more than 1 s + {:?}",
        t.slack
    );
}

/// A timeout ends the command, reads as 124, and keeps what it wrote before.
pub async fn timeout_keeps_partial_output(t: &Target) {
    let (s, rt) = t.spawn("").await;
    // Load the module first (see `spin_sleep_and_blocked_stdin_time_out`).
    let warm = rt
        .execute(ExecRequest::new(t.cmd(Fixture::SlowWriter, &["1", "0"])))
        .await
        .unwrap();
    assert_eq!(warm.outcome, Outcome::Exited { code: 0 }, "warm-up");
    let start = Instant::now();
    let r = rt
        .execute(ExecRequest::new(t.cmd(Fixture::SlowWriter, &["1000", "100"])).timeout(SECOND))
        .await
        .unwrap();
    on_time(t, start.elapsed(), "slow writer");
    assert_eq!(r.outcome, Outcome::TimedOut);
    assert_eq!(r.exit_code, 124);
    assert!(r.timed_out);
    let out = r.stdout_text();
    assert!(
        out.starts_with("tick 0\ntick 1\n"),
        "partial output lost: {out:?}"
    );
    assert!(
        !out.contains("tick 50\n"),
        "kept running past the deadline: {out:?}"
    );
    assert_eq!(
        rt.state(),
        RuntimeState::Exited {
            outcome: Outcome::TimedOut
        }
    );
    s.close().await.unwrap();
}

/// A timeout ends every process the command started (shell runtimes).
pub async fn timeout_ends_the_whole_process_tree(t: &Target) {
    let (s, rt) = t.spawn("").await;
    let start = Instant::now();
    let r = rt
        .execute(ExecRequest::new("sleep 3071 & sleep 3071; echo never").timeout(SECOND))
        .await
        .unwrap();
    on_time(t, start.elapsed(), "sleep tree");
    assert_eq!(r.outcome, Outcome::TimedOut);
    assert_eq!(r.exit_code, 124);
    assert!(!r.stdout_text().contains("never"));
    let left = t.processes_matching(rt.as_ref(), "sleep 3071").await;
    assert!(left.is_empty(), "processes left behind: {left:?}");
    // The runtime is still usable.
    let r = rt.execute(ExecRequest::new("echo again")).await.unwrap();
    assert_eq!(r.stdout_text(), "again\n");
    s.close().await.unwrap();
}

/// A guest that spins, one that sleeps in a host call and one blocked on stdin all end at the
/// deadline.
pub async fn spin_sleep_and_blocked_stdin_time_out(t: &Target) {
    let (s, rt) = t.spawn("").await;
    let fixtures = [Fixture::Spin, Fixture::SleepForever, Fixture::EchoStdin];
    // Load each module once first: on wasi a module's first load compiles it (or reads the
    // disk cache), which is not charged to the deadline but would count in `start.elapsed()`.
    for f in fixtures {
        let (_keep_open, rx) = tokio::io::duplex(64);
        let r = rt
            .execute(
                ExecRequest::new(t.cmd(f, &[]))
                    .timeout(Duration::from_millis(20))
                    .stdin_reader(rx),
            )
            .await
            .unwrap();
        assert_eq!(r.outcome, Outcome::TimedOut, "{} (warm-up)", f.name());
    }
    for f in fixtures {
        let (_keep_open, rx) = tokio::io::duplex(64);
        let start = Instant::now();
        let r = rt
            .execute(
                ExecRequest::new(t.cmd(f, &[]))
                    .timeout(SECOND)
                    .stdin_reader(rx),
            )
            .await
            .unwrap();
        on_time(t, start.elapsed(), f.name());
        assert_eq!(r.outcome, Outcome::TimedOut, "{}", f.name());
        assert_eq!(r.exit_code, 124);
    }
    s.close().await.unwrap();
}

/// `kill()` from another task stops a running command promptly; it reads as `Killed`/137.
pub async fn kill_from_another_task(t: &Target) {
    let (s, rt) = t.spawn("").await;
    let runner = rt.clone();
    let cmd = t.cmd(Fixture::Spin, &[]);
    let task = tokio::spawn(async move {
        runner
            .execute(ExecRequest::new(cmd).timeout(Duration::from_secs(60)))
            .await
    });
    // Wait until it runs.
    let deadline = Instant::now() + Duration::from_secs(10);
    while rt.state() != RuntimeState::Running {
        assert!(Instant::now() < deadline, "never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    rt.kill().await.unwrap();
    let r = task.await.unwrap().unwrap();
    assert!(
        start.elapsed() <= t.slack,
        "kill took {:?}",
        start.elapsed()
    );
    assert_eq!(r.outcome, Outcome::Killed);
    assert_eq!(r.exit_code, 137);
    assert_eq!(rt.state(), RuntimeState::Killed);
    s.close().await.unwrap();
}

/// `kill` and `cleanup` can be repeated; after cleanup every call is a clear error.
pub async fn kill_and_cleanup_are_idempotent(t: &Target) {
    let (s, rt) = t.spawn("").await;
    rt.kill().await.unwrap();
    rt.kill().await.unwrap();
    rt.cleanup().await.unwrap();
    rt.cleanup().await.unwrap();
    rt.kill().await.unwrap();
    assert_eq!(rt.state(), RuntimeState::CleanedUp);
    let err = rt
        .execute(ExecRequest::new(t.cmd(Fixture::Hello, &[])))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RuntimeError::CleanedUp { .. }),
        "{}",
        chain(&err)
    );
    assert!(err.to_string().contains("cleaned up"), "{err}");
    assert!(matches!(
        rt.stream(ExecRequest::new("x")).await,
        Err(RuntimeError::CleanedUp { .. })
    ));
    assert!(matches!(rt.poll(), Err(RuntimeError::CleanedUp { .. })));
    s.close().await.unwrap();
}

/// `poll` is `None` before the first command and while one runs, then the last outcome.
pub async fn poll_reports_the_last_outcome(t: &Target) {
    let (s, rt) = t.spawn("").await;
    assert_eq!(rt.poll().unwrap(), None);
    assert_eq!(rt.state(), RuntimeState::Pending);
    rt.execute(ExecRequest::new(t.cmd(Fixture::ExitCode, &["3"])))
        .await
        .unwrap();
    assert_eq!(rt.poll().unwrap(), Some(Outcome::Exited { code: 3 }));
    let exec = rt
        .stream(ExecRequest::new(t.cmd(Fixture::Spin, &[])))
        .await
        .unwrap();
    assert_eq!(rt.poll().unwrap(), None, "a command is running");
    exec.control().kill();
    let r = exec.wait().await.unwrap();
    assert_eq!(r.outcome, Outcome::Killed);
    assert_eq!(rt.poll().unwrap(), Some(Outcome::Killed));
    s.close().await.unwrap();
}

/// Output past `limits.output` is cut at the cap, flagged, and ends the command.
pub async fn output_cap_truncates_and_flags(t: &Target) {
    let (s, rt) = t.spawn("limits: { output: 1MiB }\n").await;
    for stream in ["stdout", "stderr"] {
        let r = rt
            .execute(
                ExecRequest::new(t.cmd(Fixture::OutputFlood, &["1073741824", stream]))
                    .timeout(Duration::from_secs(20)),
            )
            .await
            .unwrap();
        assert_eq!(
            r.outcome,
            Outcome::ResourceExceeded {
                resource: Resource::Output
            },
            "{stream}"
        );
        assert_eq!(r.exit_code, 153);
        let (kept, flag, other) = if stream == "stdout" {
            (&r.stdout, r.stdout_truncated, r.stderr_truncated)
        } else {
            (&r.stderr, r.stderr_truncated, r.stdout_truncated)
        };
        assert_eq!(kept.len(), 1 << 20, "{stream}");
        assert!(kept.iter().all(|b| *b == b'x'));
        assert!(flag && !other);
    }
    // Under the cap nothing is flagged.
    let r = rt
        .execute(ExecRequest::new(t.cmd(Fixture::OutputFlood, &["1000"])))
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::Exited { code: 0 });
    assert_eq!(r.stdout.len(), 1000);
    assert!(!r.stdout_truncated);
    s.close().await.unwrap();
}

/// Allocating without bound ends in the runtime's memory outcome, and the runtime keeps
/// working. (wasm: the limiter denies the growth; local: RLIMIT_AS makes the allocation fail
/// and the Rust guest aborts; docker: the cgroup's OOM killer.)
pub async fn memory_bomb_ends_in_a_memory_outcome(t: &Target) {
    let (s, rt) = t.spawn("limits: { memory: 64MiB }\n").await;
    let r = rt
        .execute(ExecRequest::new(t.cmd(Fixture::MemoryBomb, &[])).timeout(Duration::from_secs(30)))
        .await
        .unwrap();
    let expected = match t.kind {
        Kind::Wasi | Kind::Docker => vec![Outcome::ResourceExceeded {
            resource: Resource::Memory,
        }],
        // The guest aborts when an allocation fails; `sh -c` reports that as 128 + SIGABRT.
        Kind::Local => vec![
            Outcome::Signaled { signal: 6 },
            Outcome::Exited { code: 134 },
        ],
    };
    assert!(
        expected.contains(&r.outcome),
        "{:?}: {}",
        r.outcome,
        r.stderr_text()
    );
    let r = rt
        .execute(ExecRequest::new(t.cmd(Fixture::Hello, &[])))
        .await
        .unwrap();
    assert_eq!(r.stdout_text(), "hello, world\n");
    s.close().await.unwrap();
}

/// Unbounded recursion ends the guest (a trap in wasm, a signal natively), never the host.
pub async fn deep_recursion_crashes_the_guest_not_the_host(t: &Target) {
    let (s, rt) = t.spawn("").await;
    let r = rt
        .execute(ExecRequest::new(t.cmd(Fixture::StackOverflow, &[])))
        .await
        .unwrap();
    match t.kind {
        Kind::Wasi => {
            // Rust keeps its frames on a shadow stack in linear memory: exhausting it reads as
            // an out-of-bounds access; exhausting the wasm stack itself as a stack overflow.
            assert!(
                matches!(
                    r.outcome,
                    Outcome::Trapped {
                        trap: TrapKind::StackOverflow | TrapKind::MemoryOutOfBounds
                    }
                ),
                "{:?}",
                r.outcome
            );
            assert_eq!(r.exit_code, 134);
        }
        Kind::Local | Kind::Docker => {
            // Rust's guard page handler reports the overflow and aborts; a shell that does not
            // exec its last command reports that as 128 + the signal.
            assert!(
                matches!(
                    r.outcome,
                    Outcome::Signaled { signal: 6 | 11 } | Outcome::Exited { code: 134 | 139 }
                ),
                "{:?}: {}",
                r.outcome,
                r.stderr_text()
            );
        }
    }
    let r = rt
        .execute(ExecRequest::new(t.cmd(Fixture::Hello, &[])))
        .await
        .unwrap();
    assert_eq!(r.stdout_text(), "hello, world\n");
    s.close().await.unwrap();
}

/// `limits.open_files` bounds the descriptors a command can hold.
pub async fn open_files_limit_is_enforced(t: &Target) {
    let (s, rt) = t.spawn("limits: { open_files: 64 }\n").await;
    let r = rt
        .execute(ExecRequest::new(t.cmd(Fixture::OpenFiles, &["100000"])))
        .await
        .unwrap();
    let out = r.stdout_text();
    let opened: usize = out
        .strip_prefix("opened=")
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "unexpected output {out:?} {}: {:?}",
                r.stderr_text(),
                r.outcome
            )
        });
    assert!(
        (50..=64).contains(&opened),
        "opened {opened} files under a limit of 64: {out}"
    );
    assert!(out.contains("error="), "{out}");
    s.close().await.unwrap();
}

/// `limits.disk` bounds what the workspace holds: bytes written, a sparse file's length, and
/// a flood of empty files all end in `ResourceExceeded { disk }`, close to the quota.
pub async fn disk_quota_stops_a_filling_guest(t: &Target) {
    for mode in ["files", "sparse", "inodes"] {
        let (s, rt) = t.spawn("limits: { disk: 16MiB }\n").await;
        let r = rt
            .execute(
                ExecRequest::new(t.cmd(Fixture::DiskFill, &[mode]))
                    .timeout(Duration::from_secs(30)),
            )
            .await
            .unwrap();
        assert_eq!(
            r.outcome,
            Outcome::ResourceExceeded {
                resource: Resource::Disk
            },
            "{mode}: {}",
            r.stdout_text()
        );
        assert_eq!(r.exit_code, 153);
        let used: u64 = workspace_bytes(s.workspace().path());
        // wasi charges the guest's own writes (within 1 MiB); native runtimes measure every
        // 25 ms, so they overshoot by what the command writes until it is stopped: local
        // sends SIGKILL at once, docker must first start its kill sweep as an exec (60 ms and
        // more), while a writer fills the page cache at GB/s (238 MiB measured on a quiet
        // machine). The same bound as the exhaustion suite's.
        let slack: u64 = match t.kind {
            Kind::Wasi => 2 << 20,
            Kind::Local => 96 << 20,
            Kind::Docker => 512 << 20,
        };
        assert!(
            used <= (16 << 20) + slack,
            "{mode}: the workspace holds {used} bytes"
        );
        s.close().await.unwrap();
    }
}

/// Allocated bytes of the files under `root` (not following symlinks).
fn workspace_bytes(root: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    let mut total = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = e.path().symlink_metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            }
            total += m.blocks() * 512;
        }
    }
    total
}
