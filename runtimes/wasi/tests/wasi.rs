//! Runtime-level tests of the wasi runtime with small WAT guests. The cross-runtime behaviour
//! (exit codes, streaming, env, setup, confinement...) is covered by the conformance suite in
//! `tests/`; these pin down what only wasm has: traps, fuel, memory, epochs, entry ABIs.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use subrun::runtime::{RuntimeFactory, SpawnContext};
use subrun::spec::ResolvedSpec;
use subrun::{
    EnvironmentSpec, ExecRequest, Outcome, Resource, RuntimeError, RuntimeEvent, SubmissionRuntime,
    TrapKind,
};
use subrun_wasi::{WasiEngineConfig, WasiError, WasiRuntimeFactory};

fn factory() -> &'static WasiRuntimeFactory {
    static F: OnceLock<WasiRuntimeFactory> = OnceLock::new();
    F.get_or_init(|| {
        let mut cfg = WasiEngineConfig::default();
        cfg.cache_dir = None;
        WasiRuntimeFactory::new(cfg).unwrap()
    })
}

struct Rt {
    rt: Arc<dyn SubmissionRuntime>,
    dir: tempfile::TempDir,
}

async fn spawn(spec_yaml: &str, files: &[(&str, &str)]) -> Rt {
    spawn_with(factory(), spec_yaml, files).await
}

async fn spawn_with(factory: &WasiRuntimeFactory, spec_yaml: &str, files: &[(&str, &str)]) -> Rt {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    let spec = EnvironmentSpec::from_yaml_str(spec_yaml, "test.yaml", dir.path()).unwrap();
    factory.validate(&spec).unwrap();
    let resolved = ResolvedSpec::resolve(&spec, vec![], &|a| a.static_path()).unwrap();
    let ctx = SpawnContext::new(Arc::new(resolved), dir.path().to_path_buf());
    let rt = factory.spawn(ctx).await.unwrap();
    Rt { rt, dir }
}

const FD_WRITE: &str = r#"(import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))"#;
const PROC_EXIT: &str = r#"(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))"#;

fn hello() -> String {
    format!(
        r#"(module {FD_WRITE}
  (memory (export "memory") 1)
  (data (i32.const 8) "hello\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 8))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 20)))))"#
    )
}

fn exit_with(code: i32) -> String {
    format!(
        r#"(module {PROC_EXIT} (memory (export "memory") 1) (func (export "_start") (call $exit (i32.const {code}))))"#
    )
}

const SPIN: &str =
    r#"(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))"#;

const MEMORY_BOMB: &str = r#"(module (memory (export "memory") 1)
  (func (export "_start")
    (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable))"#;

const RECURSE: &str = r#"(module (memory (export "memory") 1)
  (func $r (call $r)) (func (export "_start") (call $r)))"#;

const SLEEP_FOREVER: &str = r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 1000000000000000000))
    (drop (call $poll (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 200)))))"#;

const READ_STDIN: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 10))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 20)))))"#;

fn flood() -> String {
    format!(
        r#"(module {FD_WRITE} (memory (export "memory") 2)
  (func (export "_start")
    (memory.fill (i32.const 1024) (i32.const 120) (i32.const 65536))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 65536))
    (loop $l (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))) (br $l))))"#
    )
}

const REACTOR: &str = r#"(module (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $g (i32.const 40)))
  (func (export "run") (result i32) (i32.add (global.get $g) (i32.const 2))))"#;

const BASIC: &str = "type: wasi\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_world_prints_exact_bytes() {
    let r = spawn(BASIC, &[("hello.wat", &hello())]).await;
    let res = r.rt.execute(ExecRequest::new("hello.wat")).await.unwrap();
    assert_eq!(res.outcome, Outcome::Exited { code: 0 });
    assert_eq!(&res.stdout[..], b"hello\n");
    assert!(res.stderr.is_empty());
    // The same module by absolute guest path, through the workdir and through `/`.
    for cmd in ["/workspace/hello.wat", "/hello.wat", "./hello.wat"] {
        let res = r.rt.execute(ExecRequest::new(cmd)).await.unwrap();
        assert_eq!(&res.stdout[..], b"hello\n", "{cmd}");
    }
    drop(r.dir);
}

/// Regression guard: `wasi.cwd` below the workdir is opened beneath the workspace at each
/// command, so a symlink the submission (or a setup command) left there cannot make `/` show a
/// host directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cwd_that_is_a_symlink_out_of_the_workspace_is_refused() {
    let spec = "type: wasi\nwasi: { cwd: /workspace/link }\n";
    let r = spawn(spec, &[("hello.wat", &hello())]).await;
    std::os::unix::fs::symlink("/etc", r.dir.path().join("link")).unwrap();
    let err =
        r.rt.execute(ExecRequest::new("/workspace/hello.wat"))
            .await
            .unwrap_err();
    assert!(
        anyhow_like(&err).contains("open the working directory `/workspace/link`"),
        "{}",
        anyhow_like(&err)
    );
    // A real directory there works, and `/` shows it.
    std::fs::remove_file(r.dir.path().join("link")).unwrap();
    std::fs::create_dir(r.dir.path().join("link")).unwrap();
    std::fs::write(r.dir.path().join("link/hello.wat"), hello()).unwrap();
    for cmd in ["hello.wat", "/hello.wat", "/workspace/link/hello.wat"] {
        let res = r.rt.execute(ExecRequest::new(cmd)).await.unwrap();
        assert_eq!(&res.stdout[..], b"hello\n", "{cmd}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proc_exit_codes_are_exit_codes() {
    for code in [0, 3, 125, 126, 200, 255] {
        let r = spawn(BASIC, &[("exit.wat", &exit_with(code))]).await;
        let res = r.rt.execute(ExecRequest::new("exit.wat")).await.unwrap();
        assert_eq!(res.outcome, Outcome::Exited { code }, "proc_exit({code})");
        assert_eq!(res.exit_code, code);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_commands_exit_127_and_shell_syntax_is_refused() {
    let r = spawn(BASIC, &[]).await;
    let res =
        r.rt.execute(ExecRequest::new("python main.py"))
            .await
            .unwrap();
    assert_eq!(res.outcome, Outcome::Exited { code: 127 });
    assert!(
        res.stderr_text().contains("python: command not found"),
        "{}",
        res.stderr_text()
    );
    let res =
        r.rt.execute(ExecRequest::new("missing.wasm"))
            .await
            .unwrap();
    assert_eq!(res.exit_code, 127);
    assert!(
        res.stderr_text().contains("missing.wasm: No such file"),
        "{}",
        res.stderr_text()
    );
    let err =
        r.rt.execute(ExecRequest::new("a.wasm && b.wasm"))
            .await
            .unwrap_err();
    assert!(matches!(err, RuntimeError::InvalidCommand { .. }), "{err}");
    assert!(
        format!("{:#}", anyhow_like(&err)).contains("operator `&&`"),
        "{}",
        anyhow_like(&err)
    );
}

fn anyhow_like(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spinning_sleeping_and_reading_guests_time_out_at_the_deadline() {
    let r = spawn(
        BASIC,
        &[
            ("spin.wat", SPIN),
            ("sleep.wat", SLEEP_FOREVER),
            ("read.wat", READ_STDIN),
        ],
    )
    .await;
    for cmd in ["spin.wat", "sleep.wat", "read.wat"] {
        let (_tx, rx) = tokio::io::duplex(16);
        let t = Instant::now();
        let res =
            r.rt.execute(
                ExecRequest::new(cmd)
                    .timeout(Duration::from_secs(1))
                    .stdin_reader(rx),
            )
            .await
            .unwrap();
        let took = t.elapsed();
        assert_eq!(res.outcome, Outcome::TimedOut, "{cmd}");
        assert_eq!(res.exit_code, 124);
        assert!(res.timed_out);
        assert!(
            took >= Duration::from_secs(1) && took < Duration::from_millis(1100),
            "{cmd} took {took:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bomb_is_a_memory_limit() {
    let r = spawn(
        "type: wasi\nlimits: { memory: 64MiB }\n",
        &[("bomb.wat", MEMORY_BOMB)],
    )
    .await;
    let res = r.rt.execute(ExecRequest::new("bomb.wat")).await.unwrap();
    assert_eq!(
        res.outcome,
        Outcome::ResourceExceeded {
            resource: Resource::Memory
        }
    );
    let peak = res.usage.peak_memory.unwrap();
    assert!(peak <= 64 << 20 && peak > 60 << 20, "peak {peak}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_recursion_is_a_stack_overflow_trap() {
    let r = spawn(BASIC, &[("r.wat", RECURSE)]).await;
    let res = r.rt.execute(ExecRequest::new("r.wat")).await.unwrap();
    assert_eq!(
        res.outcome,
        Outcome::Trapped {
            trap: TrapKind::StackOverflow
        }
    );
    assert_eq!(res.exit_code, 134);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_flood_is_capped_and_flagged() {
    let r = spawn(
        "type: wasi\nlimits: { output: 1MiB }\n",
        &[("flood.wat", &flood())],
    )
    .await;
    let res = r.rt.execute(ExecRequest::new("flood.wat")).await.unwrap();
    assert_eq!(
        res.outcome,
        Outcome::ResourceExceeded {
            resource: Resource::Output
        }
    );
    assert_eq!(res.stdout.len(), 1 << 20);
    assert!(res.stdout_truncated && !res.stderr_truncated);
    assert!(res.usage.stdout_bytes > 1 << 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_from_another_task_stops_a_spinning_guest_promptly() {
    let r = spawn(BASIC, &[("spin.wat", SPIN)]).await;
    let rt = r.rt.clone();
    let task = tokio::spawn(async move { rt.execute(ExecRequest::new("spin.wat")).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    r.rt.kill().await.unwrap();
    let res = task.await.unwrap().unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(50),
        "kill took {:?}",
        t.elapsed()
    );
    assert_eq!(res.outcome, Outcome::Killed);
    assert_eq!(res.exit_code, 137);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuel_budget_ends_a_spinning_guest_deterministically() {
    let r = spawn(
        "type: wasi\nlimits: { fuel: 1000000 }\n",
        &[("spin.wat", SPIN), ("hello.wat", &hello())],
    )
    .await;
    let res = r.rt.execute(ExecRequest::new("spin.wat")).await.unwrap();
    assert_eq!(
        res.outcome,
        Outcome::ResourceExceeded {
            resource: Resource::Fuel
        }
    );
    assert_eq!(res.usage.fuel_consumed, Some(1_000_000));
    let a = r.rt.execute(ExecRequest::new("hello.wat")).await.unwrap();
    let b = r.rt.execute(ExecRequest::new("hello.wat")).await.unwrap();
    assert!(a.usage.fuel_consumed.unwrap() > 0);
    assert_eq!(a.usage.fuel_consumed, b.usage.fuel_consumed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactors_call_initialize_then_run() {
    let r = spawn(BASIC, &[("react.wat", REACTOR)]).await;
    let res = r.rt.execute(ExecRequest::new("react.wat")).await.unwrap();
    assert_eq!(res.outcome, Outcome::Exited { code: 42 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_without_an_entry_point_is_a_precise_error() {
    let r = spawn(
        BASIC,
        &[
            ("lib.wat", "(module (func (export \"f\")))"),
            ("bad.wasm", "not wasm"),
        ],
    )
    .await;
    let err = r.rt.execute(ExecRequest::new("lib.wat")).await.unwrap_err();
    assert!(
        anyhow_like(&err).contains("exports neither `_start"),
        "{}",
        anyhow_like(&err)
    );
    let err =
        r.rt.execute(ExecRequest::new("bad.wasm"))
            .await
            .unwrap_err();
    assert!(
        anyhow_like(&err).contains("cannot compile module `bad.wasm`"),
        "{}",
        anyhow_like(&err)
    );
    let imports = r#"(module (import "env" "nope" (func)) (func (export "_start")))"#;
    std::fs::write(r.dir.path().join("imp.wat"), imports).unwrap();
    let err = r.rt.execute(ExecRequest::new("imp.wat")).await.unwrap_err();
    assert!(
        anyhow_like(&err).contains("env::nope"),
        "{}",
        anyhow_like(&err)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_delivers_chunks_then_one_finished() {
    let r = spawn(BASIC, &[("hello.wat", &hello())]).await;
    for _ in 0..200 {
        let mut exec = r.rt.stream(ExecRequest::new("hello.wat")).await.unwrap();
        let mut out = Vec::new();
        let mut finished = 0;
        while let Some(ev) = exec.next_event().await {
            match ev {
                RuntimeEvent::Stdout(b) => out.extend_from_slice(&b),
                RuntimeEvent::Finished(res) => {
                    finished += 1;
                    assert_eq!(res.stdout, out);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(finished, 1);
        assert_eq!(out, b"hello\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_executions_run_concurrently() {
    let r = spawn(BASIC, &[("hello.wat", &hello())]).await;
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let rt = r.rt.clone();
        tasks.push(tokio::spawn(async move {
            rt.execute(ExecRequest::new("hello.wat")).await
        }));
    }
    for t in tasks {
        let res = t.await.unwrap().unwrap();
        assert_eq!(&res.stdout[..], b"hello\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_after_cleanup_are_errors_and_cleanup_is_idempotent() {
    let r = spawn(BASIC, &[("hello.wat", &hello())]).await;
    r.rt.cleanup().await.unwrap();
    r.rt.cleanup().await.unwrap();
    r.rt.kill().await.unwrap();
    assert!(matches!(
        r.rt.execute(ExecRequest::new("hello.wat")).await,
        Err(RuntimeError::CleanedUp { .. })
    ));
    assert!(matches!(r.rt.poll(), Err(RuntimeError::CleanedUp { .. })));
}

/// A factory whose engine compiles at most `max_module_bytes` and for at most `budget`.
fn bounded_factory(max_module_bytes: u64, budget: Duration) -> WasiRuntimeFactory {
    let mut cfg = WasiEngineConfig::default();
    cfg.cache_dir = None;
    cfg.pool_slots = 4;
    cfg.max_module_bytes = max_module_bytes;
    cfg.compile_timeout = budget;
    WasiRuntimeFactory::new(cfg).unwrap()
}

/// A module Cranelift takes a while to compile: `functions` functions of `body` dependent
/// operations each.
fn slow_to_compile(functions: usize, body: usize) -> String {
    let mut wat = String::from("(module (memory (export \"memory\") 1)\n");
    for f in 0..functions {
        wat.push_str(&format!(
            "(func $f{f} (param i32) (result i32) local.get 0\n"
        ));
        for i in 0..body {
            wat.push_str(&format!("i32.const {i} i32.add i32.const 7 i32.xor\n"));
        }
        wat.push_str(")\n");
    }
    wat.push_str("(func (export \"_start\")))\n");
    wat
}

/// Regression (hardening round 2): a module of any size was read and compiled; a generated
/// 30 MB one took 11 s and 617 MB. Past `max_module_bytes` it is now refused from its size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_over_the_size_bound_is_refused_before_it_is_read() {
    let f = bounded_factory(4096, Duration::from_secs(120));
    let big = format!("{};; {}\n", hello(), "x".repeat(8192));
    let r = spawn_with(&f, BASIC, &[("big.wat", &big), ("hello.wat", &hello())]).await;
    let err = r.rt.execute(ExecRequest::new("big.wat")).await.unwrap_err();
    let msg = anyhow_like(&err);
    assert!(
        msg.contains("module `big.wat` is")
            && msg.contains("more than the 4096 bytes the engine compiles (max_module_bytes)"),
        "{msg}"
    );
    let ok = r.rt.execute(ExecRequest::new("hello.wat")).await.unwrap();
    assert_eq!(ok.outcome, Outcome::Exited { code: 0 });
}

/// Regression (hardening round 2): compilation was outside every limit (11.2 s under a 1 s
/// timeout). Past `compile_timeout` the execution now fails at once, naming the budget, and
/// the runtime keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compilation_over_its_budget_fails_the_execution() {
    let f = bounded_factory(256 << 20, Duration::from_millis(100));
    let slow = slow_to_compile(1_000, 300);
    let r = spawn_with(&f, BASIC, &[("slow.wat", &slow), ("hello.wat", &hello())]).await;
    let started = Instant::now();
    let err =
        r.rt.execute(ExecRequest::new("slow.wat"))
            .await
            .unwrap_err();
    let took = started.elapsed();
    let msg = anyhow_like(&err);
    assert!(
        msg.contains("did not compile within the compile budget of 100ms (compile_timeout)"),
        "{msg}"
    );
    assert!(took < Duration::from_secs(2), "failed only after {took:?}");
    let ok = r.rt.execute(ExecRequest::new("hello.wat")).await.unwrap();
    assert_eq!(ok.outcome, Outcome::Exited { code: 0 });
}

/// Regression (hardening round 2): `open_files: null` let one guest take 19,984 of the host
/// process's 20,000 descriptors. wasi now needs a number, at most half the process limit.
#[test]
fn open_files_must_be_a_bounded_number_on_wasi() {
    let dir = tempfile::tempdir().unwrap();
    for (limits, expected) in [
        ("{ open_files: null }", "the wasi runtime needs a number"),
        (
            "{ open_files: 1000000000 }",
            "half of this process's descriptor limit",
        ),
    ] {
        let yaml = format!("type: wasi\nlimits: {limits}\n");
        let spec = EnvironmentSpec::from_yaml_str(&yaml, "test.yaml", dir.path()).unwrap();
        let err = factory().validate(&spec).unwrap_err().to_string();
        assert!(
            err.contains("limits.open_files") && err.contains(expected),
            "{limits}: {err}"
        );
    }
    let spec = EnvironmentSpec::from_yaml_str(
        "type: wasi\nlimits: { open_files: 64 }\n",
        "t.yaml",
        dir.path(),
    )
    .unwrap();
    factory().validate(&spec).unwrap();
}

/// A load failure reaches the engine as `RuntimeError::Backend` whose source is the typed
/// `WasiError`, with wasmtime's error (not its text) as the next cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_failure_is_a_wasi_error_with_wasmtimes_error_as_its_source() {
    let imports = r#"(module (import "env" "nope" (func)) (func (export "_start")))"#;
    let r = spawn(BASIC, &[("bad.wasm", "not wasm"), ("imp.wat", imports)]).await;
    for (cmd, top) in [
        ("bad.wasm", "cannot compile module `bad.wasm`"),
        ("imp.wat", "cannot link module `imp.wat`"),
    ] {
        let err = r.rt.execute(ExecRequest::new(cmd)).await.unwrap_err();
        let RuntimeError::Backend { operation, source } = &err else {
            panic!("{cmd}: expected a backend error, got {err:?}");
        };
        assert_eq!(operation, "load the module");
        let wasi = source
            .downcast_ref::<WasiError>()
            .unwrap_or_else(|| panic!("{cmd}: the source is not a WasiError: {source:?}"));
        assert!(
            matches!(wasi, WasiError::Compile { .. } | WasiError::Link { .. }),
            "{wasi:?}"
        );
        assert_eq!(wasi.to_string(), top);
        let cause = std::error::Error::source(wasi).expect("wasmtime's error is kept");
        assert!(!top.contains(&cause.to_string()), "{top:?} repeats {cause}");
    }

    // Refusals without a cause to keep: a directory, a precompiled artifact.
    std::fs::create_dir(r.dir.path().join("dir.wasm")).unwrap();
    let cwasm = wasmtime::Engine::default()
        .precompile_module(hello().as_bytes())
        .unwrap();
    std::fs::write(r.dir.path().join("pre.wasm"), cwasm).unwrap();
    for (cmd, top) in [
        ("dir.wasm", "module `dir.wasm` is not a regular file"),
        (
            "pre.wasm",
            "module `pre.wasm` is a precompiled artifact; pass the .wasm or .wat source",
        ),
    ] {
        let err = r.rt.execute(ExecRequest::new(cmd)).await.unwrap_err();
        assert_eq!(anyhow_like(&err), format!("load the module failed: {top}"));
    }
}
