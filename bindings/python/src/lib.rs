//! # subrun for Python
//!
//! The engine as a CPython extension module (`subrun._subrun`, re-exported by the `subrun`
//! package): sessions, runtimes and results, with the GIL released while guests run.
//!
//! ```text
//!  Python thread ──▶ detach (GIL released) ──▶ tokio runtime (one per process) ──▶ Session / runtime
//!        ▲                                            │ every 50 ms: Python signals checked;
//!        └──────────── Result / subrun.Error ◀────────┘ Ctrl-C drops the future = kills the command
//! ```
//!
//! A failing submission is a `Result`, never an exception (the Rust API's rule); exceptions,
//! all under `subrun.Error`, mean the engine could not do its job.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use subrun::runtime::RuntimeFactory;
use subrun::{
    EnvironmentSpec, ExecRequest, Outcome, Registry, RuntimeError, RuntimeResult,
    Session as CoreSession, SpawnOptions, SubmissionRuntime,
};

pyo3::create_exception!(
    subrun,
    Error,
    PyException,
    "The engine could not do its job. Every exception subrun raises derives from it; a \
     failing submission is a Result, not an exception."
);
pyo3::create_exception!(
    subrun,
    SpecError,
    Error,
    "An invalid environment spec; the message names the key."
);
pyo3::create_exception!(
    subrun,
    WorkspaceError,
    Error,
    "A workspace, snapshot or input-file operation failed; the message names the path."
);
pyo3::create_exception!(
    subrun,
    SetupError,
    Error,
    "A setup command failed, so the runtime was not spawned; the message carries its output."
);
pyo3::create_exception!(
    subrun,
    CommandError,
    Error,
    "The command cannot be run as written (for example shell syntax on the wasi runtime)."
);
pyo3::create_exception!(
    subrun,
    CleanedUpError,
    Error,
    "The session or runtime was closed or cleaned up."
);
pyo3::create_exception!(
    subrun,
    BackendError,
    Error,
    "The runtime's backend failed (wasmtime, the OS, the Docker engine)."
);

/// How often a blocked call looks at Python's signal handlers (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// The process's engine: one tokio runtime and the registry of runtimes.
struct Engine {
    rt: tokio::runtime::Runtime,
    registry: Registry,
}

static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();

fn engine() -> PyResult<&'static Engine> {
    let made = ENGINE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("subrun")
            .build()
            .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
        let wasi = subrun_wasi::WasiRuntimeFactory::new(subrun_wasi::WasiEngineConfig::default())
            .map_err(|e| format!("cannot create the wasi engine: {}", chain(&e)))?;
        let mut registry = Registry::new();
        for factory in [
            Arc::new(wasi) as Arc<dyn RuntimeFactory>,
            Arc::new(subrun_local::LocalRuntimeFactory::new()),
        ] {
            registry
                .register(factory)
                .map_err(|e| format!("cannot register a runtime: {e}"))?;
        }
        Ok(Engine { rt, registry })
    });
    made.as_ref().map_err(|m| Error::new_err(m.clone()))
}

/// `e` and every source below it, joined by `: ` (each level said once).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}

fn runtime_err(e: &RuntimeError) -> PyErr {
    let message = chain(e);
    match e {
        RuntimeError::Spec(_) => SpecError::new_err(message),
        RuntimeError::SetupFailed { .. } => SetupError::new_err(message),
        RuntimeError::InvalidCommand { .. } => CommandError::new_err(message),
        RuntimeError::CleanedUp { .. } => CleanedUpError::new_err(message),
        _ => BackendError::new_err(message),
    }
}

fn session_err(e: subrun::Error) -> PyErr {
    let message = chain(&e);
    match e {
        subrun::Error::Runtime(r) => runtime_err(&r),
        subrun::Error::Spec(_) | subrun::Error::Assets(_) | subrun::Error::Placeholder(_) => {
            SpecError::new_err(message)
        }
        subrun::Error::Workspace(_) | subrun::Error::Snapshot(_) | subrun::Error::Input(_) => {
            WorkspaceError::new_err(message)
        }
        _ => Error::new_err(message),
    }
}

/// Runs `fut` on the engine with the GIL released. Python's signal handlers run every
/// [`SIGNAL_POLL`]; when one raises (Ctrl-C), the future is dropped — which ends the command
/// it drives — and the exception propagates.
fn block_on<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let engine = engine()?;
    let mut fut = Box::pin(fut);
    loop {
        let polled = py.detach(|| {
            engine
                .rt
                .block_on(async { tokio::time::timeout(SIGNAL_POLL, &mut fut).await.ok() })
        });
        if let Some(out) = polled {
            return Ok(out);
        }
        if let Err(e) = py.check_signals() {
            let _context = engine.rt.enter();
            drop(fut);
            return Err(e);
        }
    }
}

/// An environment spec: which runtime, its limits, assets, setup commands.
#[pyclass(name = "Spec", module = "subrun", frozen)]
struct PySpec {
    spec: EnvironmentSpec,
}

#[pymethods]
impl PySpec {
    /// Parses a YAML document; relative paths resolve against `base_dir` (default: the
    /// current directory).
    #[staticmethod]
    #[pyo3(signature = (text, base_dir = None))]
    fn from_yaml(text: &str, base_dir: Option<PathBuf>) -> PyResult<Self> {
        let base = match base_dir {
            Some(b) => b,
            None => std::env::current_dir().map_err(|e| Error::new_err(e.to_string()))?,
        };
        EnvironmentSpec::from_yaml_str(text, "<yaml>", base)
            .map(|spec| Self { spec })
            .map_err(|e| SpecError::new_err(e.to_string()))
    }

    /// Reads a spec file (YAML, or JSON when the name ends in `.json`).
    #[staticmethod]
    #[expect(
        clippy::needless_pass_by_value,
        reason = "pyo3 extracts arguments by value"
    )]
    fn from_path(path: PathBuf) -> PyResult<Self> {
        EnvironmentSpec::from_path(&path)
            .map(|spec| Self { spec })
            .map_err(|e| SpecError::new_err(e.to_string()))
    }

    /// The spec `subrun run` uses without `--spec`: wasi, default limits, the workspace at
    /// `/workspace` and every installed interpreter guest (`python`, `node`...).
    #[staticmethod]
    fn default() -> PyResult<Self> {
        default_spec().map(|spec| Self { spec })
    }

    /// The runtime kind (`wasi`, `local`, `docker`).
    #[getter]
    fn kind(&self) -> String {
        self.spec.kind.as_str().to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "Spec(kind={:?}, name={:?})",
            self.spec.kind.as_str(),
            self.spec.name
        )
    }
}

fn default_spec() -> PyResult<EnvironmentSpec> {
    let base = std::env::current_dir().map_err(|e| Error::new_err(e.to_string()))?;
    subrun_wasi::guests::default_spec(subrun_wasi::guests::guest_dir().as_deref(), &base)
        .map_err(|e| SpecError::new_err(e.to_string()))
}

/// How an execution ended.
#[pyclass(name = "Outcome", module = "subrun", frozen)]
struct PyOutcome {
    outcome: Outcome,
}

#[pymethods]
impl PyOutcome {
    /// `exited`, `signaled`, `timed_out`, `resource_exceeded`, `trapped` or `killed`.
    #[getter]
    fn kind(&self) -> String {
        serde_json::to_value(&self.outcome)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str().map(str::to_string)))
            .unwrap_or_default()
    }

    /// The exit status, for `exited`.
    #[getter]
    fn code(&self) -> Option<i32> {
        match self.outcome {
            Outcome::Exited { code } => Some(code),
            _ => None,
        }
    }

    /// The signal number, for `signaled`.
    #[getter]
    fn signal(&self) -> Option<i32> {
        match self.outcome {
            Outcome::Signaled { signal } => Some(signal),
            _ => None,
        }
    }

    /// Which limit (`memory`, `fuel`, `output`, `disk`, `processes`), for `resource_exceeded`.
    #[getter]
    fn resource(&self) -> Option<String> {
        match &self.outcome {
            Outcome::ResourceExceeded { resource } => serde_json::to_value(resource)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string)),
            _ => None,
        }
    }

    /// What kind of trap, for `trapped`.
    #[getter]
    fn trap(&self) -> Option<String> {
        match &self.outcome {
            Outcome::Trapped { trap } => Some(trap.to_string()),
            _ => None,
        }
    }

    /// True for `exited` with status 0.
    #[getter]
    fn ok(&self) -> bool {
        self.outcome.is_success()
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.outcome == other.outcome
    }

    fn __str__(&self) -> String {
        self.outcome.to_string()
    }

    fn __repr__(&self) -> String {
        format!("Outcome({})", self.outcome)
    }
}

/// What an execution used.
#[pyclass(name = "Usage", module = "subrun", frozen, get_all)]
struct PyUsage {
    /// Wall time in seconds.
    wall_time: f64,
    /// CPU time in seconds, where the runtime measures it.
    cpu_time: Option<f64>,
    /// Fuel consumed, when the spec sets `limits.fuel`.
    fuel_consumed: Option<u64>,
    /// Peak memory in bytes, where measured.
    peak_memory: Option<u64>,
    /// Bytes written on stdout, including any past the cap.
    stdout_bytes: u64,
    /// Bytes written on stderr, including any past the cap.
    stderr_bytes: u64,
    /// The deadline applied, in seconds.
    deadline: Option<f64>,
}

#[pymethods]
impl PyUsage {
    fn __repr__(&self) -> String {
        let peak = self
            .peak_memory
            .map_or_else(|| "None".to_string(), |p| p.to_string());
        format!(
            "Usage(wall_time={:.6}, peak_memory={peak}, stdout_bytes={}, stderr_bytes={})",
            self.wall_time, self.stdout_bytes, self.stderr_bytes
        )
    }
}

/// The result of one execution: how it ended, its exact output, what it used.
#[pyclass(name = "Result", module = "subrun", frozen)]
struct PyResult_ {
    result: RuntimeResult,
}

#[pymethods]
impl PyResult_ {
    /// How it ended.
    #[getter]
    fn outcome(&self) -> PyOutcome {
        PyOutcome {
            outcome: self.result.outcome.clone(),
        }
    }

    /// The exit code, the same on every runtime (124 timeout, 127 not found, 137 killed...).
    #[getter]
    fn exit_code(&self) -> i32 {
        self.result.exit_code
    }

    /// The exact bytes written on stdout, up to `limits.output`.
    #[getter]
    fn stdout<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.result.stdout)
    }

    /// The exact bytes written on stderr, up to `limits.output`.
    #[getter]
    fn stderr<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.result.stderr)
    }

    /// stdout decoded as UTF-8 (invalid bytes replaced).
    #[getter]
    fn stdout_text(&self) -> String {
        self.result.stdout_text().into_owned()
    }

    /// stderr decoded as UTF-8 (invalid bytes replaced).
    #[getter]
    fn stderr_text(&self) -> String {
        self.result.stderr_text().into_owned()
    }

    /// True when stdout reached the cap and bytes were dropped.
    #[getter]
    fn stdout_truncated(&self) -> bool {
        self.result.stdout_truncated
    }

    /// True when stderr reached the cap and bytes were dropped.
    #[getter]
    fn stderr_truncated(&self) -> bool {
        self.result.stderr_truncated
    }

    /// True when the deadline ended it.
    #[getter]
    fn timed_out(&self) -> bool {
        self.result.timed_out
    }

    /// True when it exited with status 0.
    #[getter]
    fn ok(&self) -> bool {
        self.result.outcome.is_success()
    }

    /// What it used.
    #[getter]
    fn usage(&self) -> PyUsage {
        let u = &self.result.usage;
        PyUsage {
            wall_time: u.wall_time.as_secs_f64(),
            cpu_time: u.cpu_time.map(|d| d.as_secs_f64()),
            fuel_consumed: u.fuel_consumed,
            peak_memory: u.peak_memory,
            stdout_bytes: u.stdout_bytes,
            stderr_bytes: u.stderr_bytes,
            deadline: u.deadline.map(|d| d.as_secs_f64()),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Result(outcome={}, exit_code={}, stdout={} bytes, stderr={} bytes)",
            self.result.outcome,
            self.result.exit_code,
            self.result.stdout.len(),
            self.result.stderr.len()
        )
    }
}

/// A request from Python's arguments.
fn request(
    command: &str,
    timeout: Option<f64>,
    stdin: Option<Vec<u8>>,
    env: Option<BTreeMap<String, String>>,
) -> PyResult<ExecRequest> {
    let mut req = ExecRequest::new(command);
    if let Some(t) = timeout {
        let d = Duration::try_from_secs_f64(t).map_err(|_| {
            PyValueError::new_err(format!("timeout: {t} is not a duration in seconds"))
        })?;
        req = req.timeout(d);
    }
    if let Some(bytes) = stdin {
        req = req.stdin(bytes);
    }
    for (k, v) in env.unwrap_or_default() {
        req = req.env(k, v);
    }
    Ok(req)
}

/// A spawned runtime: run commands in it, kill them, clean it up.
#[pyclass(name = "Runtime", module = "subrun", frozen)]
struct PyRuntime {
    runtime: Arc<dyn SubmissionRuntime>,
}

#[pymethods]
impl PyRuntime {
    /// Runs `command` to its end and returns its Result (a failing command is a Result too).
    /// `stdin` is fed then closed; `timeout` in seconds replaces the spec's `limits.timeout`.
    #[pyo3(signature = (command, *, timeout = None, stdin = None, env = None))]
    fn execute(
        &self,
        py: Python<'_>,
        command: &str,
        timeout: Option<f64>,
        stdin: Option<Vec<u8>>,
        env: Option<BTreeMap<String, String>>,
    ) -> PyResult<PyResult_> {
        let req = request(command, timeout, stdin, env)?;
        let runtime = self.runtime.clone();
        block_on(py, async move { runtime.execute(req).await })?
            .map(|result| PyResult_ { result })
            .map_err(|e| runtime_err(&e))
    }

    /// Kills every running command of this runtime; returns once they have stopped.
    fn kill(&self, py: Python<'_>) -> PyResult<()> {
        let runtime = self.runtime.clone();
        block_on(py, async move { runtime.kill().await })?.map_err(|e| runtime_err(&e))
    }

    /// `pending`, `running`, `exited`, `killed` or `cleaned_up`.
    #[getter]
    fn state(&self) -> String {
        serde_json::to_value(self.runtime.state())
            .ok()
            .and_then(|v| v.get("state").and_then(|s| s.as_str().map(str::to_string)))
            .unwrap_or_default()
    }

    /// The runtime kind.
    #[getter]
    fn kind(&self) -> String {
        self.runtime.kind().as_str().to_string()
    }
}

/// A session: a spec, a workspace, and the runtimes spawned in it. Use it as a context
/// manager; closing it cleans up every runtime and removes the workspace.
#[pyclass(name = "Session", module = "subrun", frozen)]
struct PySession {
    inner: RwLock<Option<CoreSession>>,
}

impl PySession {
    fn with<T>(&self, f: impl FnOnce(&CoreSession) -> PyResult<T>) -> PyResult<T> {
        let guard = self
            .inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match guard.as_ref() {
            Some(s) => f(s),
            None => Err(CleanedUpError::new_err("the session is closed")),
        }
    }
}

/// Prepares a session on the engine.
fn prepare(
    py: Python<'_>,
    spec: Option<&PySpec>,
    workspace: Option<PathBuf>,
    assets: Option<BTreeMap<String, PathBuf>>,
) -> PyResult<CoreSession> {
    let engine = engine()?;
    let spec = match spec {
        Some(s) => s.spec.clone(),
        None => default_spec()?,
    };
    let mut builder = CoreSession::builder(&engine.registry, spec);
    if let Some(dir) = workspace {
        builder = builder.initial_dir(dir);
    }
    for (name, path) in assets.unwrap_or_default() {
        builder = builder.asset(name, path);
    }
    block_on(py, builder.prepare())?.map_err(session_err)
}

#[pymethods]
impl PySession {
    /// A session on `spec` (default: `Spec.default()`), its workspace a copy of `workspace`
    /// (the original is never modified), `assets` shown read-only at `/static/NAME`.
    #[new]
    #[pyo3(signature = (spec = None, *, workspace = None, assets = None))]
    #[expect(
        clippy::needless_pass_by_value,
        reason = "pyo3 extracts arguments by value"
    )]
    fn new(
        py: Python<'_>,
        spec: Option<PyRef<'_, PySpec>>,
        workspace: Option<PathBuf>,
        assets: Option<BTreeMap<String, PathBuf>>,
    ) -> PyResult<Self> {
        let session = prepare(py, spec.as_deref(), workspace, assets)?;
        Ok(Self {
            inner: RwLock::new(Some(session)),
        })
    }

    /// Spawns a runtime (setup commands run once, here); `env` adds spawn-level variables.
    #[pyo3(signature = (*, env = None))]
    fn spawn(&self, py: Python<'_>, env: Option<BTreeMap<String, String>>) -> PyResult<PyRuntime> {
        self.with(|s| {
            let mut opts = SpawnOptions::new();
            for (k, v) in env.unwrap_or_default() {
                opts = opts.env(k, v);
            }
            block_on(py, s.spawn(opts))?
                .map(|runtime| PyRuntime { runtime })
                .map_err(session_err)
        })
    }

    /// The contents of a workspace file: `str` when it is UTF-8 text, else `bytes`.
    fn get_file_contents(&self, py: Python<'_>, path: &str) -> PyResult<Py<PyAny>> {
        self.with(|s| {
            let mut files = s.get_file_contents(&[path]).map_err(session_err)?;
            let content = files
                .remove(path)
                .ok_or_else(|| WorkspaceError::new_err(format!("{path}: no such file")))?;
            Ok(match content {
                subrun::FileContent::Text(t) => t.into_pyobject(py)?.into_any().unbind(),
                subrun::FileContent::Bytes(b) => PyBytes::new(py, &b).into_any().unbind(),
            })
        })
    }

    /// The host path of the workspace (for reading what a command wrote).
    #[getter]
    fn workspace(&self) -> PyResult<PathBuf> {
        self.with(|s| Ok(s.workspace().path().to_path_buf()))
    }

    /// Cleans up every runtime and removes the workspace. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        match taken {
            Some(s) => block_on(py, s.close())?.map_err(session_err),
            None => Ok(()),
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }
}

/// Runs one command in a fresh session and returns its Result: the one-off case.
/// `workspace` is copied in (default: an empty workspace), `spec` defaults to
/// `Spec.default()`, `assets` maps names to host paths shown at `/static/NAME`.
#[pyfunction]
#[pyo3(signature = (command, *, workspace = None, spec = None, timeout = None, stdin = None, env = None, assets = None))]
#[expect(clippy::too_many_arguments, reason = "Python's keyword arguments")]
#[expect(
    clippy::needless_pass_by_value,
    reason = "pyo3 extracts arguments by value"
)]
fn run(
    py: Python<'_>,
    command: &str,
    workspace: Option<PathBuf>,
    spec: Option<PyRef<'_, PySpec>>,
    timeout: Option<f64>,
    stdin: Option<Vec<u8>>,
    env: Option<BTreeMap<String, String>>,
    assets: Option<BTreeMap<String, PathBuf>>,
) -> PyResult<PyResult_> {
    let req = request(command, timeout, stdin, env)?;
    let session = prepare(py, spec.as_deref(), workspace, assets)?;
    let result = block_on(py, async move {
        let out = match session.spawn(SpawnOptions::new()).await {
            Ok(runtime) => runtime.execute(req).await.map_err(subrun::Error::from),
            Err(e) => Err(e),
        };
        let closed = session.close().await;
        (out, closed)
    })?;
    let (out, closed) = result;
    let result = out.map_err(session_err)?;
    closed.map_err(session_err)?;
    Ok(PyResult_ { result })
}

/// The extension module.
#[pymodule]
fn _subrun(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_class::<PySpec>()?;
    m.add_class::<PySession>()?;
    m.add_class::<PyRuntime>()?;
    m.add_class::<PyResult_>()?;
    m.add_class::<PyOutcome>()?;
    m.add_class::<PyUsage>()?;
    m.add("Error", py.get_type::<Error>())?;
    m.add("SpecError", py.get_type::<SpecError>())?;
    m.add("WorkspaceError", py.get_type::<WorkspaceError>())?;
    m.add("SetupError", py.get_type::<SetupError>())?;
    m.add("CommandError", py.get_type::<CommandError>())?;
    m.add("CleanedUpError", py.get_type::<CleanedUpError>())?;
    m.add("BackendError", py.get_type::<BackendError>())?;
    Ok(())
}
