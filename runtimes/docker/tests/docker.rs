//! The `docker` runtime against the real Docker engine, with the `subrun-test/busybox` image
//! (built by `scripts/build-test-images.sh`; a test that needs it fails, with that hint, when
//! it is missing).
//!
//! Every test spawns under a session id of its own, and its [`Fixture`] checks on drop that no
//! container with that `subrun.session` label is left — after panics too.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use subrun::assets::{AssetOrigin, resolve_groups};
use subrun::ids::SessionId;
use subrun::runtime::{RuntimeFactory, SpawnContext};
use subrun::spec::ResolvedSpec;
use subrun::{
    EnvironmentSpec, ExecRequest, Mount, Outcome, Resource, RuntimeError, RuntimeEvent,
    RuntimeResult, RuntimeState, SubmissionRuntime,
};
use subrun_docker::{DockerError, DockerRuntimeFactory, LeftoverFilter, TEST_IMAGE};

/// A factory, a workspace and a session id whose containers must all be gone at the end.
struct Fixture {
    factory: DockerRuntimeFactory,
    workspace: tempfile::TempDir,
    session: SessionId,
}

async fn factory() -> DockerRuntimeFactory {
    let factory = DockerRuntimeFactory::connect()
        .await
        .expect("the Docker engine must be reachable for these tests");
    assert!(
        factory.has_image(TEST_IMAGE).await.unwrap(),
        "the test image {TEST_IMAGE} is missing: run scripts/build-test-images.sh"
    );
    factory
}

impl Fixture {
    async fn new() -> Self {
        Self {
            factory: factory().await,
            workspace: tempfile::tempdir().unwrap(),
            session: SessionId::generate(),
        }
    }

    fn ws(&self) -> &Path {
        self.workspace.path()
    }

    /// A resolved spec: the test image plus `extra` YAML (top-level keys) and `docker` keys.
    fn spec(&self, docker: &str, extra: &str) -> Arc<ResolvedSpec> {
        let yaml = format!("type: docker\ndocker: {{ image: {TEST_IMAGE}{docker} }}\n{extra}");
        self.spec_from(&yaml)
    }

    fn spec_from(&self, yaml: &str) -> Arc<ResolvedSpec> {
        let base = self.ws().parent().unwrap().to_path_buf();
        let spec = EnvironmentSpec::from_yaml_str(yaml, "test.yaml", &base).unwrap();
        self.factory.validate(&spec).unwrap();
        let assets = resolve_groups(&spec.asset_group_list(AssetOrigin::Caller), &base).unwrap();
        Arc::new(ResolvedSpec::resolve(&spec, assets, &|a| self.factory.asset_path(a)).unwrap())
    }

    fn ctx(&self, spec: Arc<ResolvedSpec>) -> SpawnContext {
        let mut ctx = SpawnContext::new(spec, self.ws().to_path_buf());
        ctx.session_id = self.session.clone();
        ctx
    }

    async fn spawn(&self, docker: &str, extra: &str) -> Arc<dyn SubmissionRuntime> {
        self.factory
            .spawn(self.ctx(self.spec(docker, extra)))
            .await
            .unwrap()
    }

    async fn containers(&self) -> Vec<String> {
        self.factory
            .leftovers(&LeftoverFilter::session(self.session.clone()))
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.id)
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let factory = self.factory.clone();
        let filter = LeftoverFilter::session(self.session.clone());
        // Own thread and runtime: this may run inside a (finished) test runtime.
        let left = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let left = factory.leftovers(&filter).await.unwrap();
                if !left.is_empty() {
                    factory.remove_leftovers(&filter).await.unwrap();
                }
                left
            })
        })
        .join()
        .unwrap();
        if !std::thread::panicking() {
            assert!(left.is_empty(), "containers left behind: {left:?}");
        }
    }
}

async fn run(rt: &Arc<dyn SubmissionRuntime>, command: &str) -> RuntimeResult {
    rt.execute(ExecRequest::new(command)).await.unwrap()
}

/// `ps` output of the container, without the `ps` itself.
async fn processes(rt: &Arc<dyn SubmissionRuntime>) -> String {
    let r = run(rt, "ps -o pid,args").await;
    assert!(r.success(), "{r:?}");
    r.stdout_text().into_owned()
}

fn error_chain(e: &RuntimeError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[tokio::test]
async fn exit_codes_and_exact_output_bytes() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "").await;
    assert_eq!(rt.state(), RuntimeState::Pending);
    assert_eq!(rt.poll().unwrap(), None);

    let r = run(&rt, r"printf 'a\000b\n\377'; printf 'to err' >&2; exit 3").await;
    assert_eq!(r.outcome, Outcome::Exited { code: 3 });
    assert_eq!(r.exit_code, 3);
    assert_eq!(&r.stdout[..], b"a\0b\n\xff");
    assert_eq!(&r.stderr[..], b"to err");
    assert_eq!(r.usage.stdout_bytes, 5);
    assert!(!r.timed_out && !r.stdout_truncated && !r.stderr_truncated);
    assert_eq!(rt.poll().unwrap(), Some(Outcome::Exited { code: 3 }));
    assert_eq!(
        rt.state(),
        RuntimeState::Exited {
            outcome: Outcome::Exited { code: 3 }
        }
    );

    let r = run(&rt, "true").await;
    assert!(r.success());
    assert!(r.stdout.is_empty() && r.stderr.is_empty());

    let r = run(&rt, "no-such-command-xyz").await;
    assert_eq!(r.outcome, Outcome::Exited { code: 127 });
    assert!(r.stderr_text().contains("no-such-command-xyz"), "{r:?}");

    let r = run(&rt, "kill -SEGV $$").await;
    assert_eq!(r.outcome, Outcome::Signaled { signal: 11 });
    assert_eq!(r.exit_code, 139);

    // Shell syntax works: docker runs commands with `sh -c`.
    let r = run(&rt, "echo a | tr a b && echo $((6*7)) > /tmp/x; cat /tmp/x").await;
    assert_eq!(r.stdout_text(), "b\n42\n");
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn stdin_bytes_reader_and_closed() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "").await;

    let r = rt
        .execute(ExecRequest::new("cat; echo done").stdin("line 1\nline 2\n"))
        .await
        .unwrap();
    assert!(r.success(), "{r:?}");
    assert_eq!(r.stdout_text(), "line 1\nline 2\ndone\n");

    // Closed stdin: the first read sees end-of-file.
    let r = run(&rt, "cat; echo eof").await;
    assert_eq!(r.stdout_text(), "eof\n");

    // A large input, more than any pipe buffer, arrives whole.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let r = rt
        .execute(ExecRequest::new("wc -c; cksum").stdin(big.clone()))
        .await
        .unwrap();
    let words: Vec<String> = r
        .stdout_text()
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(words[0], "3000000", "{r:?}");

    // A live reader: the command sees what is written, then end-of-file when it is dropped.
    let (mut writer, reader) = tokio::io::duplex(64);
    let feeder = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        for i in 0..50 {
            writer.write_all(format!("{i}\n").as_bytes()).await.unwrap();
        }
    });
    let r = rt
        .execute(ExecRequest::new("wc -l").stdin_reader(reader))
        .await
        .unwrap();
    feeder.await.unwrap();
    assert_eq!(r.stdout_text().trim(), "50");

    // A command that ignores its stdin still finishes.
    let r = rt
        .execute(ExecRequest::new("echo ignored").stdin(vec![b'x'; 1 << 20]))
        .await
        .unwrap();
    assert_eq!(r.stdout_text(), "ignored\n");
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn env_precedence_spec_spawn_call_and_no_host_env() {
    let f = Fixture::new().await;
    let spec = f.spec("", "environment: { env: { A: spec, B: spec, C: spec } }\n");
    let mut ctx = f.ctx(spec);
    ctx.env.insert("B".into(), "spawn".into());
    ctx.env.insert("C".into(), "spawn".into());
    let rt = f.factory.spawn(ctx).await.unwrap();
    let r = rt
        .execute(
            ExecRequest::new("echo $A $B $C; printenv CARGO_PKG_NAME || echo no-host-env")
                .env("C", "call"),
        )
        .await
        .unwrap();
    assert_eq!(r.stdout_text(), "spec spawn call\nno-host-env\n");
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn setup_runs_once_apart_and_a_failing_setup_fails_the_spawn() {
    let f = Fixture::new().await;
    let mut ctx = f.ctx(f.spec("", ""));
    ctx.setup_commands = vec![
        "echo setup-out; echo setup-err >&2".into(),
        "echo ran >> /workspace/setup-count".into(),
    ];
    let rt = f.factory.spawn(ctx).await.unwrap();
    assert_eq!(rt.state(), RuntimeState::Pending);
    let first = run(&rt, "echo first").await;
    assert_eq!(first.stdout_text(), "first\n");
    assert_eq!(&first.setup_stdout[..], b"setup-out\n");
    assert_eq!(&first.setup_stderr[..], b"setup-err\n");
    let second = run(&rt, "cat /workspace/setup-count").await;
    assert_eq!(second.stdout_text(), "ran\n", "setup ran exactly once");
    assert!(second.setup_stdout.is_empty() && second.setup_stderr.is_empty());
    rt.cleanup().await.unwrap();

    let mut ctx = f.ctx(f.spec("", ""));
    ctx.setup_commands = vec![
        "echo partial; echo broken >&2; exit 4".into(),
        "echo never".into(),
    ];
    let err = f.factory.spawn(ctx).await.err().unwrap();
    match &err {
        RuntimeError::SetupFailed { command, result } => {
            assert!(command.contains("exit 4"));
            assert_eq!(result.outcome, Outcome::Exited { code: 4 });
            assert_eq!(&result.setup_stdout[..], b"partial\n");
            assert_eq!(&result.setup_stderr[..], b"broken\n");
        }
        other => panic!("expected SetupFailed, got {other:?}"),
    }
    assert!(err.to_string().contains("broken"), "{err}");
    assert!(
        f.containers().await.is_empty(),
        "a failed spawn removes its container"
    );
}

#[tokio::test]
async fn timeout_ends_every_process_and_keeps_output_and_the_container() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "").await;
    let t0 = Instant::now();
    let r = rt
        .execute(
            ExecRequest::new("echo before; sleep 30 & sleep 30; echo never")
                .timeout(Duration::from_secs(1)),
        )
        .await
        .unwrap();
    let took = t0.elapsed();
    eprintln!("timed out after {took:?}");
    assert_eq!(r.outcome, Outcome::TimedOut);
    assert!(r.timed_out);
    assert_eq!(r.exit_code, 124);
    assert_eq!(r.stdout_text(), "before\n");
    assert!(took >= Duration::from_secs(1));
    assert!(
        took < Duration::from_millis(2500),
        "a 1 s timeout took {took:?}"
    );
    let ps = processes(&rt).await;
    assert!(
        !ps.contains("sleep 30"),
        "processes survived the timeout:\n{ps}"
    );
    // The container stays usable.
    assert_eq!(
        run(&rt, "echo still here").await.stdout_text(),
        "still here\n"
    );

    // A process that left the session (setsid) is ended too.
    let r = rt
        .execute(ExecRequest::new("setsid sleep 31 & sleep 31").timeout(Duration::from_secs(1)))
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::TimedOut);
    let ps = processes(&rt).await;
    assert!(!ps.contains("sleep 31"), "a setsid process survived:\n{ps}");
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn kill_from_another_task_keeps_output() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "").await;
    let mut exec = rt
        .stream(ExecRequest::new("echo started; sleep 30 & sleep 30"))
        .await
        .unwrap();
    match exec.next_event().await.unwrap() {
        RuntimeEvent::Stdout(b) => assert_eq!(&b[..], b"started\n"),
        other => panic!("{other:?}"),
    }
    assert_eq!(rt.state(), RuntimeState::Running);
    assert_eq!(rt.poll().unwrap(), None);
    let killer = {
        let rt = rt.clone();
        tokio::spawn(async move { rt.kill().await })
    };
    let r = exec.wait().await.unwrap();
    killer.await.unwrap().unwrap();
    assert_eq!(r.outcome, Outcome::Killed);
    assert_eq!(r.exit_code, 137);
    assert_eq!(r.stdout_text(), "started\n");
    assert_eq!(rt.state(), RuntimeState::Killed);
    let ps = processes(&rt).await;
    assert!(!ps.contains("sleep 30"), "processes survived kill:\n{ps}");
    // Killing nothing is fine.
    rt.kill().await.unwrap();
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn dropping_a_stream_handle_ends_the_command() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "").await;
    let mut exec = rt
        .stream(ExecRequest::new("echo go; sleep 32"))
        .await
        .unwrap();
    assert!(matches!(
        exec.next_event().await,
        Some(RuntimeEvent::Stdout(_))
    ));
    drop(exec);
    for _ in 0..100 {
        if rt.state() != RuntimeState::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rt.state(), RuntimeState::Killed);
    let ps = processes(&rt).await;
    assert!(!ps.contains("sleep 32"), "{ps}");
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn streaming_loses_no_byte_over_many_runs() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "").await;
    let command =
        "i=0; while [ $i -lt 300 ]; do echo out-$i; echo err-$i >&2; i=$((i+1)); done; printf tail";
    let mut expected_out = String::new();
    let mut expected_err = String::new();
    for i in 0..300 {
        expected_out.push_str(&format!("out-{i}\n"));
        expected_err.push_str(&format!("err-{i}\n"));
    }
    expected_out.push_str("tail");
    for round in 0..100 {
        let mut exec = rt.stream(ExecRequest::new(command)).await.unwrap();
        let (mut out, mut err, mut finished) = (Vec::new(), Vec::new(), Vec::new());
        while let Some(ev) = exec.next_event().await {
            assert!(finished.is_empty(), "an event after Finished");
            match ev {
                RuntimeEvent::Stdout(b) => out.extend_from_slice(&b),
                RuntimeEvent::Stderr(b) => err.extend_from_slice(&b),
                RuntimeEvent::Finished(r) => finished.push(r),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(finished.len(), 1, "round {round}");
        let r = &finished[0];
        assert!(r.success(), "round {round}: {r:?}");
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            expected_out,
            "round {round}"
        );
        assert_eq!(
            String::from_utf8(err.clone()).unwrap(),
            expected_err,
            "round {round}"
        );
        assert_eq!(&r.stdout[..], &out[..]);
        assert_eq!(&r.stderr[..], &err[..]);
    }
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn output_arrives_while_the_command_still_runs() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "").await;
    let (mut gate_writer, gate) = tokio::io::duplex(16);
    let mut exec = rt
        .stream(ExecRequest::new("echo early; read line; echo late-$line").stdin_reader(gate))
        .await
        .unwrap();
    match exec.next_event().await.unwrap() {
        RuntimeEvent::Stdout(b) => assert_eq!(&b[..], b"early\n"),
        other => panic!("{other:?}"),
    }
    // `early` arrived while the command waits for input: it was streamed, not buffered.
    assert_eq!(rt.state(), RuntimeState::Running);
    {
        use tokio::io::AsyncWriteExt;
        gate_writer.write_all(b"go\n").await.unwrap();
        drop(gate_writer);
    }
    let r = exec.wait().await.unwrap();
    assert_eq!(r.stdout_text(), "early\nlate-go\n");
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn output_cap_truncates_and_ends_the_command() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "limits: { output: 1KiB }\n").await;
    let r = run(&rt, "echo start >&2; yes").await;
    assert_eq!(
        r.outcome,
        Outcome::ResourceExceeded {
            resource: Resource::Output
        }
    );
    assert_eq!(r.exit_code, 153);
    assert_eq!(r.stdout.len(), 1024);
    assert!(r.stdout_truncated && !r.stderr_truncated);
    assert!(r.stdout.starts_with(b"y\ny\n"));
    assert_eq!(r.stderr_text(), "start\n");
    assert!(r.usage.stdout_bytes > 1024);
    let ps = processes(&rt).await;
    assert!(!ps.lines().any(|l| l.trim_end().ends_with(" yes")), "{ps}");
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn no_network_by_default_and_bridge_when_asked() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "").await;
    let r = run(&rt, "ls /sys/class/net").await;
    assert_eq!(r.stdout_text(), "lo\n", "only loopback without network");
    // No route anywhere: a connection fails at once, without a packet leaving.
    let r = run(&rt, "nc -w 1 192.0.2.1 80 </dev/null").await;
    assert!(!r.success());
    assert!(r.stderr_text().contains("unreachable"), "{r:?}");
    rt.cleanup().await.unwrap();

    // Ports need a network to be published on.
    let mut ctx = f.ctx(f.spec("", ""));
    ctx.ports.push(subrun::PortBinding {
        container: 8080,
        host: None,
    });
    let err = f.factory.spawn(ctx).await.err().unwrap();
    assert!(matches!(err, RuntimeError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("network: bridge"), "{err}");

    // The control: with `network: bridge` the same check sees an interface (and a port can
    // be published).
    let mut ctx = f.ctx(f.spec(", network: bridge", ""));
    ctx.ports.push(subrun::PortBinding {
        container: 8080,
        host: None,
    });
    let rt = f.factory.spawn(ctx).await.unwrap();
    let r = run(&rt, "ls /sys/class/net").await;
    assert!(r.stdout_text().contains("eth0"), "{r:?}");
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn static_assets_are_read_only_and_the_spec_renders_their_paths() {
    let f = Fixture::new().await;
    let assets = tempfile::tempdir().unwrap();
    std::fs::write(assets.path().join("data.txt"), "fixture\n").unwrap();
    std::fs::create_dir(assets.path().join("dir")).unwrap();
    std::fs::write(assets.path().join("dir/inner.txt"), "inner\n").unwrap();
    // Spec asset paths are relative to the spec's directory (the workspace's parent here).
    let rel = assets
        .path()
        .strip_prefix(f.ws().parent().unwrap())
        .unwrap();
    let extra = format!(
        "static_assets:\n  data: {{ path: {} }}\n  tree: {{ path: {}, save_path: nested/tree }}\nsetup: {{ commands: [\"cat {{{{static:data}}}}\"] }}\n",
        rel.join("data.txt").display(),
        rel.join("dir").display()
    );
    let spec = f.spec("", &extra);
    assert_eq!(spec.asset_paths["data"], "/static/data");
    assert_eq!(spec.spec.setup.commands, ["cat /static/data"]);
    let rt = f.factory.spawn(f.ctx(spec)).await.unwrap();
    let r = run(&rt, "cat /static/data /static/nested/tree/inner.txt").await;
    assert_eq!(r.stdout_text(), "fixture\ninner\n");
    let r = run(&rt, "echo changed > /static/data").await;
    assert!(!r.success(), "{r:?}");
    assert!(r.stderr_text().contains("Read-only"), "{r:?}");
    let r = run(&rt, "touch /static/nested/tree/new").await;
    assert!(!r.success(), "{r:?}");
    assert_eq!(
        std::fs::read_to_string(assets.path().join("data.txt")).unwrap(),
        "fixture\n"
    );
    assert!(!assets.path().join("dir/new").exists());
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn workspace_files_flow_both_ways() {
    use std::os::unix::fs::MetadataExt;
    let f = Fixture::new().await;
    std::fs::write(f.ws().join("input.txt"), "from host\n").unwrap();
    let rt = f.spawn("", "").await;
    let r = run(
        &rt,
        "pwd; cat input.txt; echo appended >> input.txt; mkdir -p out/d; echo result > out/d/r.txt",
    )
    .await;
    assert!(r.success(), "{r:?}");
    assert_eq!(r.stdout_text(), "/workspace\nfrom host\n");
    assert_eq!(
        std::fs::read_to_string(f.ws().join("input.txt")).unwrap(),
        "from host\nappended\n"
    );
    let written = f.ws().join("out/d/r.txt");
    assert_eq!(std::fs::read_to_string(&written).unwrap(), "result\n");
    let owner = std::fs::metadata(f.ws()).unwrap().uid();
    assert_eq!(
        std::fs::metadata(&written).unwrap().uid(),
        owner,
        "by default commands run as the workspace owner"
    );
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn a_different_container_user_gets_the_workspace_when_running_as_root() {
    use std::os::unix::fs::MetadataExt;
    let f = Fixture::new().await;
    std::fs::write(f.ws().join("input.txt"), "from host\n").unwrap();
    let spec = f.spec(", user: \"1000:1000\"", "");
    let spawned = f.factory.spawn(f.ctx(spec)).await;
    if !rustix::process::geteuid().is_root() {
        let err = spawned.err().unwrap();
        assert!(
            error_chain(&err).contains("docker.user `1000:1000`"),
            "{err}"
        );
        return;
    }
    let rt = spawned.unwrap();
    let r = run(
        &rt,
        "id -u; id -g; echo more >> input.txt; echo new > new.txt",
    )
    .await;
    assert!(r.success(), "{r:?}");
    assert_eq!(r.stdout_text(), "1000\n1000\n");
    assert_eq!(
        std::fs::read_to_string(f.ws().join("input.txt")).unwrap(),
        "from host\nmore\n"
    );
    let new = f.ws().join("new.txt");
    assert_eq!(std::fs::read_to_string(&new).unwrap(), "new\n");
    assert_eq!(std::fs::metadata(&new).unwrap().uid(), 1000);
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn extra_mounts_merge_with_later_winning() {
    let f = Fixture::new().await;
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    std::fs::write(a.path().join("who"), "spec\n").unwrap();
    std::fs::write(b.path().join("who"), "spawn\n").unwrap();
    // A writable mount must be writable by the container user (`nobody` when root).
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(b.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    std::fs::create_dir(f.ws().join("rel")).unwrap();
    std::fs::write(f.ws().join("rel/file"), "relative\n").unwrap();
    let docker = format!(
        ", extra_mounts: [{{ host: {}, target: /data }}, {{ host: rel, target: /rel }}]",
        a.path().display()
    );
    let mut ctx = f.ctx(f.spec(&docker, ""));
    ctx.mounts.push(Mount {
        host: b.path().to_path_buf(),
        target: "/data".into(),
        writable: true,
    });
    let rt = f.factory.spawn(ctx).await.unwrap();
    let r = run(
        &rt,
        "cat /data/who /rel/file; echo w > /data/written && echo wrote",
    )
    .await;
    assert_eq!(r.stdout_text(), "spawn\nrelative\nwrote\n", "{r:?}");
    assert!(b.path().join("written").exists());
    let r = run(&rt, "echo w > /rel/x").await;
    assert!(!r.success(), "spec mounts are read-only unless marked");
    rt.cleanup().await.unwrap();

    // A spawn mount under the workdir is refused before anything is created.
    let mut ctx = f.ctx(f.spec("", ""));
    ctx.mounts.push(Mount {
        host: a.path().to_path_buf(),
        target: "/workspace/inner".into(),
        writable: false,
    });
    let err = f.factory.spawn(ctx).await.err().unwrap();
    assert!(error_chain(&err).contains("mounts[0].target"), "{err}");
}

#[tokio::test]
async fn limits_and_security_reach_the_container() {
    let f = Fixture::new().await;
    let rt = f
        .spawn(
            "",
            "limits: { memory: 64MiB, cpus: 0.5, processes: 40, open_files: 64 }\n",
        )
        .await;
    let r = run(
        &rt,
        "ulimit -n; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; \
         cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; \
         cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max; \
         grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status",
    )
    .await;
    assert!(r.success(), "{r:?}");
    let text = r.stdout_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "64", "{text}");
    assert_eq!(lines[1], (64u64 << 20).to_string(), "{text}");
    assert_eq!(lines[2], "40", "{text}");
    assert!(lines[3].starts_with("50000"), "{text}");
    assert!(text.contains("CapEff:\t0000000000000000"), "{text}");
    assert!(text.contains("CapBnd:\t0000000000000000"), "{text}");
    assert!(text.contains("NoNewPrivs:\t1"), "{text}");

    // The memory limit ends a command that needs more.
    let r = run(&rt, "dd if=/dev/zero of=/dev/null bs=200M count=1").await;
    assert_eq!(
        r.outcome,
        Outcome::ResourceExceeded {
            resource: Resource::Memory
        },
        "{r:?}"
    );
    assert_eq!(r.exit_code, 137);
    // The pids limit stops a fork storm.
    let r = run(&rt, "for i in $(seq 60); do sleep 5 & done; wait").await;
    assert!(r.stderr_text().contains("fork"), "{r:?}");
    assert_eq!(run(&rt, "echo alive").await.stdout_text(), "alive\n");
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn validation_refuses_what_docker_cannot_enforce() {
    let f = factory().await;
    let spec = EnvironmentSpec::from_yaml_str(
        "type: docker\ndocker: { image: x }\nlimits: { fuel: 100 }\n",
        "env.yaml",
        ".",
    )
    .unwrap();
    let err = f.validate(&spec).unwrap_err();
    assert_eq!(err.issues[0].key, "limits.fuel", "{err}");
}

#[tokio::test]
async fn a_missing_image_is_a_clear_error_and_never_a_pull() {
    let f = Fixture::new().await;
    // The benchmark's environment file loads and validates; its image is not here.
    let yaml = "type: docker\nname: python3.12\ndocker: { image: ghcr.io/astral-sh/uv:python3.12-trixie-slim, workdir: /workspace, mount_workspace: true }\nenvironment: { env: { UV_CACHE_DIR: /tmp/uv-cache } }\nsetup:\n  eval_commands: [uv init, uv add -r requirements.txt]\ncommands: { entry_file: \"{entry_file}.py\", command: uv run, agent_command: python }\n";
    let spec = f.spec_from(yaml);
    let t0 = Instant::now();
    let err = f.factory.spawn(f.ctx(spec)).await.err().unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "no pull may be attempted"
    );
    let chain = error_chain(&err);
    assert!(
        chain.contains("image `ghcr.io/astral-sh/uv:python3.12-trixie-slim` not found locally"),
        "{chain}"
    );
    assert!(chain.contains("no registry pull is attempted"), "{chain}");
    let docker_error = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<DockerError>())
        .unwrap();
    assert!(matches!(docker_error, DockerError::ImageMissing { .. }));
    assert!(f.containers().await.is_empty());
}

#[tokio::test]
async fn cleanup_is_idempotent_and_later_calls_fail() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "").await;
    assert_eq!(f.containers().await.len(), 1);
    run(&rt, "true").await;
    rt.cleanup().await.unwrap();
    assert!(
        f.containers().await.is_empty(),
        "cleanup removes the container"
    );
    rt.cleanup().await.unwrap();
    assert_eq!(rt.state(), RuntimeState::CleanedUp);
    assert!(matches!(
        rt.execute(ExecRequest::new("true")).await,
        Err(RuntimeError::CleanedUp { .. })
    ));
    assert!(matches!(
        rt.stream(ExecRequest::new("true")).await,
        Err(RuntimeError::CleanedUp { .. })
    ));
    assert!(matches!(rt.poll(), Err(RuntimeError::CleanedUp { .. })));
    rt.kill().await.unwrap();
}

#[tokio::test]
async fn cleanup_during_a_command_ends_it() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "").await;
    let mut exec = rt
        .stream(ExecRequest::new("echo x; sleep 30"))
        .await
        .unwrap();
    assert!(matches!(
        exec.next_event().await,
        Some(RuntimeEvent::Stdout(_))
    ));
    rt.cleanup().await.unwrap();
    let r = exec.wait().await.unwrap();
    assert_eq!(r.outcome, Outcome::Killed);
    assert_eq!(r.stdout_text(), "x\n");
    assert!(f.containers().await.is_empty());
}

#[tokio::test]
async fn dropping_or_terminating_without_cleanup_removes_the_container() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "").await;
    run(&rt, "true").await;
    drop(rt);
    assert!(
        f.containers().await.is_empty(),
        "drop removes the container"
    );

    let rt = f.spawn("", "").await;
    rt.terminate();
    assert_eq!(rt.state(), RuntimeState::CleanedUp);
    drop(rt);
    assert!(
        f.containers().await.is_empty(),
        "terminate + drop removes it"
    );
}

#[tokio::test]
async fn a_panic_while_holding_a_runtime_leaves_no_container() {
    let f = Fixture::new().await;
    let spec = f.spec("", "");
    let outcome = std::panic::AssertUnwindSafe(async {
        let rt = f.factory.spawn(f.ctx(spec)).await.unwrap();
        let _running = rt.stream(ExecRequest::new("sleep 30")).await.unwrap();
        panic!("test panics mid-run");
    })
    .catch_unwind()
    .await;
    assert!(outcome.is_err());
    assert!(
        f.containers().await.is_empty(),
        "the unwound runtime removed its container"
    );
}

#[tokio::test]
async fn kept_containers_are_found_and_removed_by_gc() {
    let f = Fixture::new().await;
    let rt = f.spawn(", keep_container_after_clean: true", "").await;
    rt.cleanup().await.unwrap();
    let left = f
        .factory
        .leftovers(&LeftoverFilter::session(f.session.clone()))
        .await
        .unwrap();
    assert_eq!(left.len(), 1, "the container is kept for debugging");
    assert_eq!(left[0].session, f.session.to_string());
    let removed = f
        .factory
        .remove_leftovers(&LeftoverFilter::session(f.session.clone()))
        .await
        .unwrap();
    assert_eq!(removed, left);
    assert!(f.containers().await.is_empty());
}

#[tokio::test]
async fn concurrent_commands_in_one_runtime() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "").await;
    let runs = (0..6).map(|i| {
        let rt = rt.clone();
        async move {
            rt.execute(ExecRequest::new(format!("sleep 0.2; echo {i}")))
                .await
                .unwrap()
        }
    });
    let results = futures::future::join_all(runs).await;
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.stdout_text(), format!("{i}\n"));
    }
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn through_a_session_placeholders_render_and_close_or_drop_removes_the_container() {
    let factory = factory().await;
    let mut registry = subrun::Registry::new();
    registry.register(Arc::new(factory.clone())).unwrap();
    let assets = tempfile::tempdir().unwrap();
    std::fs::write(assets.path().join("data.txt"), "fixture\n").unwrap();
    let spec = EnvironmentSpec::from_yaml_str(
        &format!("type: docker\ndocker: {{ image: {TEST_IMAGE} }}\n"),
        "test.yaml",
        ".",
    )
    .unwrap();
    let leftovers = |id: &SessionId| {
        let factory = factory.clone();
        let filter = LeftoverFilter::session(id.clone());
        async move { factory.leftovers(&filter).await.unwrap() }
    };

    let session = subrun::Session::builder(&registry, spec.clone())
        .asset("data", assets.path().join("data.txt"))
        .prepare()
        .await
        .unwrap();
    assert_eq!(session.asset_paths()["data"], "/static/data");
    let rt = session
        .spawn(subrun::SpawnOptions::new().extra_setup("cat {{static:data}}"))
        .await
        .unwrap();
    let r = rt
        .execute(
            ExecRequest::new("cat {{static:data}}; echo $WHERE").env("WHERE", "{{static:data}}"),
        )
        .await
        .unwrap();
    assert_eq!(r.stdout_text(), "fixture\n/static/data\n");
    assert_eq!(&r.setup_stdout[..], b"fixture\n");
    let id = session.id().clone();
    assert_eq!(leftovers(&id).await.len(), 1);
    session.close().await.unwrap();
    assert!(
        leftovers(&id).await.is_empty(),
        "close removes the container"
    );
    assert!(matches!(
        rt.execute(ExecRequest::new("true")).await,
        Err(RuntimeError::CleanedUp { .. })
    ));

    // A session dropped without close (as on a panic) leaves nothing behind either.
    let session = subrun::Session::builder(&registry, spec)
        .prepare()
        .await
        .unwrap();
    let rt = session.spawn(subrun::SpawnOptions::new()).await.unwrap();
    let id = session.id().clone();
    let running = rt.stream(ExecRequest::new("sleep 30")).await.unwrap();
    drop(session);
    drop(running);
    drop(rt);
    assert!(
        leftovers(&id).await.is_empty(),
        "drop removes the container"
    );
}

#[tokio::test]
async fn background_jobs_end_with_their_command_but_setup_services_survive() {
    let f = Fixture::new().await;
    let mut ctx = f.ctx(f.spec("", ""));
    ctx.setup_commands = vec![
        "sleep 301 >/dev/null 2>&1 &".into(),
        "setsid sleep 302 >/dev/null 2>&1 &".into(),
    ];
    let rt = f.factory.spawn(ctx).await.unwrap();
    let r = run(&rt, "sleep 33 & echo done").await;
    assert_eq!(r.stdout_text(), "done\n");
    let ps = processes(&rt).await;
    assert!(
        !ps.contains("sleep 33"),
        "a background job outlived its command:\n{ps}"
    );
    assert!(
        ps.contains("sleep 301") && ps.contains("sleep 302"),
        "a setup service is gone:\n{ps}"
    );
    // A timeout sweeps escaped processes, but spares what setup started.
    let r = rt
        .execute(ExecRequest::new("setsid sleep 34 & sleep 34").timeout(Duration::from_millis(500)))
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::TimedOut);
    let ps = processes(&rt).await;
    assert!(!ps.contains("sleep 34"), "{ps}");
    assert!(
        ps.contains("sleep 301") && ps.contains("sleep 302"),
        "a setup service is gone:\n{ps}"
    );
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn a_fork_storm_at_the_pids_limit_is_ended_and_the_runtime_recovers() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "limits: { processes: 24 }\n").await;
    std::fs::write(f.ws().join("kept.txt"), "kept\n").unwrap();
    let r = rt
        .execute(
            // Ignore SIGTERM, count the container's processes without forking, fill the pids
            // limit exactly and spin: the sweep's grace period cannot fork its `sleep`, so
            // the runtime must go on to SIGKILL without forking.
            ExecRequest::new(
                "trap '' TERM; set -- /proc/[0-9]*; i=$#; while [ $i -lt 24 ]; do sleep 200 & i=$((i+1)); done; while :; do :; done",
            )
                .timeout(Duration::from_secs(1)),
        )
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::TimedOut);
    let ps = processes(&rt).await;
    assert!(!ps.contains("sleep 200"), "{ps}");
    assert_eq!(run(&rt, "cat kept.txt").await.stdout_text(), "kept\n");
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn a_timeout_never_ends_another_running_command() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "").await;
    let other = {
        let rt = rt.clone();
        tokio::spawn(async move { run(&rt, "sleep 2; echo other-done").await })
    };
    // Let the other command start, then time out one that has an escaped process.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = rt
        .execute(ExecRequest::new("setsid sleep 42 & sleep 41").timeout(Duration::from_millis(500)))
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::TimedOut);
    let other = other.await.unwrap();
    assert!(other.success(), "{other:?}");
    assert_eq!(other.stdout_text(), "other-done\n");
    let ps = processes(&rt).await;
    assert!(
        !ps.contains("sleep 41"),
        "the command's own session is ended:\n{ps}"
    );
    rt.cleanup().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_engine_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("docker.sock");
    // A socket nobody listens on any more: connections are refused.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let docker = bollard::Docker::connect_with_unix(
        socket.to_str().unwrap(),
        5,
        bollard::API_DEFAULT_VERSION,
    )
    .unwrap();
    let factory = DockerRuntimeFactory::new(docker);
    let spec = EnvironmentSpec::from_yaml_str(
        &format!("type: docker\ndocker: {{ image: {TEST_IMAGE} }}\n"),
        "test.yaml",
        ".",
    )
    .unwrap();
    let spec =
        Arc::new(ResolvedSpec::resolve(&spec, Vec::new(), &|a| factory.asset_path(a)).unwrap());
    let err = factory
        .spawn(SpawnContext::new(spec, dir.path().to_path_buf()))
        .await
        .err()
        .unwrap();
    let chain = error_chain(&err);
    assert!(chain.contains("cannot reach the Docker engine"), "{chain}");
    let docker_error = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<DockerError>())
        .unwrap();
    assert!(matches!(
        docker_error,
        DockerError::EngineUnreachable { .. }
    ));
}

/// True when a mount sits at `path` in this process's namespace.
fn is_mount_point(path: &Path) -> bool {
    let want = path.to_str().unwrap().replace(' ', "\\040");
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(want.as_str()))
}

/// Regression (issue 11, item 1): as root, containers ran as root by default. Now the default
/// is `nobody` (65534:65534, the workspace handed over), and root only when the spec asks.
#[tokio::test]
async fn as_root_commands_run_as_nobody_unless_root_is_asked_for() {
    use std::os::unix::fs::MetadataExt;
    let f = Fixture::new().await;
    std::fs::write(f.ws().join("input.txt"), "from host\n").unwrap();
    let rt = f.spawn("", "").await;
    let r = run(
        &rt,
        "id -u; id -g; echo more >> input.txt; echo new > new.txt",
    )
    .await;
    assert!(r.success(), "{r:?}");
    if rustix::process::geteuid().is_root() {
        assert_eq!(r.stdout_text(), "65534\n65534\n", "{r:?}");
        assert_eq!(
            std::fs::metadata(f.ws().join("new.txt")).unwrap().uid(),
            65534
        );
    } else {
        let me = rustix::process::geteuid().as_raw();
        assert_eq!(
            r.stdout_text().lines().next(),
            Some(me.to_string().as_str())
        );
    }
    rt.cleanup().await.unwrap();
    if rustix::process::geteuid().is_root() {
        for user in ["0", "0:0"] {
            let rt = f.spawn(&format!(", user: \"{user}\""), "").await;
            let r = run(&rt, "id -u; echo root >> input.txt").await;
            assert_eq!(r.stdout_text(), "0\n", "{r:?}");
            rt.cleanup().await.unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(f.ws().join("input.txt")).unwrap(),
            "from host\nmore\nroot\nroot\n"
        );
    }
}

/// Regression (issue 11, item 1): as root, a guest running as root (asked for explicitly)
/// could `chmod 4755` a root-owned file in the workspace, and any host user then ran it with
/// euid 0 through the host path. The workspace is now a `nosuid,nodev` mount on the host (and
/// in the container) while the container runs, and the setuid bits are cleared when it goes.
#[tokio::test]
async fn a_setuid_file_a_guest_plants_never_runs_setuid_on_the_host() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::os::unix::process::CommandExt as _;
    let f = Fixture::new().await;
    let planted = f.ws().join("s");
    std::fs::copy("/usr/bin/id", &planted).unwrap();
    let root = rustix::process::geteuid().is_root();
    let rt = f.spawn(if root { ", user: \"0:0\"" } else { "" }, "").await;
    let r = run(
        &rt,
        "chmod 4755 s && stat -c %a s; grep ' /workspace ' /proc/self/mountinfo",
    )
    .await;
    assert!(r.success(), "{r:?}");
    assert!(r.stdout_text().starts_with("4755\n"), "{r:?}");
    if !root {
        // Without root the container runs as the host user itself: a setuid bit gains nothing.
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(&planted).unwrap().uid();
        assert_eq!(owner, rustix::process::geteuid().as_raw());
        rt.cleanup().await.unwrap();
        return;
    }
    let inside = r.stdout_text().into_owned();
    assert!(
        inside.contains("nosuid") && inside.contains("nodev"),
        "the container's workspace mount is not nosuid,nodev:\n{inside}"
    );
    let flags = rustix::fs::statvfs(f.ws()).unwrap().f_flag;
    assert!(
        flags.contains(rustix::fs::StatVfsMountFlags::NOSUID)
            && flags.contains(rustix::fs::StatVfsMountFlags::NODEV),
        "the host path of the workspace is not nosuid,nodev: {flags:?}"
    );
    // Run the planted file on the host as `nobody` (through a descriptor, so the workspace's
    // parent directories need not be reachable for nobody).
    let file = std::fs::File::open(&planted).unwrap();
    rustix::io::fcntl_setfd(&file, rustix::io::FdFlags::empty()).unwrap();
    let out = std::process::Command::new(format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&file)
    ))
    .uid(65534)
    .gid(65534)
    .output()
    .unwrap();
    let id = String::from_utf8_lossy(&out.stdout);
    assert!(
        id.starts_with("uid=65534"),
        "the planted file did not run: {out:?}"
    );
    assert!(
        !id.contains("euid=0"),
        "the guest's setuid file ran as root on the host: {id}"
    );
    drop(file);
    rt.cleanup().await.unwrap();
    let mode = std::fs::metadata(&planted).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o755, "the setuid bit stays after cleanup");
    assert!(
        !is_mount_point(f.ws()),
        "the workspace's bind outlived the runtime"
    );
}

/// Regression (issue 11, item 2): under `limits.disk`, writes into the container's own
/// filesystem were not charged (`dd of=/tmp/fill` of 300 MiB under 4 MiB: exit 0). The root
/// filesystem is now read-only and /tmp, /var/tmp, /run and /dev/shm are tmpfs mounts charged
/// with the workspace.
#[tokio::test]
async fn writes_into_the_containers_own_filesystem_end_over_the_disk_quota() {
    let f = Fixture::new().await;
    let disk = Outcome::ResourceExceeded {
        resource: Resource::Disk,
    };
    for place in ["/tmp", "/var/tmp", "/dev/shm", "/run"] {
        let rt = f.spawn("", "limits: { disk: 4MiB }\n").await;
        let r = run(&rt, "echo small > /tmp/ok && cat /tmp/ok").await;
        assert_eq!(r.stdout_text(), "small\n", "{r:?}");
        let r = run(&rt, "echo x > /rootfs-file").await;
        assert!(!r.success(), "the root filesystem is writable: {r:?}");
        let r = run(
            &rt,
            &format!("dd if=/dev/zero of={place}/fill bs=1M count=300"),
        )
        .await;
        assert_eq!(r.outcome, disk, "{place}: {r:?}");
        rt.cleanup().await.unwrap();
    }
    // Without a quota the image's filesystem stays writable.
    let rt = f.spawn("", "").await;
    let r = run(&rt, "echo x > /tmp/rootfs-file && echo ok").await;
    assert_eq!(r.stdout_text(), "ok\n", "{r:?}");
    rt.cleanup().await.unwrap();
}

/// Regression (issue 11, item 2): a file opened, unlinked and written on was never charged
/// (2 GiB under a 4 MiB quota, exit 0). The container's processes' open descriptors to
/// unlinked files now count.
#[tokio::test]
async fn a_file_unlinked_while_open_is_still_charged() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "limits: { disk: 4MiB }\n").await;
    let t0 = Instant::now();
    let r = run(
        &rt,
        "exec 3>/workspace/hidden; rm /workspace/hidden; dd if=/dev/zero bs=1M count=2048 >&3",
    )
    .await;
    assert_eq!(
        r.outcome,
        Outcome::ResourceExceeded {
            resource: Resource::Disk
        },
        "{r:?}"
    );
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
    rt.cleanup().await.unwrap();
}

/// Regression (issue 11, item 7): the sweep read `/proc/PID/stat` by its first line, so a
/// process whose name holds a newline (and a `)`) hid its session and survived the deadline.
#[tokio::test]
async fn a_process_named_with_a_newline_is_ended_at_the_deadline() {
    let f = Fixture::new().await;
    let rt = f.spawn("", "").await;
    let r = rt
        .execute(
            ExecRequest::new(
                r#"N=$(printf '/tmp/busybox\nx)'); cp /bin/busybox "$N"; setsid "$N" sh -c 'while :; do : spinner; done' & sleep 30"#,
            )
            .timeout(Duration::from_secs(2)),
        )
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::TimedOut, "{r:?}");
    let left = run(
        &rt,
        "for d in /proc/[0-9]*; do grep -q '[s]pinner' $d/cmdline 2>/dev/null && echo alive ${d#/proc/}; done; true",
    )
    .await;
    assert_eq!(left.stdout_text(), "", "the spinner survived: {left:?}");
    rt.cleanup().await.unwrap();
}

/// The child side of [`a_killed_owner_leaves_no_container_running`]: spawns a runtime in the
/// given workspace and session, starts a busy loop with a 60 s deadline and reports `running`.
const OWNER_CHILD: &str = "SUBRUN_DOCKER_OWNER_CHILD";

/// Regression (issue 11, item 6): after `kill -9` of the owning process a container's busy
/// loop ran on past its deadline until `subrun gc`. The container now lives on a lease (its
/// stdin, attached by the owner): it stops within seconds of the owner's death, and gc
/// removes it and releases the workspace's bind.
#[tokio::test]
async fn a_killed_owner_leaves_no_container_running() {
    if let Some(dir) = std::env::var_os(OWNER_CHILD) {
        let factory = factory().await;
        let session = SessionId::new(std::env::var("SUBRUN_DOCKER_OWNER_SESSION").unwrap());
        let yaml = format!("type: docker\ndocker: {{ image: {TEST_IMAGE} }}\n");
        let spec = EnvironmentSpec::from_yaml_str(&yaml, "test.yaml", "/").unwrap();
        let spec =
            Arc::new(ResolvedSpec::resolve(&spec, Vec::new(), &|a| factory.asset_path(a)).unwrap());
        let mut ctx = SpawnContext::new(spec, std::path::PathBuf::from(dir));
        ctx.session_id = session;
        let rt = factory.spawn(ctx).await.unwrap();
        let exec = rt
            .stream(
                ExecRequest::new("echo started; while :; do :; done")
                    .timeout(Duration::from_secs(60)),
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        println!("\nowner-command-running");
        tokio::time::sleep(Duration::from_secs(120)).await;
        drop(exec);
        return;
    }
    let f = Fixture::new().await;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "a_killed_owner_leaves_no_container_running",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(OWNER_CHILD, f.ws())
        .env("SUBRUN_DOCKER_OWNER_SESSION", f.session.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        use std::io::BufRead as _;
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.trim() == "owner-command-running")
    });
    let ready = tokio::time::timeout(Duration::from_secs(60), ready).await;
    assert!(
        matches!(ready, Ok(Ok(true))),
        "the owner never reported its command running"
    );
    let running = |f: &Fixture| {
        let factory = f.factory.clone();
        let filter = LeftoverFilter::session(f.session.clone());
        async move {
            factory
                .leftovers(&filter)
                .await
                .unwrap()
                .into_iter()
                .filter(|l| l.state.as_deref() == Some("running"))
                .count()
        }
    };
    assert_eq!(running(&f).await, 1, "the owner's container is not running");
    let root = rustix::process::geteuid().is_root();
    if root {
        assert!(is_mount_point(f.ws()), "the owner bound the workspace");
    }
    child.kill().unwrap();
    let killed_at = Instant::now();
    child.wait().unwrap();
    while running(&f).await > 0 {
        assert!(
            killed_at.elapsed() < Duration::from_secs(10),
            "the container still runs {:?} after its owner was killed",
            killed_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "the container stopped {:?} after its owner was killed",
        killed_at.elapsed()
    );
    // gc removes the stopped container and releases the dead owner's bind.
    let removed = f
        .factory
        .remove_leftovers(&LeftoverFilter::session(f.session.clone()))
        .await
        .unwrap();
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(f.containers().await.is_empty());
    assert!(!is_mount_point(f.ws()), "gc left the dead owner's bind");
}
