//! The runtimes under measurement, each behind the public engine API: a registry with its
//! factory, a session with the guest fixtures as the static asset `fixtures`, `spawn`,
//! `execute`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use subrun::runtime::RuntimeFactory;
use subrun::{
    EnvironmentSpec, ExecRequest, Registry, RuntimeResult, Session, SpawnOptions, SubmissionRuntime,
};
use subrun_tests::fixtures::{self, Fixture};
use subrun_tests::target::chain;
use subrun_wasi::{WasiEngineConfig, WasiRuntimeFactory};

/// Why something could not be measured or went wrong, as one line.
pub(crate) type Error = String;

/// A runtime kind, set up for the bench.
pub(crate) struct Runtime {
    /// `wasi`, `local` or `docker`.
    pub(crate) name: &'static str,
    registry: Registry,
    base_spec: String,
    fixtures: PathBuf,
    ext: &'static str,
}

impl Runtime {
    fn with(name: &'static str, factory: Arc<dyn RuntimeFactory>, base_spec: String) -> Self {
        let mut registry = Registry::new();
        registry
            .register(factory)
            .expect("a new registry has no runtime yet");
        let (fixtures, ext) = if name == "wasi" {
            (fixtures::WASM_DIR, ".wasm")
        } else {
            (fixtures::NATIVE_DIR, "")
        };
        Self {
            name,
            registry,
            base_spec,
            fixtures: PathBuf::from(fixtures),
            ext,
        }
    }

    /// `local`: host processes running the fixtures built natively.
    pub(crate) fn local() -> Self {
        Self::with(
            "local",
            Arc::new(subrun_local::LocalRuntimeFactory::new()),
            "type: local\n".into(),
        )
    }

    /// `wasi` on `factory`'s engine, running the fixtures built for wasm32-wasip1.
    pub(crate) fn wasi(factory: WasiRuntimeFactory) -> Self {
        Self::with("wasi", Arc::new(factory), "type: wasi\n".into())
    }

    /// `docker` with the test image, or why it cannot be measured here.
    pub(crate) async fn docker() -> Result<Self, Error> {
        let factory = tokio::time::timeout(
            Duration::from_secs(10),
            subrun_docker::DockerRuntimeFactory::connect(),
        )
        .await
        .map_err(|_| "the Docker engine did not answer within 10 s".to_string())?
        .map_err(|e| format!("no Docker engine: {}", chain(&e)))?;
        let image = subrun_docker::TEST_IMAGE;
        let present = factory
            .has_image(image)
            .await
            .map_err(|e| format!("cannot query the Docker engine: {}", chain(&e)))?;
        if !present {
            return Err(format!(
                "image {image} is missing (run scripts/build-test-images.sh)"
            ));
        }
        Ok(Self::with(
            "docker",
            Arc::new(factory),
            format!("type: docker\ndocker: {{ image: \"{image}\" }}\n"),
        ))
    }

    /// The command that runs fixture `f` with `args`, through the `fixtures` asset.
    pub(crate) fn cmd(&self, f: Fixture, args: &[&str]) -> String {
        let mut c = format!("{{{{static:fixtures}}}}/{}{}", f.name(), self.ext);
        for a in args {
            c.push(' ');
            c.push_str(&shell_words::quote(a));
        }
        c
    }

    /// A session on the base spec plus `extra` YAML, with the fixtures asset and, when
    /// given, `initial_dir` copied into the workspace.
    pub(crate) async fn session(
        &self,
        extra: &str,
        initial_dir: Option<&Path>,
    ) -> Result<Session, Error> {
        let text = format!("{}{extra}", self.base_spec);
        let spec = EnvironmentSpec::from_yaml_str(&text, "bench.yaml", std::env::temp_dir())
            .map_err(|e| format!("bench spec is invalid: {e}\n{text}"))?;
        self.session_on(spec, initial_dir).await
    }

    /// A session on `spec` with the fixtures asset (and `initial_dir` copied in).
    pub(crate) async fn session_on(
        &self,
        spec: EnvironmentSpec,
        initial_dir: Option<&Path>,
    ) -> Result<Session, Error> {
        let mut b = Session::builder(&self.registry, spec).asset("fixtures", &self.fixtures);
        if let Some(d) = initial_dir {
            b = b.initial_dir(d);
        }
        b.prepare()
            .await
            .map_err(|e| format!("prepare a {} session: {}", self.name, chain(&e)))
    }
}

/// Spawns a runtime in `session`.
pub(crate) async fn spawn(session: &Session) -> Result<Arc<dyn SubmissionRuntime>, Error> {
    session
        .spawn(SpawnOptions::new())
        .await
        .map_err(|e| format!("spawn: {}", chain(&e)))
}

/// Executes `command` once; the timed region is the `execute` call alone (the request is
/// built before, the result checked after).
pub(crate) async fn timed_execute(
    rt: &dyn SubmissionRuntime,
    command: &str,
) -> Result<(Duration, RuntimeResult), Error> {
    let request = ExecRequest::new(command);
    let started = Instant::now();
    let result = rt.execute(request).await;
    let took = started.elapsed();
    let result = result.map_err(|e| format!("execute `{command}`: {}", chain(&e)))?;
    Ok((took, result))
}

/// Checks that `r` exited 0 with exactly `stdout`.
pub(crate) fn expect_stdout(r: &RuntimeResult, stdout: &str) -> Result<(), Error> {
    if r.success() && r.stdout == stdout.as_bytes() {
        return Ok(());
    }
    Err(format!(
        "expected exit 0 and stdout {stdout:?}, got {:?}, stdout {:?}, stderr {:?}",
        r.outcome,
        truncate(&r.stdout_text(), 200),
        truncate(&r.stderr_text(), 400)
    ))
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

/// The engine settings of every in-process wasi measurement: the defaults, with the on-disk
/// cache in `cache_dir` (never the user's own cache).
pub(crate) fn wasi_factory(cache_dir: &Path) -> Result<WasiRuntimeFactory, Error> {
    let mut cfg = WasiEngineConfig::default();
    cfg.cache_dir = Some(cache_dir.to_path_buf());
    WasiRuntimeFactory::new(cfg).map_err(|e| format!("create the wasi engine: {}", chain(&e)))
}
