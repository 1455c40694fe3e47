//! The `local` runtime against real processes in a real (temporary) workspace.

#![expect(
    clippy::unwrap_used,
    reason = "a test that cannot set itself up should fail loudly"
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use subrun::runtime::{ResolvedAsset, RuntimeFactory, SpawnContext};
use subrun::spec::ResolvedSpec;
use subrun::{
    EnvironmentSpec, ExecRequest, Mount, Outcome, PortBinding, Resource, RuntimeError,
    RuntimeEvent, RuntimeResult, RuntimeState, SubmissionRuntime, exit_code,
};
use subrun_local::LocalRuntimeFactory;
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// helpers

fn spec(yaml: &str) -> EnvironmentSpec {
    EnvironmentSpec::from_yaml_str(&format!("type: local\n{yaml}"), "<test>", ".").unwrap()
}

fn context(spec: &EnvironmentSpec, assets: Vec<ResolvedAsset>, dir: &Path) -> SpawnContext {
    let factory = LocalRuntimeFactory::new();
    let resolved = ResolvedSpec::resolve(spec, assets, &|a| factory.asset_path(a)).unwrap();
    SpawnContext::new(Arc::new(resolved), dir.to_path_buf())
}

async fn spawn_ctx(ctx: SpawnContext) -> Result<Arc<dyn SubmissionRuntime>, RuntimeError> {
    LocalRuntimeFactory::new().spawn(ctx).await
}

/// A runtime for `yaml` (after `type: local`) in a fresh workspace.
async fn runtime(yaml: &str) -> (TempDir, Arc<dyn SubmissionRuntime>) {
    let dir = TempDir::new().unwrap();
    let rt = spawn_ctx(context(&spec(yaml), vec![], dir.path()))
        .await
        .unwrap();
    (dir, rt)
}

async fn run(rt: &dyn SubmissionRuntime, command: &str) -> RuntimeResult {
    rt.execute(ExecRequest::new(command)).await.unwrap()
}

/// Pids of live (not zombie) processes in process group `pgid`, or whose command line
/// contains `marker`.
fn live_processes(pgid: i32, marker: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp ...`; comm may contain spaces, so split after `)`.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() == Some(&"Z") {
            continue;
        }
        let in_group = fields.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid);
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let has_marker = String::from_utf8_lossy(&cmdline).contains(marker);
        if in_group || has_marker {
            found.push(pid);
        }
    }
    found
}

/// Waits (at most 2 s: SIGKILL is delivered asynchronously) until nothing of the group or
/// with `marker` in its command line is alive; returns what is still alive.
async fn leftovers(pgid: i32, marker: &str) -> Vec<i32> {
    let until = Instant::now() + Duration::from_secs(2);
    loop {
        let live = live_processes(pgid, marker);
        if live.is_empty() || Instant::now() > until {
            return live;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The first line of stdout as a pid (commands below start with `echo $$`).
fn first_pid(stdout: &[u8]) -> i32 {
    String::from_utf8_lossy(stdout)
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Collects a stream's events: (stdout chunks joined, stderr chunks joined, finished results,
/// whether `Finished` was last).
async fn collect(mut execution: subrun::Execution) -> (Vec<u8>, Vec<u8>, Vec<RuntimeResult>, bool) {
    let (mut out, mut err, mut finished) = (Vec::new(), Vec::new(), Vec::new());
    let mut finished_last = false;
    while let Some(event) = execution.next().await {
        finished_last = false;
        match event {
            RuntimeEvent::Stdout(b) => out.extend_from_slice(&b),
            RuntimeEvent::Stderr(b) => err.extend_from_slice(&b),
            RuntimeEvent::Finished(r) => {
                finished.push(*r);
                finished_last = true;
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    (out, err, finished, finished_last)
}

/// Waits for the stream's next stdout chunk.
async fn next_stdout(execution: &mut subrun::Execution) -> Vec<u8> {
    loop {
        match execution.next_event().await.unwrap() {
            RuntimeEvent::Stdout(b) => return b.to_vec(),
            RuntimeEvent::Stderr(_) => {}
            other => panic!("expected output, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// output and exit codes

#[tokio::test]
async fn stdout_and_stderr_are_the_exact_bytes_written() {
    let (_dir, rt) = runtime("").await;
    let r = run(
        &*rt,
        r"printf 'a\000b\377'; printf 'to err' >&2; printf 'c'",
    )
    .await;
    assert_eq!(r.outcome, Outcome::Exited { code: 0 });
    assert_eq!(r.exit_code, 0);
    assert_eq!(&r.stdout[..], b"a\0b\xffc");
    assert_eq!(&r.stderr[..], b"to err");
    assert!(!r.stdout_truncated && !r.stderr_truncated && !r.timed_out);
    assert_eq!((r.usage.stdout_bytes, r.usage.stderr_bytes), (5, 6));
    assert_eq!(r.usage.deadline, Some(Duration::from_secs(10)));
    assert_eq!(r.usage.wall_time, r.elapsed);
}

#[tokio::test]
async fn exit_codes_read_like_a_shell() {
    let (_dir, rt) = runtime("").await;
    let r = run(&*rt, "echo partial; exit 3").await;
    assert_eq!(
        (r.outcome.clone(), r.exit_code),
        (Outcome::Exited { code: 3 }, 3)
    );
    assert_eq!(r.stdout_text(), "partial\n");

    let r = run(&*rt, "no-such-command-subrun-test").await;
    assert_eq!(
        r.outcome,
        Outcome::Exited {
            code: exit_code::NOT_FOUND
        }
    );
    assert_eq!(r.exit_code, 127);
    assert!(r.stderr_text().contains("not found"), "{}", r.stderr_text());

    let r = run(&*rt, "kill -SEGV $$").await;
    assert_eq!(
        r.outcome,
        Outcome::Signaled {
            signal: libc::SIGSEGV
        }
    );
    assert_eq!(r.exit_code, 128 + libc::SIGSEGV);

    let r = run(&*rt, "kill -TERM $$").await;
    assert_eq!(
        r.outcome,
        Outcome::Signaled {
            signal: libc::SIGTERM
        }
    );
    assert_eq!(r.exit_code, 143);
}

#[tokio::test]
async fn commands_run_in_the_workspace_through_a_shell() {
    let (dir, rt) = runtime("").await;
    let r = run(
        &*rt,
        "pwd; echo data > made.txt && cat made.txt | tr a-z A-Z",
    )
    .await;
    let pwd = dir.path().canonicalize().unwrap();
    assert_eq!(r.stdout_text(), format!("{}\nDATA\n", pwd.display()));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("made.txt")).unwrap(),
        "data\n"
    );
}

#[tokio::test]
async fn cpu_time_and_peak_memory_are_measured() {
    let (_dir, rt) = runtime("").await;
    let r = run(&*rt, "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done").await;
    assert!(r.success());
    assert!(
        r.usage.cpu_time.is_some_and(|t| t > Duration::ZERO),
        "{:?}",
        r.usage
    );
    assert!(r.usage.peak_memory.is_some_and(|m| m > 0), "{:?}", r.usage);
}

// ---------------------------------------------------------------------------------------------
// stdin

#[tokio::test]
async fn stdin_bytes_are_fed_then_closed() {
    let (_dir, rt) = runtime("").await;
    let r = rt
        .execute(ExecRequest::new("cat; echo end").stdin("hello\nworld"))
        .await
        .unwrap();
    assert_eq!(r.stdout_text(), "hello\nworldend\n");

    // More than a pipe holds in both directions: stdin and stdout must be pumped together.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let r = rt
        .execute(ExecRequest::new("cat").stdin(big.clone()))
        .await
        .unwrap();
    assert!(r.success());
    assert!(r.stdout == big, "{} bytes back", r.stdout.len());

    // A command that does not read its stdin is not an error.
    let r = rt
        .execute(ExecRequest::new("echo ignored").stdin(big))
        .await
        .unwrap();
    assert_eq!(r.stdout_text(), "ignored\n");
}

#[tokio::test]
async fn stdin_is_closed_by_default() {
    let (_dir, rt) = runtime("").await;
    let r = run(&*rt, "cat; echo eof").await;
    assert_eq!(r.stdout_text(), "eof\n");
}

#[tokio::test]
async fn a_live_stdin_reader_is_copied_as_the_command_reads() {
    use tokio::io::AsyncWriteExt as _;
    let (_dir, rt) = runtime("").await;
    let (mut writer, reader) = tokio::io::duplex(64);
    let mut execution = rt
        .stream(
            ExecRequest::new("read a; echo \"got $a\"; read b; echo \"got $b\"; cat")
                .stdin_reader(reader),
        )
        .await
        .unwrap();
    writer.write_all(b"one\n").await.unwrap();
    // The second line is only written after the command answered the first.
    assert_eq!(next_stdout(&mut execution).await, b"got one\n");
    writer.write_all(b"two\nrest").await.unwrap();
    drop(writer);
    let (out, _, finished, last) = collect(execution).await;
    assert!(last);
    let r = &finished[0];
    assert_eq!(r.stdout_text(), "got one\ngot two\nrest");
    assert_eq!(out, b"got two\nrest");
}

// ---------------------------------------------------------------------------------------------
// environment

#[tokio::test]
async fn env_precedence_is_spec_then_spawn_then_call_without_the_host() {
    let spec = spec("environment: { env: { A: spec, B: spec, C: spec } }");
    let dir = TempDir::new().unwrap();
    let mut ctx = context(&spec, vec![], dir.path());
    let spawn_env = BTreeMap::from([
        ("B".to_string(), "spawn".to_string()),
        ("C".to_string(), "spawn".to_string()),
    ]);
    ctx.env = subrun::runtime::base_env(&spec.environment, &spawn_env);
    let rt = spawn_ctx(ctx).await.unwrap();
    let r = rt
        .execute(
            ExecRequest::new(r#"printf '%s %s %s|%s' "$A" "$B" "$C" "$PATH""#).env("C", "call"),
        )
        .await
        .unwrap();
    assert_eq!(
        r.stdout_text(),
        "spec spawn call|/usr/local/bin:/usr/bin:/bin"
    );

    // Nothing of the host leaks: `env` lists only what was set (and what sh sets itself).
    assert!(
        std::env::var_os("HOME").is_some(),
        "the test needs HOME set on the host"
    );
    let r = run(&*rt, "env").await;
    let names: Vec<String> = r
        .stdout_text()
        .lines()
        .map(|l| l.split('=').next().unwrap().to_string())
        .collect();
    assert!(
        !names.iter().any(|n| n == "HOME"),
        "host env leaked: {names:?}"
    );
    for n in ["A", "B", "C", "PATH"] {
        assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
    }

    // A call-level PATH replaces the default.
    let r = rt
        .execute(ExecRequest::new(r#"printf %s "$PATH""#).env("PATH", "/bin"))
        .await
        .unwrap();
    assert_eq!(r.stdout_text(), "/bin");
}

#[tokio::test]
async fn include_os_env_brings_the_host_env_in() {
    let spec = spec("environment: { include_os_env: true, env: { HOME: from-spec } }");
    let dir = TempDir::new().unwrap();
    let mut ctx = context(&spec, vec![], dir.path());
    ctx.env = subrun::runtime::base_env(&spec.environment, &BTreeMap::new());
    let rt = spawn_ctx(ctx).await.unwrap();
    let host_path = std::env::var("PATH").unwrap();
    let r = run(&*rt, r#"printf '%s|%s' "$HOME" "$PATH""#).await;
    assert_eq!(r.stdout_text(), format!("from-spec|{host_path}"));
}

#[tokio::test]
async fn static_placeholders_render_to_the_host_path() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("assets").join("data.txt");
    std::fs::create_dir_all(data.parent().unwrap()).unwrap();
    std::fs::write(&data, "payload").unwrap();
    let asset = ResolvedAsset {
        name: "data".into(),
        host_path: data.clone(),
        save_path: "data.txt".into(),
        is_dir: false,
    };
    assert_eq!(
        LocalRuntimeFactory::new().asset_path(&asset),
        data.display().to_string()
    );
    // The spec's strings are rendered with the local asset path, so a setup command reads the
    // asset where it lies on the host.
    let spec = spec("setup: { commands: [\"cat {{static:data}}\"] }");
    let ws = TempDir::new().unwrap();
    let mut ctx = context(&spec, vec![asset], ws.path());
    ctx.setup_commands = ctx.spec.spec.setup.commands.clone();
    assert_eq!(ctx.setup_commands, [format!("cat {}", data.display())]);
    let rt = spawn_ctx(ctx).await.unwrap();
    let r = run(&*rt, "true").await;
    assert_eq!(&r.setup_stdout[..], b"payload");
}

// ---------------------------------------------------------------------------------------------
// setup

#[tokio::test]
async fn setup_runs_once_in_order_with_its_output_kept_apart() {
    let dir = TempDir::new().unwrap();
    let mut ctx = context(&spec(""), vec![], dir.path());
    ctx.setup_commands = vec![
        "echo one >> log; echo s1".into(),
        "echo two >> log; echo s2 >&2".into(),
    ];
    let rt = spawn_ctx(ctx).await.unwrap();
    assert_eq!(
        rt.state(),
        RuntimeState::Pending,
        "setup is not an execution"
    );
    assert_eq!(rt.poll().unwrap(), None);

    let first = run(&*rt, "cat log").await;
    assert_eq!(first.stdout_text(), "one\ntwo\n");
    assert_eq!(&first.setup_stdout[..], b"s1\n");
    assert_eq!(&first.setup_stderr[..], b"s2\n");
    assert_eq!(first.stderr_text(), "");

    let second = run(&*rt, "cat log").await;
    assert_eq!(second.stdout_text(), "one\ntwo\n", "setup ran again");
    assert!(second.setup_stdout.is_empty() && second.setup_stderr.is_empty());
}

#[tokio::test]
async fn a_failing_setup_fails_the_spawn_with_its_output() {
    let dir = TempDir::new().unwrap();
    let mut ctx = context(&spec(""), vec![], dir.path());
    ctx.setup_commands = vec![
        "echo before".into(),
        "echo bad >&2; exit 4".into(),
        "touch never-made".into(),
    ];
    let Err(err) = spawn_ctx(ctx).await else {
        panic!("spawn succeeded despite a failing setup command");
    };
    let message = err.to_string();
    let RuntimeError::SetupFailed { command, result } = err else {
        panic!("expected SetupFailed, got {message}");
    };
    assert_eq!(command, "echo bad >&2; exit 4");
    assert_eq!(result.outcome, Outcome::Exited { code: 4 });
    assert_eq!(&result.setup_stdout[..], b"before\n");
    assert_eq!(&result.setup_stderr[..], b"bad\n");
    assert!(message.contains("bad"), "{message}");
    assert!(
        !dir.path().join("never-made").exists(),
        "setup went on after a failure"
    );
}

// ---------------------------------------------------------------------------------------------
// deadlines, kills and process groups

#[tokio::test]
async fn a_timeout_ends_the_whole_group_and_keeps_the_output() {
    let (_dir, rt) = runtime("").await;
    let start = Instant::now();
    let r = rt
        .execute(
            ExecRequest::new("echo $$; sleep 31.7171 & sleep 31.7172; echo never")
                .timeout(Duration::from_secs(1)),
        )
        .await
        .unwrap();
    // The bound only shows that the deadline, not the 31 s sleeps, ended the call.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(r.outcome, Outcome::TimedOut);
    assert_eq!(r.exit_code, exit_code::TIMEOUT);
    assert!(r.timed_out);
    assert_eq!(r.usage.deadline, Some(Duration::from_secs(1)));
    let pgid = first_pid(&r.stdout);
    assert_eq!(r.stdout_text(), format!("{pgid}\n"));
    assert_eq!(leftovers(pgid, "31.717").await, Vec::<i32>::new());
}

#[tokio::test]
async fn a_group_that_ignores_sigterm_is_killed() {
    let (_dir, rt) = runtime("limits: { timeout: 500ms }").await;
    let r = run(
        &*rt,
        "trap '' TERM; echo $$; sleep 31.8181 & sleep 31.8182; echo never",
    )
    .await;
    assert_eq!(r.outcome, Outcome::TimedOut);
    assert_eq!(r.usage.deadline, Some(Duration::from_millis(500)));
    // Reaped (so it has a CPU time): SIGKILL ended it, the supervisor did not give up on it.
    assert!(r.usage.cpu_time.is_some(), "the leader was not reaped");
    let pgid = first_pid(&r.stdout);
    assert!(!r.stdout_text().contains("never"));
    assert_eq!(leftovers(pgid, "31.818").await, Vec::<i32>::new());
}

#[tokio::test]
async fn a_zero_timeout_is_a_deadline_already_passed() {
    let (_dir, rt) = runtime("").await;
    let r = rt
        .execute(ExecRequest::new("sleep 5").timeout(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::TimedOut);
    assert_eq!(r.usage.deadline, Some(Duration::ZERO));
}

#[tokio::test]
async fn background_jobs_do_not_outlive_their_command() {
    let (_dir, rt) = runtime("").await;
    let start = Instant::now();
    let r = run(&*rt, "echo $$; sleep 31.9191 & echo started").await;
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "waited for the background job"
    );
    assert_eq!(r.outcome, Outcome::Exited { code: 0 });
    let pgid = first_pid(&r.stdout);
    assert_eq!(r.stdout_text(), format!("{pgid}\nstarted\n"));
    assert_eq!(leftovers(pgid, "31.919").await, Vec::<i32>::new());
}

#[tokio::test]
async fn a_process_that_left_the_group_cannot_hang_the_call() {
    let (_dir, rt) = runtime("").await;
    let start = Instant::now();
    // `setsid` puts the sleep in a new session: it escapes the group and holds stdout open.
    let r = run(
        &*rt,
        "setsid sh -c 'echo $$; exec sleep 31.6161' & sleep 0.3; echo done",
    )
    .await;
    let escaped = first_pid(&r.stdout);
    // Clean up the escapee before asserting anything.
    let killed = rustix::process::kill_process(
        rustix::process::Pid::from_raw(escaped).unwrap(),
        rustix::process::Signal::KILL,
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the escapee held the call"
    );
    assert!(
        killed.is_ok(),
        "the escaped process was expected to still run: {killed:?}"
    );
    assert_eq!(r.outcome, Outcome::Exited { code: 0 });
    assert_eq!(r.stdout_text(), format!("{escaped}\ndone\n"));
    assert_eq!(leftovers(escaped, "31.6161").await, Vec::<i32>::new());
}

#[tokio::test]
async fn kill_from_another_task_ends_the_execution_and_keeps_its_output() {
    let (_dir, rt) = runtime("").await;
    let mut execution = rt
        .stream(ExecRequest::new("echo $$; sleep 31.5151; echo never"))
        .await
        .unwrap();
    let pgid = first_pid(&next_stdout(&mut execution).await);
    assert_eq!(rt.state(), RuntimeState::Running);
    assert_eq!(rt.poll().unwrap(), None);
    let waiter = tokio::spawn(execution.wait());
    let killer = {
        let rt = rt.clone();
        tokio::spawn(async move { rt.kill().await })
    };
    killer.await.unwrap().unwrap();
    // `kill` returns once the execution has finished.
    assert_eq!(rt.state(), RuntimeState::Killed);
    assert_eq!(rt.poll().unwrap(), Some(Outcome::Killed));
    let r = waiter.await.unwrap().unwrap();
    assert_eq!(r.outcome, Outcome::Killed);
    assert_eq!(r.exit_code, exit_code::KILLED);
    assert_eq!(r.stdout_text(), format!("{pgid}\n"));
    assert_eq!(leftovers(pgid, "31.5151").await, Vec::<i32>::new());

    // The runtime is still usable after a kill.
    assert!(run(&*rt, "true").await.success());
}

#[tokio::test]
async fn an_execution_control_kills_one_execution() {
    let (_dir, rt) = runtime("").await;
    let mut slow = rt
        .stream(ExecRequest::new("echo $$; sleep 31.4141"))
        .await
        .unwrap();
    let pgid = first_pid(&next_stdout(&mut slow).await);
    slow.control().kill();
    let r = slow.wait().await.unwrap();
    assert_eq!(r.outcome, Outcome::Killed);
    assert_eq!(leftovers(pgid, "31.4141").await, Vec::<i32>::new());
}

#[tokio::test]
async fn dropping_a_stream_or_the_runtime_kills_the_group() {
    let (_dir, rt) = runtime("").await;
    let mut execution = rt
        .stream(ExecRequest::new("echo $$; sleep 31.3131"))
        .await
        .unwrap();
    let pgid = first_pid(&next_stdout(&mut execution).await);
    drop(execution);
    assert_eq!(leftovers(pgid, "31.3131").await, Vec::<i32>::new());

    let mut execution = rt
        .stream(ExecRequest::new("echo $$; sleep 31.3232"))
        .await
        .unwrap();
    let pgid = first_pid(&next_stdout(&mut execution).await);
    drop(rt);
    assert_eq!(leftovers(pgid, "31.3232").await, Vec::<i32>::new());
    drop(execution);
}

#[tokio::test]
async fn a_cancelled_execute_kills_the_group() {
    let (dir, rt) = runtime("").await;
    let pgid_file = dir.path().join("pgid");
    let task = {
        let rt = rt.clone();
        tokio::spawn(async move {
            rt.execute(ExecRequest::new(
                "echo $$ > pgid.tmp; mv pgid.tmp pgid; sleep 31.2121",
            ))
            .await
        })
    };
    while !pgid_file.exists() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(rt.state(), RuntimeState::Running);
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let pgid: i32 = std::fs::read_to_string(&pgid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(leftovers(pgid, "31.2121").await, Vec::<i32>::new());
    assert_ne!(rt.state(), RuntimeState::Running);
}

#[tokio::test]
async fn many_executions_run_concurrently_on_one_runtime() {
    let (_dir, rt) = runtime("limits: { timeout: 20s }").await;
    // Each command waits until all eight have started: only concurrent runs can finish.
    let results = futures::future::join_all((0..8).map(|i| {
        rt.execute(ExecRequest::new(format!(
            "touch started.{i}; while [ $(ls started.* | wc -l) -lt 8 ]; do sleep 0.02; done; echo {i}"
        )))
    }))
    .await;
    for (i, r) in results.into_iter().enumerate() {
        let r = r.unwrap();
        assert_eq!(r.outcome, Outcome::Exited { code: 0 }, "run {i}");
        assert_eq!(r.stdout_text(), format!("{i}\n"));
    }
}

// ---------------------------------------------------------------------------------------------
// streaming

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_a_thousand_runs_delivers_every_byte_and_one_finished_last() {
    let (_dir, rt) = runtime("").await;
    let rt = &rt;
    let runs = futures::stream::iter(0..1000)
        .map(|i| async move {
            let execution = rt
                .stream(ExecRequest::new(format!(
                    r"printf 'run %s\n' {i}; printf 'err\n' >&2; printf 'last'"
                )))
                .await
                .unwrap();
            (i, collect(execution).await)
        })
        .buffer_unordered(4);
    let all: Vec<_> = runs.collect().await;
    assert_eq!(all.len(), 1000);
    for (i, (out, err, finished, finished_last)) in all {
        assert!(finished_last, "run {i}: Finished was not the last event");
        assert_eq!(
            finished.len(),
            1,
            "run {i}: {} Finished events",
            finished.len()
        );
        let want = format!("run {i}\nlast");
        assert_eq!(out, want.as_bytes(), "run {i}: streamed stdout");
        assert_eq!(err, b"err\n", "run {i}: streamed stderr");
        assert_eq!(
            finished[0].stdout,
            want.as_bytes(),
            "run {i}: result stdout"
        );
        assert_eq!(&finished[0].stderr[..], b"err\n", "run {i}: result stderr");
        assert!(finished[0].success());
    }
}

#[tokio::test]
async fn chunks_arrive_as_they_are_written() {
    let (_dir, rt) = runtime("").await;
    let mut execution = rt
        .stream(ExecRequest::new("echo first; sleep 0.3; echo second"))
        .await
        .unwrap();
    assert_eq!(next_stdout(&mut execution).await, b"first\n");
    let (out, _, finished, last) = collect(execution).await;
    assert!(last);
    assert_eq!(out, b"second\n");
    assert_eq!(finished[0].stdout_text(), "first\nsecond\n");
}

#[tokio::test]
async fn large_output_streams_in_chunks_without_loss() {
    let (_dir, rt) = runtime("").await;
    let execution = rt
        .stream(ExecRequest::new("head -c 3000000 /dev/zero | tr '\\0' x"))
        .await
        .unwrap();
    let (out, _, finished, last) = collect(execution).await;
    assert!(last);
    assert_eq!(out.len(), 3_000_000);
    assert!(out.iter().all(|&b| b == b'x'));
    assert_eq!(finished[0].stdout.len(), 3_000_000);
    assert_eq!(finished[0].usage.stdout_bytes, 3_000_000);
}

// ---------------------------------------------------------------------------------------------
// limits

#[tokio::test]
async fn the_output_cap_truncates_flags_and_ends_the_command() {
    let (_dir, rt) = runtime("limits: { output: 1KiB }").await;
    let start = Instant::now();
    let r = run(&*rt, "echo $$ >&2; while :; do echo 0123456789abcde; done").await;
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the flood was not stopped"
    );
    assert_eq!(
        r.outcome,
        Outcome::ResourceExceeded {
            resource: Resource::Output
        }
    );
    assert_eq!(r.exit_code, exit_code::FILE_SIZE_EXCEEDED);
    assert!(r.stdout_truncated && !r.stderr_truncated);
    assert_eq!(r.stdout.len(), 1024);
    let line = b"0123456789abcde\n";
    assert!(
        r.stdout.chunks(16).all(|c| c == &line[..c.len()]),
        "kept bytes are not a prefix"
    );
    assert!(r.usage.stdout_bytes > 1024);
    let pgid: i32 = r.stderr_text().trim().parse().unwrap();
    assert_eq!(leftovers(pgid, "0123456789abcde").await, Vec::<i32>::new());

    // Output up to the cap is not truncated.
    let r = run(&*rt, "head -c 1024 /dev/zero").await;
    assert_eq!(r.outcome, Outcome::Exited { code: 0 });
    assert!(!r.stdout_truncated);
    assert_eq!(r.stdout.len(), 1024);
}

#[tokio::test]
async fn memory_and_open_files_are_rlimits_of_the_command() {
    let (_dir, rt) = runtime("limits: { memory: 64MiB, open_files: 32 }").await;
    let r = run(&*rt, "ulimit -v; ulimit -n").await;
    assert_eq!(r.stdout_text(), "65536\n32\n");
    // A 100 MiB buffer does not fit in 64 MiB of address space...
    let r = run(&*rt, "dd if=/dev/zero of=/dev/null bs=100M count=1").await;
    assert_ne!(
        r.outcome,
        Outcome::Exited { code: 0 },
        "{}",
        r.stderr_text()
    );
    assert!(r.stderr_text().contains("memory"), "{}", r.stderr_text());

    // ...but does without the limit.
    let (_dir, rt) = runtime("limits: { memory: null, open_files: null }").await;
    let r = run(&*rt, "dd if=/dev/zero of=/dev/null bs=100M count=1").await;
    assert_eq!(
        r.outcome,
        Outcome::Exited { code: 0 },
        "{}",
        r.stderr_text()
    );
}

#[test]
fn validate_refuses_every_limit_it_cannot_enforce_by_key() {
    let factory = LocalRuntimeFactory::new();
    let err = factory
        .validate(&spec("limits: { fuel: 1000, processes: 4, cpus: 1.5 }"))
        .unwrap_err();
    let keys: Vec<&str> = err.issues.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["limits.fuel", "limits.processes", "limits.cpus"]);
    let message = err.to_string();
    assert!(
        message.contains("limits.processes") && message.contains("RLIMIT_NPROC"),
        "{message}"
    );
}

#[test]
fn validate_checks_the_local_section() {
    let factory = LocalRuntimeFactory::new();
    factory.validate(&spec("")).unwrap();
    factory
        .validate(&spec("local: { shell: /bin/sh }"))
        .unwrap();
    factory
        .validate(&spec(
            "limits: { timeout: 2s, memory: 1GiB, output: 1MiB, open_files: 64 }",
        ))
        .unwrap();

    let err = factory.validate(&spec("local: { shell: sh }")).unwrap_err();
    assert_eq!(err.issues[0].key, "local.shell");
    let err = factory
        .validate(&spec("local: { shel: /bin/sh }"))
        .unwrap_err();
    assert!(err.issues[0].key.starts_with("local"), "{err}");
    assert!(err.to_string().contains("shel"), "{err}");
}

#[tokio::test]
async fn spawn_refuses_what_local_cannot_do() {
    let dir = TempDir::new().unwrap();
    let mut ctx = context(&spec(""), vec![], dir.path());
    ctx.mounts = vec![Mount {
        host: "/data".into(),
        target: "/data".into(),
        writable: false,
    }];
    let err = spawn_ctx(ctx).await.err().unwrap();
    assert!(matches!(err, RuntimeError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("mounts"), "{err}");

    let mut ctx = context(&spec(""), vec![], dir.path());
    ctx.ports = vec![PortBinding {
        container: 80,
        host: None,
    }];
    let err = spawn_ctx(ctx).await.err().unwrap();
    assert!(err.to_string().contains("ports"), "{err}");

    let ctx = context(&spec("limits: { fuel: 10 }"), vec![], dir.path());
    let err = spawn_ctx(ctx).await.err().unwrap();
    assert!(err.to_string().contains("limits.fuel"), "{err}");

    let ctx = context(
        &spec("local: { shell: /no/such/shell }"),
        vec![],
        dir.path(),
    );
    let err = spawn_ctx(ctx).await.err().unwrap();
    assert!(err.to_string().contains("local.shell"), "{err}");

    let ctx = context(&spec(""), vec![], &dir.path().join("missing"));
    let err = spawn_ctx(ctx).await.err().unwrap();
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn capabilities_say_shell_and_processes_without_isolation() {
    let c = LocalRuntimeFactory::new().capabilities();
    assert!(c.shell && c.processes);
    assert!(!c.filesystem_isolation && !c.network_isolation && !c.fuel && !c.deterministic);
}

// ---------------------------------------------------------------------------------------------
// lifecycle

#[tokio::test]
async fn poll_kill_and_cleanup_are_idempotent_and_calls_after_cleanup_fail() {
    let (_dir, rt) = runtime("").await;
    assert_eq!(rt.state(), RuntimeState::Pending);
    assert_eq!(rt.poll().unwrap(), None);
    rt.kill().await.unwrap();
    assert_eq!(
        rt.state(),
        RuntimeState::Pending,
        "killing nothing changes nothing"
    );

    run(&*rt, "exit 2").await;
    assert_eq!(rt.poll().unwrap(), Some(Outcome::Exited { code: 2 }));
    assert_eq!(rt.poll().unwrap(), Some(Outcome::Exited { code: 2 }));
    assert_eq!(
        rt.state(),
        RuntimeState::Exited {
            outcome: Outcome::Exited { code: 2 }
        }
    );
    rt.kill().await.unwrap();
    assert_eq!(rt.poll().unwrap(), Some(Outcome::Exited { code: 2 }));

    rt.cleanup().await.unwrap();
    rt.cleanup().await.unwrap();
    rt.kill().await.unwrap();
    rt.terminate();
    assert_eq!(rt.state(), RuntimeState::CleanedUp);
    assert!(matches!(rt.poll(), Err(RuntimeError::CleanedUp { .. })));
    let err = rt.execute(ExecRequest::new("true")).await.unwrap_err();
    assert!(matches!(err, RuntimeError::CleanedUp { .. }), "{err}");
    let err = rt.stream(ExecRequest::new("true")).await.err().unwrap();
    assert!(matches!(err, RuntimeError::CleanedUp { .. }), "{err}");
}

#[tokio::test]
async fn cleanup_kills_what_runs() {
    let (_dir, rt) = runtime("").await;
    let mut execution = rt
        .stream(ExecRequest::new("echo $$; sleep 31.1111"))
        .await
        .unwrap();
    let pgid = first_pid(&next_stdout(&mut execution).await);
    rt.cleanup().await.unwrap();
    let r = execution.wait().await.unwrap();
    assert_eq!(r.outcome, Outcome::Killed);
    assert_eq!(leftovers(pgid, "31.1111").await, Vec::<i32>::new());
    assert_eq!(rt.state(), RuntimeState::CleanedUp);
}
