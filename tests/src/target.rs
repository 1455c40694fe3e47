//! A runtime under test: its registry, base spec, fixture directory and timing tolerance.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use subrun::runtime::RuntimeFactory;
use subrun::{
    Capabilities, EnvironmentSpec, ExecRequest, Registry, Session, SessionBuilder, SpawnOptions,
    SubmissionRuntime,
};
use tokio::sync::OnceCell;

use crate::fixtures::{self, Fixture};

/// The runtimes the suite is stamped out for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `subrun-local`.
    Local,
    /// `subrun-wasi`.
    Wasi,
    /// `subrun-docker`, against the real engine and the `subrun-test/busybox` image.
    Docker,
}

/// A runtime under test.
pub struct Target {
    /// Which runtime.
    pub kind: Kind,
    registry: Registry,
    base_spec: String,
    fixtures: PathBuf,
    ext: &'static str,
    /// What the runtime can do.
    pub caps: Capabilities,
    /// How late past a deadline a command may end and still count as on time.
    pub slack: Duration,
    /// Streamed runs in the no-lost-bytes case (fewer where each run costs milliseconds).
    pub stream_runs: usize,
}

impl Target {
    /// The shared target of `kind`, created on first use.
    ///
    /// # Panics
    /// When the runtime cannot be set up (for docker: no engine or no test image), with what to
    /// do about it. A missing prerequisite fails the suite; it never skips it.
    pub async fn get(kind: Kind) -> &'static Target {
        static LOCAL: OnceCell<Target> = OnceCell::const_new();
        static WASI: OnceCell<Target> = OnceCell::const_new();
        static DOCKER: OnceCell<Target> = OnceCell::const_new();
        match kind {
            Kind::Local => LOCAL.get_or_init(|| async { Self::local() }).await,
            Kind::Wasi => WASI.get_or_init(|| async { Self::wasi() }).await,
            Kind::Docker => DOCKER.get_or_init(Self::docker).await,
        }
    }

    fn with(
        kind: Kind,
        factory: Arc<dyn RuntimeFactory>,
        base_spec: &str,
        fixtures: &str,
        ext: &'static str,
    ) -> Self {
        let caps = factory.capabilities();
        let mut registry = Registry::new();
        registry.register(factory).expect("register");
        let (slack, stream_runs) = match kind {
            Kind::Local => (Duration::from_millis(500), 300),
            Kind::Wasi => (Duration::from_millis(100), 300),
            Kind::Docker => (Duration::from_millis(1500), 40),
        };
        Self {
            kind,
            registry,
            base_spec: base_spec.to_string(),
            fixtures: PathBuf::from(fixtures),
            ext,
            caps,
            slack,
            stream_runs,
        }
    }

    fn local() -> Self {
        Self::with(
            Kind::Local,
            Arc::new(subrun_local::LocalRuntimeFactory::new()),
            "type: local\n",
            fixtures::NATIVE_DIR,
            "",
        )
    }

    fn wasi() -> Self {
        let mut cfg = subrun_wasi::WasiEngineConfig::default();
        // One compiled-module cache for every test process of this build (nextest runs each
        // test in its own process); writes are atomic, so processes can share it.
        cfg.cache_dir = Some(PathBuf::from(concat!(env!("OUT_DIR"), "/wasm-cache")));
        let factory = subrun_wasi::WasiRuntimeFactory::new(cfg).expect("wasi engine");
        Self::with(
            Kind::Wasi,
            Arc::new(factory),
            "type: wasi\n",
            fixtures::WASM_DIR,
            ".wasm",
        )
    }

    async fn docker() -> Self {
        let factory = subrun_docker::DockerRuntimeFactory::connect()
            .await
            .expect("the docker tests need a running Docker engine");
        let image = subrun_docker::TEST_IMAGE;
        assert!(
            factory
                .has_image(image)
                .await
                .expect("query the Docker engine"),
            "the docker tests need the image {image}: run scripts/build-test-images.sh"
        );
        let spec = format!("type: docker\ndocker: {{ image: \"{image}\" }}\n");
        Self::with(
            Kind::Docker,
            Arc::new(factory),
            &spec,
            fixtures::NATIVE_DIR,
            "",
        )
    }

    /// The command that runs fixture `f` with `args` (shell-quoted), through the `fixtures`
    /// asset placeholder.
    pub fn cmd(&self, f: Fixture, args: &[&str]) -> String {
        let mut c = format!("{{{{static:fixtures}}}}/{}{}", f.name(), self.ext);
        for a in args {
            c.push(' ');
            c.push_str(&shell_words::quote(a));
        }
        c
    }

    /// A spec: the target's base plus `extra` YAML sections.
    pub fn spec(&self, extra: &str) -> EnvironmentSpec {
        let text = format!("{}{extra}", self.base_spec);
        EnvironmentSpec::from_yaml_str(&text, "conformance.yaml", std::env::temp_dir())
            .unwrap_or_else(|e| panic!("test spec is invalid: {e}\n{text}"))
    }

    /// A session on `extra` with the fixtures asset, customized by `build`.
    pub async fn session_with(
        &self,
        extra: &str,
        build: impl FnOnce(SessionBuilder) -> SessionBuilder,
    ) -> Session {
        let b =
            Session::builder(&self.registry, self.spec(extra)).asset("fixtures", &self.fixtures);
        build(b)
            .prepare()
            .await
            .unwrap_or_else(|e| panic!("prepare the session: {e}"))
    }

    /// A session on `extra` and one runtime spawned in it.
    pub async fn spawn(&self, extra: &str) -> (Session, Arc<dyn SubmissionRuntime>) {
        self.spawn_with(extra, SpawnOptions::new()).await
    }

    /// As [`spawn`](Self::spawn) with spawn options.
    pub async fn spawn_with(
        &self,
        extra: &str,
        opts: SpawnOptions,
    ) -> (Session, Arc<dyn SubmissionRuntime>) {
        let s = self.session_with(extra, |b| b).await;
        let rt = s
            .spawn(opts)
            .await
            .unwrap_or_else(|e| panic!("spawn: {}", chain(&e)));
        (s, rt)
    }

    /// Processes whose command line contains `marker`, seen from the runtime's side: the
    /// host's /proc for local, `ps` inside the container for docker, none for wasi (guests
    /// have no processes).
    pub async fn processes_matching(
        &self,
        rt: &dyn SubmissionRuntime,
        marker: &str,
    ) -> Vec<String> {
        match self.kind {
            Kind::Wasi => Vec::new(),
            Kind::Docker => {
                let r = rt
                    .execute(ExecRequest::new("ps -o pid,args"))
                    .await
                    .expect("ps in the container");
                r.stdout_text()
                    .lines()
                    .filter(|l| l.contains(marker) && !l.contains("ps -o"))
                    .map(str::to_string)
                    .collect()
            }
            Kind::Local => host_processes_matching(marker),
        }
    }
}

/// Host processes whose NUL-separated command line, with spaces for NULs, contains `marker`.
pub fn host_processes_matching(marker: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(raw) = std::fs::read(e.path().join("cmdline")) {
            let line = String::from_utf8_lossy(&raw).replace('\0', " ");
            if line.contains(marker) {
                out.push(format!(
                    "{} {}",
                    e.file_name().to_string_lossy(),
                    line.trim()
                ));
            }
        }
    }
    out
}

/// An error and its sources on one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
