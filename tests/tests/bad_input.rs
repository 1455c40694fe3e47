//! Bad modules on the `wasi` runtime: a missing, corrupt or truncated module, one that imports
//! what the runtime does not provide (or with the wrong type), and one without an entry point.
//! Each gives a precise answer that names the module (an error, or exit 127 for a missing file
//! as a shell gives), changes nothing in the workspace, and leaves the runtime able to run the
//! next command.

#![expect(
    clippy::unwrap_used,
    reason = "test setup failures should abort the test"
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use subrun::{ExecRequest, Outcome, Session, SubmissionRuntime};
use subrun_tests::target::chain;
use subrun_tests::{Kind, Target, block_on, fixtures};

/// `path -> content` of every file under `root` (directories as `<dir>`).
fn listing(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                out.insert(rel, b"<dir>".to_vec());
                stack.push(path);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// A wasi session with `files` written into its workspace, and one runtime.
async fn session_with_files(
    extra: &str,
    files: &[(&str, &[u8])],
) -> (Session, Arc<dyn SubmissionRuntime>) {
    let target = Target::get(Kind::Wasi).await;
    let (session, rt) = target.spawn(extra).await;
    for (path, content) in files {
        session.workspace().write_file(path, content).unwrap();
    }
    (session, rt)
}

/// Runs `command`, which must fail with an error whose text (with its sources) contains every
/// one of `expected`; checks the workspace did not change and the runtime still runs a good
/// module afterwards.
async fn refused(session: &Session, rt: &dyn SubmissionRuntime, command: &str, expected: &[&str]) {
    let before = listing(session.workspace().path());
    let err = match rt.execute(ExecRequest::new(command)).await {
        Err(e) => chain(&e),
        Ok(r) => panic!(
            "`{command}` ran: {:?}, stderr {:?}",
            r.outcome,
            r.stderr_text()
        ),
    };
    for e in expected {
        assert!(err.contains(e), "`{command}`: {err:?} does not say {e:?}");
    }
    assert_eq!(
        listing(session.workspace().path()),
        before,
        "`{command}` changed the workspace"
    );
    let ok = rt.execute(ExecRequest::new("ok.wat")).await.unwrap();
    assert_eq!(
        ok.outcome,
        Outcome::Exited { code: 0 },
        "the runtime is broken after `{command}`"
    );
}

const OK: &[u8] = br#"(module (func (export "_start")))"#;

#[test]
fn a_corrupt_or_truncated_module_is_an_error_naming_it() {
    block_on(async {
        let real = std::fs::read_dir(fixtures::WASM_DIR)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "wasm"))
            .expect("a built wasm fixture");
        let bytes = std::fs::read(&real).unwrap();
        let (session, rt) = session_with_files(
            "",
            &[
                ("ok.wat", OK),
                ("text.wasm", b"this is not a module\n"),
                (
                    "garbage.wasm",
                    b"\0asm\x01\0\0\0\x01\xff\xff\xff\xff\x0fgarbage",
                ),
                ("half.wasm", &bytes[..bytes.len() / 2]),
                ("broken.wat", b"(module (func (export \"_start\")"),
            ],
        )
        .await;
        for (cmd, what) in [
            ("text.wasm", "text.wasm"),
            ("garbage.wasm", "garbage.wasm"),
            ("half.wasm", "half.wasm"),
            ("broken.wat", "broken.wat"),
        ] {
            refused(&session, rt.as_ref(), cmd, &["cannot compile module", what]).await;
        }
        session.close().await.unwrap();
    });
}

#[test]
fn a_missing_module_exits_127_naming_it_as_a_shell_would() {
    block_on(async {
        let (session, rt) = session_with_files("", &[("ok.wat", OK)]).await;
        let before = listing(session.workspace().path());
        let r = rt
            .execute(ExecRequest::new("missing.wasm --flag"))
            .await
            .unwrap();
        assert_eq!(r.outcome, Outcome::Exited { code: 127 });
        assert!(
            r.stderr_text().contains("missing.wasm"),
            "{}",
            r.stderr_text()
        );
        assert_eq!(listing(session.workspace().path()), before);
        session.close().await.unwrap();
    });
}

#[test]
fn a_program_whose_module_is_missing_or_corrupt_names_the_module() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("corrupt.wasm"), b"\0asm garbage").unwrap();
        let spec_before = listing(dir.path());
        let extra = format!(
            "wasi: {{ programs: {{ gone: {{ module: \"{0}/gone.wasm\" }}, bad: {{ module: \"{0}/corrupt.wasm\" }} }} }}\n",
            dir.path().display()
        );
        let (session, rt) = session_with_files(&extra, &[("ok.wat", OK)]).await;
        refused(
            &session,
            rt.as_ref(),
            "bad input.txt",
            &["cannot compile module", "corrupt.wasm"],
        )
        .await;
        let before = listing(session.workspace().path());
        match rt.execute(ExecRequest::new("gone")).await {
            Err(e) => assert!(chain(&e).contains("gone.wasm"), "{}", chain(&e)),
            Ok(r) => {
                assert_eq!(r.outcome, Outcome::Exited { code: 127 });
                assert!(r.stderr_text().contains("gone.wasm"), "{}", r.stderr_text());
            }
        }
        assert_eq!(listing(session.workspace().path()), before);
        assert_eq!(
            listing(dir.path()),
            spec_before,
            "the module directory changed"
        );
        session.close().await.unwrap();
    });
}

#[test]
fn a_module_importing_what_the_runtime_does_not_provide_names_the_import() {
    block_on(async {
        let (session, rt) = session_with_files(
            "",
            &[
                ("ok.wat", OK),
                (
                    "missiles.wat",
                    br#"(module (import "env" "launch_missiles" (func)) (func (export "_start")))"#,
                ),
                (
                    "sockets.wat",
                    br#"(module (import "wasi_snapshot_preview1" "sock_open" (func (param i32 i32 i32) (result i32))) (func (export "_start")))"#,
                ),
                (
                    "wrong-type.wat",
                    br#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i64))) (func (export "_start")))"#,
                ),
            ],
        )
        .await;
        refused(
            &session,
            rt.as_ref(),
            "missiles.wat",
            &["cannot link module", "missiles.wat", "launch_missiles"],
        )
        .await;
        refused(
            &session,
            rt.as_ref(),
            "sockets.wat",
            &["cannot link module", "sockets.wat", "sock_open"],
        )
        .await;
        refused(
            &session,
            rt.as_ref(),
            "wrong-type.wat",
            &["cannot link module", "wrong-type.wat", "fd_write"],
        )
        .await;
        session.close().await.unwrap();
    });
}

#[test]
fn a_module_without_an_entry_point_names_the_entry_points_expected() {
    block_on(async {
        let (session, rt) = session_with_files(
            "",
            &[
                ("ok.wat", OK),
                ("no-entry.wat", br#"(module (func (export "main")))"#),
                (
                    "start-global.wat",
                    br#"(module (global (export "_start") i32 (i32.const 0)))"#,
                ),
                ("run-memory.wat", br#"(module (memory (export "run") 1))"#),
            ],
        )
        .await;
        for cmd in ["no-entry.wat", "start-global.wat", "run-memory.wat"] {
            refused(
                &session,
                rt.as_ref(),
                cmd,
                &[
                    "enter module",
                    cmd,
                    "exports neither `_start: () -> ()` (a WASI command) nor `run: () -> i32` (a reactor)",
                ],
            )
            .await;
        }
        session.close().await.unwrap();
    });
}
