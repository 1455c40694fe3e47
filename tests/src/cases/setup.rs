//! Setup commands: once, in order, before the first command, with their output kept apart.

use subrun::{Error, ExecRequest, Outcome, RuntimeError, SpawnOptions};

use crate::Target;
use crate::fixtures::Fixture;

/// `setup.commands`, then `eval_commands` (evaluation mode), then the spawn's extra command,
/// each once; the first result carries their output, later results do not, and no command's
/// output mixes with it.
pub async fn setup_runs_once_in_order_and_apart(t: &Target) {
    let append = |line: &str| t.cmd(Fixture::FileOps, &["append", "setup.log", line]);
    let extra = format!(
        "setup:\n  commands: [{:?}, {:?}]\n  eval_commands: [{:?}]\n  resume_commands: [{:?}]\n",
        t.cmd(Fixture::WriteBytes, &["setup-out", "setup-err"]),
        append("one"),
        append("two"),
        append("resume-should-not-run"),
    );
    let (s, rt) = t
        .spawn_with(&extra, SpawnOptions::new().extra_setup(append("three")))
        .await;
    let read = t.cmd(Fixture::FileOps, &["read", "setup.log"]);
    let first = rt.execute(ExecRequest::new(read.clone())).await.unwrap();
    assert_eq!(first.stdout_text(), "one\ntwo\nthree\n");
    assert_eq!(&first.setup_stdout[..], b"setup-out");
    assert_eq!(&first.setup_stderr[..], b"setup-err");
    assert!(first.stderr.is_empty());
    let second = rt.execute(ExecRequest::new(read)).await.unwrap();
    assert_eq!(second.stdout_text(), "one\ntwo\nthree\n", "setup ran again");
    assert!(second.setup_stdout.is_empty() && second.setup_stderr.is_empty());
    s.close().await.unwrap();
}

/// A failing setup command fails the spawn with an error that carries its output.
pub async fn failing_setup_fails_spawn_with_its_output(t: &Target) {
    let extra = format!(
        "setup:\n  commands: [{:?}, {:?}, {:?}]\n",
        t.cmd(Fixture::WriteBytes, &["before-failure", "warn"]),
        t.cmd(Fixture::ExitCode, &["7"]),
        t.cmd(Fixture::WriteBytes, &["never", ""]),
    );
    let s = t.session_with(&extra, |b| b).await;
    let err = s
        .spawn(SpawnOptions::new())
        .await
        .err()
        .expect("spawn must fail");
    match &err {
        Error::Runtime(RuntimeError::SetupFailed { command, result }) => {
            assert!(command.contains("exit_code"), "{command}");
            assert_eq!(result.outcome, Outcome::Exited { code: 7 });
            assert_eq!(&result.setup_stdout[..], b"before-failure");
            assert_eq!(&result.setup_stderr[..], b"warn");
        }
        other => panic!("expected SetupFailed, got {other:?}"),
    }
    assert!(
        err.to_string().contains("before-failure"),
        "the message carries the output: {err}"
    );
    s.close().await.unwrap();
}
