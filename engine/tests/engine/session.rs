//! Session lifecycle against a small fake runtime that records what it is asked to do.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use subrun::ids::{ExecutionId, RuntimeId, RuntimeKind};
use subrun::runtime::{ResolvedAsset, RuntimeFactory, SpawnContext};
use subrun::snapshot::{Snapshot, SnapshotError};
use subrun::spec::{EnvironmentSpec, SnapshotConfig};
use subrun::{
    Capabilities, Error, ExecRequest, Execution, ExecutionControl, InputFile, Mode, Outcome,
    Registry, RuntimeError, RuntimeEvent, RuntimeResult, RuntimeState, Session, SpawnOptions,
    SpecError, SubmissionRuntime, Usage,
};

use crate::common::{host_file, listing};

/// Everything the fake factory and its runtimes were asked to do, in order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, s: impl Into<String>) {
        self.0.lock().unwrap().push(s.into());
    }
    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

struct FakeFactory {
    log: Log,
    contexts: Arc<Mutex<Vec<SpawnContext>>>,
    fail_cleanup: bool,
}

struct FakeRuntime {
    id: RuntimeId,
    log: Log,
    fail_cleanup: bool,
}

#[subrun::runtime::async_trait]
impl RuntimeFactory for FakeFactory {
    fn kind(&self) -> RuntimeKind {
        "fake".into()
    }
    fn capabilities(&self) -> Capabilities {
        no_capabilities()
    }
    fn validate(&self, spec: &EnvironmentSpec) -> Result<(), SpecError> {
        if spec.name == "refused" {
            return Err(SpecError::new(
                &spec.origin,
                "name",
                "the fake runtime refuses this",
            ));
        }
        Ok(())
    }
    fn asset_path(&self, asset: &ResolvedAsset) -> String {
        asset.static_path()
    }
    async fn spawn(&self, ctx: SpawnContext) -> Result<Arc<dyn SubmissionRuntime>, RuntimeError> {
        if ctx.env.contains_key("REFUSE_AT_SPAWN") {
            return Err(RuntimeError::Spec(SpecError::new(
                &ctx.spec.spec.origin,
                "env.REFUSE_AT_SPAWN",
                "the fake runtime refuses this at spawn",
            )));
        }
        for c in &ctx.setup_commands {
            self.log.push(format!("setup {}: {c}", ctx.runtime_id));
        }
        self.log.push(format!("spawned {}", ctx.runtime_id));
        let rt = FakeRuntime {
            id: ctx.runtime_id.clone(),
            log: self.log.clone(),
            fail_cleanup: self.fail_cleanup,
        };
        self.contexts.lock().unwrap().push(ctx);
        Ok(Arc::new(rt))
    }
}

/// `Capabilities` is non-exhaustive; build it the way a config file would.
fn no_capabilities() -> Capabilities {
    serde_json::from_value(json!({
        "shell": false, "processes": false, "filesystem_isolation": false,
        "network_isolation": false, "fuel": false, "deterministic": false
    }))
    .unwrap()
}

fn result(stdout: String) -> RuntimeResult {
    RuntimeResult {
        execution_id: ExecutionId::generate(),
        outcome: Outcome::Exited { code: 0 },
        exit_code: 0,
        timed_out: false,
        stdout: Bytes::from(stdout),
        stderr: Bytes::new(),
        stdout_truncated: false,
        stderr_truncated: false,
        setup_stdout: Bytes::new(),
        setup_stderr: Bytes::new(),
        elapsed: Duration::ZERO,
        usage: Usage::default(),
    }
}

#[subrun::runtime::async_trait]
impl SubmissionRuntime for FakeRuntime {
    fn id(&self) -> &RuntimeId {
        &self.id
    }
    fn kind(&self) -> RuntimeKind {
        "fake".into()
    }
    fn capabilities(&self) -> Capabilities {
        no_capabilities()
    }
    async fn stream(&self, request: ExecRequest) -> Result<Execution, RuntimeError> {
        let env: Vec<String> = request
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        self.log.push(format!(
            "exec {}: {} [{}]",
            self.id,
            request.command,
            env.join(" ")
        ));
        let (exec, tx) = Execution::channel(ExecutionId::generate(), ExecutionControl::new());
        tx.send(RuntimeEvent::Finished(Box::new(result(request.command))))
            .unwrap();
        Ok(exec)
    }
    fn poll(&self) -> Result<Option<Outcome>, RuntimeError> {
        Ok(None)
    }
    fn state(&self) -> RuntimeState {
        RuntimeState::Pending
    }
    async fn kill(&self) -> Result<(), RuntimeError> {
        Ok(())
    }
    async fn cleanup(&self) -> Result<(), RuntimeError> {
        self.log.push(format!("cleanup {}", self.id));
        if self.fail_cleanup {
            return Err(RuntimeError::backend("remove fake", "it refused"));
        }
        Ok(())
    }
    fn terminate(&self) {
        self.log.push(format!("terminate {}", self.id));
    }
}

pub(crate) struct Fixture {
    pub(crate) registry: Registry,
    log: Log,
    contexts: Arc<Mutex<Vec<SpawnContext>>>,
    spec_dir: tempfile::TempDir,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        Self::with(false)
    }

    fn with(fail_cleanup: bool) -> Self {
        let log = Log::default();
        let contexts = Arc::new(Mutex::new(Vec::new()));
        let mut registry = Registry::new();
        registry
            .register(Arc::new(FakeFactory {
                log: log.clone(),
                contexts: contexts.clone(),
                fail_cleanup,
            }))
            .unwrap();
        let spec_dir = tempfile::tempdir().unwrap();
        host_file(spec_dir.path(), "fixtures/data.txt", b"spec data", 0o644);
        Self {
            registry,
            log,
            contexts,
            spec_dir,
        }
    }

    pub(crate) fn spec(&self, yaml: &str) -> EnvironmentSpec {
        EnvironmentSpec::from_yaml_str(yaml, "env.yaml", self.spec_dir.path()).unwrap()
    }

    fn context(&self, i: usize) -> SpawnContext {
        self.contexts.lock().unwrap()[i].clone()
    }
}

const SPEC: &str = r#"
type: fake
environment: { env: { LEVEL: spec, DATA: "{{static:data}}" } }
setup:
  commands: [c1, "c2 {{static:data}}"]
  eval_commands: [e1]
  resume_commands: [r1]
static_assets: { data: { path: fixtures/data.txt, save_path: inputs/data.txt } }
"#;

#[tokio::test]
async fn setup_runs_in_design_order_per_mode_and_options() {
    let fx = Fixture::new();
    let session = Session::builder(&fx.registry, fx.spec(SPEC))
        .prepare()
        .await
        .unwrap();
    session
        .spawn(
            SpawnOptions::new()
                .resume(true)
                .extra_setup("x1 {{static:data}}"),
        )
        .await
        .unwrap();
    assert_eq!(
        fx.context(0).setup_commands,
        [
            "c1",
            "c2 /static/inputs/data.txt",
            "e1",
            "r1",
            "x1 /static/inputs/data.txt"
        ]
    );
    session.spawn(SpawnOptions::new()).await.unwrap();
    assert_eq!(
        fx.context(1).setup_commands,
        ["c1", "c2 /static/inputs/data.txt", "e1"]
    );
    session
        .spawn(SpawnOptions::new().disable_setup(true).extra_setup("x"))
        .await
        .unwrap();
    assert!(fx.context(2).setup_commands.is_empty());
    assert_eq!(session.runtime_count(), 3);

    let agent = Session::builder(&fx.registry, fx.spec(SPEC))
        .mode(Mode::Agent)
        .prepare()
        .await
        .unwrap();
    agent.spawn(SpawnOptions::new()).await.unwrap();
    let ctx = fx.context(3);
    assert_eq!(ctx.setup_commands, ["c1", "c2 /static/inputs/data.txt"]);
    assert_eq!(ctx.mode, Mode::Agent);
    assert_eq!(&ctx.session_id, agent.id());
    assert_eq!(ctx.workspace, agent.workspace().path());
    session.close().await.unwrap();
    agent.close().await.unwrap();
}

#[tokio::test]
async fn env_layers_and_placeholders_reach_the_runtime_rendered() {
    let fx = Fixture::new();
    let session = Session::builder(&fx.registry, fx.spec(SPEC))
        .prepare()
        .await
        .unwrap();
    let rt = session
        .spawn(
            SpawnOptions::new()
                .env("LEVEL", "spawn")
                .env("ASSET", "{{static:data}}"),
        )
        .await
        .unwrap();
    let env = fx.context(0).env;
    let expected: BTreeMap<String, String> = [
        ("ASSET", "/static/inputs/data.txt"),
        ("DATA", "/static/inputs/data.txt"),
        ("LEVEL", "spawn"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(env, expected, "no host variable without include_os_env");

    let out = rt
        .execute(ExecRequest::new("cat {{static:data}}").env("F", "{{static:data}}/x"))
        .await
        .unwrap();
    assert_eq!(out.stdout_text(), "cat /static/inputs/data.txt");
    let mut stream = rt
        .stream(ExecRequest::new("wc {{static:data}}"))
        .await
        .unwrap();
    match stream.next_event().await.unwrap() {
        RuntimeEvent::Finished(r) => assert_eq!(r.stdout_text(), "wc /static/inputs/data.txt"),
        other => panic!("unexpected event {other:?}"),
    }
    let events = fx.log.events();
    let id = rt.id();
    assert!(
        events.contains(&format!(
            "exec {id}: cat /static/inputs/data.txt [F=/static/inputs/data.txt/x]"
        )),
        "{events:?}"
    );

    // An unknown placeholder never reaches the runtime.
    let err = rt
        .execute(ExecRequest::new("cat {{static:nope}}"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "cannot render placeholders");
    assert!(matches!(err, RuntimeError::Placeholder(_)));
    assert!(!fx.log.events().iter().any(|e| e.contains("nope")));

    // Case data is rendered the same way.
    let case = json!({"args": ["{{static:data}}", 1], "env": {"P": "{{static:data}}"}});
    assert_eq!(
        session.render_value(&case).unwrap(),
        json!({"args": ["/static/inputs/data.txt", 1], "env": {"P": "/static/inputs/data.txt"}})
    );
    let err = session.render("{{static:missing}}").unwrap_err();
    assert!(matches!(err, subrun::Error::Placeholder(_)), "{err:?}");
    assert!(
        err.to_string().contains("unknown static asset `missing`"),
        "{err}"
    );
    session.close().await.unwrap();
}

#[tokio::test]
async fn assets_are_copied_into_the_workspace_in_agent_mode_only() {
    let fx = Fixture::new();
    let eval = Session::builder(&fx.registry, fx.spec(SPEC))
        .prepare()
        .await
        .unwrap();
    assert!(listing(eval.workspace().path()).is_empty());
    let agent = Session::builder(&fx.registry, fx.spec(SPEC))
        .mode(Mode::Agent)
        .prepare()
        .await
        .unwrap();
    assert_eq!(
        agent.workspace().read_file("inputs/data.txt").unwrap(),
        b"spec data"
    );
    // The copy is part of the baseline, so it is no change.
    assert!(agent.diff_since_baseline().unwrap().is_empty());
    eval.close().await.unwrap();
    agent.close().await.unwrap();
}

#[tokio::test]
async fn caller_assets_override_spec_assets_and_resolve_against_their_own_base() {
    let fx = Fixture::new();
    let caller = tempfile::tempdir().unwrap();
    host_file(caller.path(), "mine.txt", b"caller data", 0o644);
    let session = Session::builder(&fx.registry, fx.spec(SPEC))
        .mode(Mode::Agent)
        .asset("data", "mine.txt")
        .assets_base_dir(caller.path())
        .prepare()
        .await
        .unwrap();
    let data = session.assets().iter().find(|a| a.name == "data").unwrap();
    assert_eq!(
        data.host_path,
        caller.path().canonicalize().unwrap().join("mine.txt")
    );
    assert_eq!(data.save_path, "data");
    assert_eq!(session.asset_paths()["data"], "/static/data");
    assert_eq!(
        session.workspace().read_file("data").unwrap(),
        b"caller data"
    );
    session.close().await.unwrap();

    let err = Session::builder(&fx.registry, fx.spec(SPEC))
        .asset("other", "missing.txt")
        .assets_base_dir(caller.path())
        .prepare()
        .await
        .unwrap_err();
    let Error::Assets(errs) = &err else {
        panic!("{err}")
    };
    assert_eq!(errs[0].key, "assets.other.path");
    assert!(errs[0].message.contains("missing.txt"), "{err}");
}

#[tokio::test]
async fn prepare_refuses_what_the_runtime_refuses_and_unknown_placeholders() {
    let fx = Fixture::new();
    let err = Session::builder(&fx.registry, fx.spec("type: fake\nname: refused\n"))
        .prepare()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("the fake runtime refuses this"),
        "{err}"
    );
    let err = Session::builder(
        &fx.registry,
        fx.spec("type: fake\nsetup: { commands: ['cat {{static:x}}'] }\n"),
    )
    .prepare()
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("unknown static asset `x`"),
        "{err}"
    );
    let err = Session::builder(&Registry::new(), fx.spec("type: fake\n"))
        .prepare()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown runtime type `fake`"),
        "{err}"
    );
}

#[tokio::test]
async fn initial_dir_and_snapshot_seed_the_workspace_without_touching_the_originals() {
    let fx = Fixture::new();
    let seed = subrun::workspace::Workspace::create_temp().unwrap();
    seed.write_file("from_snapshot.txt", "snap").unwrap();
    seed.write_file("shared.txt", "snapshot version").unwrap();
    let snapshot = Snapshot::capture(&seed, &SnapshotConfig::default()).unwrap();
    let initial = tempfile::tempdir().unwrap();
    host_file(initial.path(), "main.py", b"print(1)\n", 0o755);
    host_file(initial.path(), "shared.txt", b"dir version", 0o644);
    let before = listing(initial.path());

    let session = Session::builder(&fx.registry, fx.spec("type: fake\n"))
        .initial_snapshot(snapshot)
        .initial_dir(initial.path())
        .prepare()
        .await
        .unwrap();
    let ws = session.workspace();
    assert_eq!(ws.read_file("from_snapshot.txt").unwrap(), b"snap");
    assert_eq!(ws.read_file("shared.txt").unwrap(), b"dir version");
    assert_eq!(listing(ws.path())["main.py"], "file 755 print(1)\n");
    ws.write_file("main.py", "changed").unwrap();
    assert_eq!(listing(initial.path()), before);
    session.close().await.unwrap();
}

#[tokio::test]
async fn files_in_and_out_and_checkpoints() {
    let fx = Fixture::new();
    let export = tempfile::tempdir().unwrap();
    let yaml = format!(
        "type: fake\nsnapshot: {{ compression: xz, archive_save_dir: {} }}\n",
        export.path().join("archives").display()
    );
    let session = Session::builder(&fx.registry, fx.spec(&yaml))
        .mode(Mode::Agent)
        .prepare()
        .await
        .unwrap();
    session
        .materialize_input_files(&[InputFile::data("in/case.json", json!({"n": 1}))])
        .unwrap();
    session
        .workspace()
        .write_file("out/answer.txt", "42\n")
        .unwrap();
    let files = session.get_file_contents(&["out/*.txt", "in/*"]).unwrap();
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["in/case.json", "out/answer.txt"]
    );
    assert_eq!(files["out/answer.txt"].as_text(), Some("42\n"));
    assert!(session.get_file_contents(&["../*"]).is_err());

    let cp = session.finish_checkpoint().unwrap();
    let created: Vec<&str> = cp.diff.created.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(created, ["in", "in/case.json", "out", "out/answer.txt"]);
    let path = cp.archive_path.clone().unwrap();
    assert!(path.starts_with(export.path().join("archives")));
    assert_eq!(
        Snapshot::from_path(&path).unwrap().checksum(),
        cp.snapshot.checksum()
    );
    assert_eq!(session.baseline().checksum(), cp.snapshot.checksum());

    session
        .workspace()
        .write_file("out/answer.txt", "43\n")
        .unwrap();
    let cp2 = session.finish_checkpoint().unwrap();
    assert_eq!(cp2.diff.modified.len(), 1);
    assert!(cp2.diff.created.is_empty());
    session.workspace().write_file("late.txt", "x").unwrap();
    let snap = session.update_snapshot().unwrap();
    assert!(snap.entry("late.txt").is_some());
    assert!(session.diff_since_baseline().unwrap().is_empty());
    session.close().await.unwrap();

    let eval = Session::builder(&fx.registry, fx.spec("type: fake\n"))
        .prepare()
        .await
        .unwrap();
    let err = eval.finish_checkpoint().unwrap_err();
    assert!(
        matches!(err, Error::Snapshot(SnapshotError::NotAgentMode)),
        "{err}"
    );
    eval.close().await.unwrap();
}

#[tokio::test]
async fn close_cleans_up_every_runtime_and_removes_the_workspace() {
    let fx = Fixture::new();
    let session = Session::builder(&fx.registry, fx.spec("type: fake\n"))
        .prepare()
        .await
        .unwrap();
    let a = session.spawn(SpawnOptions::new()).await.unwrap();
    let b = session.spawn(SpawnOptions::new()).await.unwrap();
    let path = session.workspace().path().to_path_buf();
    session.close().await.unwrap();
    let events = fx.log.events();
    assert!(events.contains(&format!("cleanup {}", a.id())));
    assert!(events.contains(&format!("cleanup {}", b.id())));
    assert!(!events.iter().any(|e| e.starts_with("terminate")));
    assert!(!path.exists());
}

#[tokio::test]
async fn close_goes_on_after_a_failing_cleanup() {
    let fx = Fixture::with(true);
    let session = Session::builder(&fx.registry, fx.spec("type: fake\n"))
        .prepare()
        .await
        .unwrap();
    let a = session.spawn(SpawnOptions::new()).await.unwrap();
    let b = session.spawn(SpawnOptions::new()).await.unwrap();
    let path = session.workspace().path().to_path_buf();
    let err = session.close().await.unwrap_err();
    assert_eq!(err.to_string(), "remove fake failed");
    let events = fx.log.events();
    assert!(events.contains(&format!("cleanup {}", a.id())));
    assert!(events.contains(&format!("cleanup {}", b.id())));
    assert!(!path.exists());
}

#[tokio::test]
async fn dropping_without_close_terminates_runtimes_and_removes_the_workspace() {
    let fx = Fixture::new();
    let session = Session::builder(&fx.registry, fx.spec("type: fake\n"))
        .prepare()
        .await
        .unwrap();
    let rt = session.spawn(SpawnOptions::new()).await.unwrap();
    session.workspace().write_file("a/b.txt", "x").unwrap();
    let path = session.workspace().path().to_path_buf();
    drop(session);
    assert!(fx.log.events().contains(&format!("terminate {}", rt.id())));
    assert!(!path.exists());
}

#[test]
fn a_panic_mid_run_still_terminates_runtimes_and_removes_the_workspace() {
    let fx = Fixture::new();
    let seen: Arc<Mutex<Option<(std::path::PathBuf, RuntimeId)>>> = Arc::default();
    let seen2 = seen.clone();
    let registry = fx.registry.clone();
    let spec = fx.spec("type: fake\n");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async move {
            let session = Session::builder(&registry, spec).prepare().await.unwrap();
            let runtime = session.spawn(SpawnOptions::new()).await.unwrap();
            *seen2.lock().unwrap() = Some((
                session.workspace().path().to_path_buf(),
                runtime.id().clone(),
            ));
            panic!("a grader bug mid-run");
        });
    }));
    assert!(outcome.is_err());
    let (path, id) = seen.lock().unwrap().clone().unwrap();
    assert!(!path.exists(), "{} survived the panic", path.display());
    assert!(fx.log.events().contains(&format!("terminate {id}")));
}

/// One route per error: a spec problem the runtime finds only at spawn is `Error::Spec`, as
/// at `prepare`, and a placeholder in spawn options that does not render is
/// `Error::Placeholder`, as in case data; neither comes wrapped in `Error::Runtime`.
#[tokio::test]
async fn spawn_reports_spec_and_placeholder_errors_by_the_route_prepare_and_render_use() {
    let fx = Fixture::new();
    let session = Session::builder(&fx.registry, fx.spec(SPEC))
        .prepare()
        .await
        .unwrap();

    let err = session
        .spawn(SpawnOptions::new().env("REFUSE_AT_SPAWN", "1"))
        .await
        .err()
        .unwrap();
    match &err {
        Error::Spec(e) => assert_eq!(e.issues[0].key, "env.REFUSE_AT_SPAWN"),
        other => panic!("expected Error::Spec, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "env.yaml: env.REFUSE_AT_SPAWN: the fake runtime refuses this at spawn"
    );

    for opts in [
        SpawnOptions::new().env("ASSET", "{{static:nope}}"),
        SpawnOptions::new().extra_setup("cat {{static:nope}}"),
    ] {
        let err = session.spawn(opts).await.err().unwrap();
        assert!(matches!(err, Error::Placeholder(_)), "{err:?}");
        assert!(
            err.to_string().contains("unknown static asset `nope`"),
            "{err}"
        );
    }
    assert_eq!(session.runtime_count(), 0, "nothing was spawned");

    // A backend failure stays a runtime error.
    let lifted = Error::from(RuntimeError::backend("spawn", "it refused"));
    assert!(
        matches!(lifted, Error::Runtime(RuntimeError::Backend { .. })),
        "{lifted:?}"
    );
    session.close().await.unwrap();
}
