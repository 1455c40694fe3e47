//! Exit codes, exact output, stdin, env, argv.

use std::time::Duration;

use subrun::{ExecRequest, Outcome, SpawnOptions};
use tokio::io::AsyncWriteExt as _;

use crate::Target;
use crate::fixtures::Fixture;

/// Exit statuses come back unchanged, as the outcome and as the exit code.
pub async fn exit_codes(t: &Target) {
    let (s, rt) = t.spawn("").await;
    for code in [0, 1, 3, 42, 125, 200, 255] {
        let r = rt
            .execute(ExecRequest::new(
                t.cmd(Fixture::ExitCode, &[&code.to_string()]),
            ))
            .await
            .unwrap();
        assert_eq!(
            r.outcome,
            Outcome::Exited { code },
            "exit {code}: {}",
            r.stderr_text()
        );
        assert_eq!(r.exit_code, code);
        assert_eq!(r.success(), code == 0);
        assert!(!r.timed_out);
    }
    s.close().await.unwrap();
}

/// stdout and stderr are the exact bytes written: no added newline, every byte value kept.
pub async fn output_is_exact_bytes(t: &Target) {
    let (s, rt) = t.spawn("").await;
    let r = rt
        .execute(ExecRequest::new(
            t.cmd(Fixture::WriteBytes, &["out put", "err\tor"]),
        ))
        .await
        .unwrap();
    assert_eq!(&r.stdout[..], b"out put");
    assert_eq!(&r.stderr[..], b"err\tor");
    let r = rt
        .execute(ExecRequest::new(
            t.cmd(Fixture::WriteBytes, &["--all-bytes"]),
        ))
        .await
        .unwrap();
    assert_eq!(r.stdout, (0..=255u8).collect::<Vec<_>>());
    assert!(r.stderr.is_empty());
    assert_eq!(r.usage.stdout_bytes, 256);
    s.close().await.unwrap();
}

/// Closed stdin reads as end-of-file; bytes come through unchanged; a live stream is read as
/// it is written, until it ends.
pub async fn stdin_closed_bytes_and_stream(t: &Target) {
    let (s, rt) = t.spawn("").await;
    let echo = t.cmd(Fixture::EchoStdin, &[]);
    let r = rt.execute(ExecRequest::new(echo.clone())).await.unwrap();
    assert_eq!(r.outcome, Outcome::Exited { code: 0 });
    assert!(r.stdout.is_empty());

    let payload: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let r = rt
        .execute(ExecRequest::new(echo.clone()).stdin(payload.clone()))
        .await
        .unwrap();
    assert_eq!(r.stdout.len(), payload.len());
    assert!(r.stdout == payload, "stdin bytes came back changed");

    let (mut tx, rx) = tokio::io::duplex(1024);
    let writer = tokio::spawn(async move {
        for i in 0..20 {
            tx.write_all(format!("line {i}\n").as_bytes())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Dropping the writer ends the stream.
    });
    let r = rt
        .execute(ExecRequest::new(echo).stdin_reader(rx))
        .await
        .unwrap();
    writer.await.unwrap();
    let expected: String = (0..20).map(|i| format!("line {i}\n")).collect();
    assert_eq!(r.stdout_text(), expected);
    s.close().await.unwrap();
}

/// spec < spawn < call; the host's environment is not visible unless asked for.
pub async fn env_precedence(t: &Target) {
    let (s, rt) = t
        .spawn_with(
            "environment: { env: { A: spec, B: spec, C: spec } }\n",
            SpawnOptions::new().env("B", "spawn").env("C", "spawn"),
        )
        .await;
    let r = rt
        .execute(
            ExecRequest::new(t.cmd(Fixture::PrintEnv, &["A", "B", "C", "CARGO_MANIFEST_DIR"]))
                .env("C", "call"),
        )
        .await
        .unwrap();
    assert_eq!(
        r.stdout_text(),
        "A=spec\nB=spawn\nC=call\nCARGO_MANIFEST_DIR unset\n"
    );
    s.close().await.unwrap();
}

/// `include_os_env: true` makes the host's variables the lowest layer.
pub async fn host_env_only_when_included(t: &Target) {
    let host =
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR for tests");
    let (s, rt) = t
        .spawn("environment: { include_os_env: true, env: { CARGO_PKG_NAME: from-spec } }\n")
        .await;
    let r =
        rt.execute(ExecRequest::new(
            t.cmd(Fixture::PrintEnv, &["CARGO_MANIFEST_DIR", "CARGO_PKG_NAME"]),
        ))
        .await
        .unwrap();
    assert_eq!(
        r.stdout_text(),
        format!("CARGO_MANIFEST_DIR={host}\nCARGO_PKG_NAME=from-spec\n")
    );
    s.close().await.unwrap();
}

/// Quoted arguments reach the program as the same words on every runtime.
pub async fn args_are_passed_verbatim(t: &Target) {
    let (s, rt) = t.spawn("").await;
    let args = ["a b", "c'd", "e\"f", "", "--flag=x y", "ünï"];
    let r = rt
        .execute(ExecRequest::new(t.cmd(Fixture::PrintArgs, &args)))
        .await
        .unwrap();
    let expected: String = args.iter().map(|a| format!("[{a}]\n")).collect();
    assert_eq!(r.stdout_text(), expected);
    s.close().await.unwrap();
}

/// A command that names nothing runnable exits 127 with a message, as a shell does.
pub async fn missing_command_exits_127(t: &Target) {
    let (s, rt) = t.spawn("").await;
    let r = rt
        .execute(ExecRequest::new("no-such-command-xyz --flag"))
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::Exited { code: 127 });
    assert_eq!(r.exit_code, 127);
    assert!(
        r.stderr_text().contains("no-such-command-xyz"),
        "{}",
        r.stderr_text()
    );
    s.close().await.unwrap();
}
