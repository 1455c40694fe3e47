//! The execution driver's rules, the same on every runtime: setup does not change the state,
//! `kill()` returns once the command has stopped, and the call's timeout beats the spec's.

use std::time::{Duration, Instant};

use subrun::{ExecRequest, Outcome, RuntimeState};

use crate::Target;
use crate::fixtures::Fixture;

/// After a spawn whose setup ran commands, the runtime is `Pending` and `poll()` is `None`:
/// setup commands are not executions of the runtime. The first execution then changes it.
pub async fn setup_leaves_the_runtime_pending(t: &Target) {
    let extra = format!(
        "setup:\n  commands: [{:?}, {:?}]\n",
        t.cmd(Fixture::ExitCode, &["0"]),
        t.cmd(Fixture::WriteBytes, &["setup-out", ""]),
    );
    let (s, rt) = t.spawn(&extra).await;
    assert_eq!(rt.state(), RuntimeState::Pending, "state after setup");
    assert_eq!(rt.poll().unwrap(), None, "poll after setup");
    let r = rt
        .execute(ExecRequest::new(t.cmd(Fixture::ExitCode, &["3"])))
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::Exited { code: 3 });
    assert_eq!(&r.setup_stdout[..], b"setup-out");
    assert_eq!(
        rt.state(),
        RuntimeState::Exited {
            outcome: Outcome::Exited { code: 3 }
        }
    );
    assert_eq!(rt.poll().unwrap(), Some(Outcome::Exited { code: 3 }));
    s.close().await.unwrap();
}

/// `kill()` returns only once every running command has stopped: when it returns, the state
/// is `Killed`, `poll()` says so, and the stream's result is already there.
pub async fn kill_returns_once_the_command_stopped(t: &Target) {
    let (s, rt) = t.spawn("").await;
    let cmd = t.cmd(Fixture::Spin, &[]);
    let execution = rt
        .stream(ExecRequest::new(cmd).timeout(Duration::from_secs(60)))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while rt.state() != RuntimeState::Running {
        assert!(Instant::now() < deadline, "never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    rt.kill().await.unwrap();
    assert_eq!(
        rt.state(),
        RuntimeState::Killed,
        "state when kill() returned"
    );
    assert_eq!(rt.poll().unwrap(), Some(Outcome::Killed));
    let r = tokio::time::timeout(Duration::from_millis(50), execution.wait())
        .await
        .expect("the result was not ready when kill() returned")
        .unwrap();
    assert_eq!(r.outcome, Outcome::Killed);
    s.close().await.unwrap();
}

/// A call's timeout replaces `limits.timeout`, longer or shorter; without one the spec's
/// applies. `usage.deadline` reports the one used.
pub async fn call_timeout_beats_the_spec_timeout(t: &Target) {
    let (s, rt) = t.spawn("limits: { timeout: 300ms }\n").await;
    // Load the module first (see `spin_sleep_and_blocked_stdin_time_out`).
    let warm = rt
        .execute(ExecRequest::new(t.cmd(Fixture::SlowWriter, &["1", "0"])))
        .await
        .unwrap();
    assert_eq!(warm.outcome, Outcome::Exited { code: 0 }, "warm-up");
    let slow = || ExecRequest::new(t.cmd(Fixture::SlowWriter, &["8", "100"]));

    let spec_only = rt.execute(slow()).await.unwrap();
    assert_eq!(spec_only.outcome, Outcome::TimedOut, "the spec's 300 ms");
    assert_eq!(spec_only.usage.deadline, Some(Duration::from_millis(300)));

    let longer = rt
        .execute(slow().timeout(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(
        longer.outcome,
        Outcome::Exited { code: 0 },
        "a call's 5 s beats the spec's 300 ms: {}",
        longer.stderr_text()
    );
    assert_eq!(longer.usage.deadline, Some(Duration::from_secs(5)));

    let start = Instant::now();
    let shorter = rt
        .execute(slow().timeout(Duration::from_millis(100)))
        .await
        .unwrap();
    assert_eq!(shorter.outcome, Outcome::TimedOut, "a call's 100 ms");
    assert_eq!(shorter.usage.deadline, Some(Duration::from_millis(100)));
    assert!(
        start.elapsed() < Duration::from_millis(300) + t.slack,
        "the shorter call deadline was not used: {:?}",
        start.elapsed()
    );
    s.close().await.unwrap();
}

/// An `execute` whose future is dropped (a caller's own timeout) ends the command: the
/// runtime reads `Killed`, nothing of the command keeps running, and the runtime stays usable.
pub async fn a_cancelled_execute_ends_the_command(t: &Target) {
    let (s, rt) = t.spawn("").await;
    let marker = format!("cancelled-{}", std::process::id());
    let spin = ExecRequest::new(t.cmd(Fixture::Spin, &[&marker])).timeout(Duration::from_secs(60));
    let cancelled = tokio::time::timeout(Duration::from_millis(500), rt.execute(spin)).await;
    assert!(
        cancelled.is_err(),
        "the spin ended by itself: {cancelled:?}"
    );
    assert_eq!(
        rt.state(),
        RuntimeState::Killed,
        "state after a cancelled execute"
    );
    assert_eq!(rt.poll().unwrap(), Some(Outcome::Killed));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = t.processes_matching(rt.as_ref(), &marker).await;
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "still running: {left:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = rt
        .execute(ExecRequest::new(t.cmd(Fixture::ExitCode, &["0"])))
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::Exited { code: 0 });
    s.close().await.unwrap();
}
