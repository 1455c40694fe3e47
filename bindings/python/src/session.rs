//! `subrun.Session`: a spec, a workspace, its assets and the runtimes spawned in it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyMapping, PyString, PyTuple};
use subrun::snapshot::{Snapshot, diff_snapshots};
use subrun::{FileContent, InputFile, Mode, Session as CoreSession, SpawnOptions};

use crate::aio::{ready, spawn_future};
use crate::engine::{block_on, engine};
use crate::errors::{CleanedUpError, SpecError, WorkspaceError, session_err};
use crate::input::{PyInputFile, input_file};
use crate::runtime::PyRuntime;
use crate::snapshot::{PyCheckpoint, PySnapshot, PyWorkspaceDiff, snapshot_err};
use crate::spec::{PySpec, default_spec};

/// How often a closing session looks again for a spawn still holding it.
const CLOSE_RETRY: Duration = Duration::from_millis(10);

/// A session: a spec, a workspace, and the runtimes spawned in it. Use it as a context
/// manager (`with`, or `async with`); closing it cleans up every runtime and removes the
/// workspace.
#[pyclass(name = "Session", module = "subrun", frozen)]
pub(crate) struct PySession {
    /// `None` once closed. An in-flight `spawn_async` holds a clone until it returns.
    inner: RwLock<Option<Arc<CoreSession>>>,
}

/// The options of the session constructor besides the spec.
pub(crate) struct Prepare {
    pub(crate) workspace: Option<PathBuf>,
    pub(crate) assets: Option<BTreeMap<String, PathBuf>>,
    pub(crate) mode: Mode,
    pub(crate) snapshot: Option<Snapshot>,
}

/// Prepares a session on the engine.
pub(crate) fn prepare(
    py: Python<'_>,
    spec: Option<&PySpec>,
    opts: Prepare,
) -> PyResult<CoreSession> {
    let engine = engine()?;
    let spec = match spec {
        Some(s) => s.spec.clone(),
        None => default_spec()?,
    };
    let mut builder = CoreSession::builder(&engine.registry, spec).mode(opts.mode);
    if let Some(snapshot) = opts.snapshot {
        builder = builder.initial_snapshot(snapshot);
    }
    if let Some(dir) = opts.workspace {
        builder = builder.initial_dir(dir);
    }
    for (name, path) in opts.assets.unwrap_or_default() {
        builder = builder.asset(name, path);
    }
    block_on(py, builder.prepare())?.map_err(session_err)
}

/// Closes `session` once no in-flight spawn holds it any more.
async fn close_when_free(mut session: Arc<CoreSession>) -> PyResult<()> {
    loop {
        match Arc::try_unwrap(session) {
            Ok(s) => return s.close().await.map_err(session_err),
            Err(held) => {
                session = held;
                tokio::time::sleep(CLOSE_RETRY).await;
            }
        }
    }
}

fn spawn_options(env: Option<BTreeMap<String, String>>) -> SpawnOptions {
    let mut opts = SpawnOptions::new();
    for (k, v) in env.unwrap_or_default() {
        opts = opts.env(k, v);
    }
    opts
}

impl PySession {
    /// The session, or `CleanedUpError` once closed.
    fn get(&self) -> PyResult<Arc<CoreSession>> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| CleanedUpError::new_err("the session is closed"))
    }

    fn take(&self) -> Option<Arc<CoreSession>> {
        self.inner
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

fn content_object(py: Python<'_>, content: FileContent) -> PyResult<Py<PyAny>> {
    Ok(match content {
        FileContent::Text(t) => t.into_pyobject(py)?.into_any().unbind(),
        FileContent::Bytes(b) => PyBytes::new(py, &b).into_any().unbind(),
    })
}

#[pymethods]
impl PySession {
    /// A session on `spec` (default: `Spec.default()`). Its workspace starts as `snapshot`
    /// restored, then a copy of `workspace` over it (the original is never modified);
    /// `assets` (name → host path) are shown read-only at `/static/NAME`. `mode` is
    /// `evaluation` (default) or `agent` (assets also copied in; `finish_checkpoint`).
    #[new]
    #[pyo3(signature = (spec = None, *, workspace = None, assets = None, mode = "evaluation", snapshot = None))]
    #[expect(
        clippy::needless_pass_by_value,
        reason = "pyo3 extracts arguments by value"
    )]
    fn new(
        py: Python<'_>,
        spec: Option<PyRef<'_, PySpec>>,
        workspace: Option<PathBuf>,
        assets: Option<BTreeMap<String, PathBuf>>,
        mode: &str,
        snapshot: Option<PyRef<'_, PySnapshot>>,
    ) -> PyResult<Self> {
        let mode: Mode = serde_json::from_value(serde_json::Value::String(mode.to_string()))
            .map_err(|_| {
                SpecError::new_err(format!(
                    "mode: unknown value {mode:?} (expected evaluation or agent)"
                ))
            })?;
        let opts = Prepare {
            workspace,
            assets,
            mode,
            snapshot: snapshot.map(|s| s.snapshot.clone()),
        };
        let session = prepare(py, spec.as_deref(), opts)?;
        Ok(Self {
            inner: RwLock::new(Some(Arc::new(session))),
        })
    }

    /// Spawns a runtime (setup commands run once, here); `env` adds spawn-level variables.
    #[pyo3(signature = (*, env = None))]
    fn spawn(&self, py: Python<'_>, env: Option<BTreeMap<String, String>>) -> PyResult<PyRuntime> {
        let session = self.get()?;
        block_on(py, async move { session.spawn(spawn_options(env)).await })?
            .map(|runtime| PyRuntime { runtime })
            .map_err(session_err)
    }

    /// As `spawn`, awaitable (a docker spawn creates and starts a container).
    #[pyo3(signature = (*, env = None))]
    fn spawn_async<'py>(
        &self,
        py: Python<'py>,
        env: Option<BTreeMap<String, String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let session = self.get()?;
        spawn_future(
            py,
            async move {
                session
                    .spawn(spawn_options(env))
                    .await
                    .map(|runtime| PyRuntime { runtime })
                    .map_err(session_err)
            },
            || {},
        )
    }

    /// Writes files into the workspace: a list of `InputFile`s, or a mapping of relative
    /// path → content (`str`, `bytes` or JSON-like data). Every file is validated and
    /// encoded before the first is written. Returns the normalized paths.
    fn materialize_input_files(&self, files: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
        let mut list: Vec<InputFile> = Vec::new();
        if let Ok(mapping) = files.cast::<PyMapping>() {
            for item in mapping.items()?.iter() {
                let (path, content): (String, Bound<'_, PyAny>) = item.extract()?;
                list.push(input_file(path, &content)?);
            }
        } else {
            for item in files.try_iter()? {
                let item = item?;
                let file = item.cast::<PyInputFile>().map_err(|_| {
                    pyo3::exceptions::PyTypeError::new_err(format!(
                        "materialize_input_files: expected InputFile items or a mapping, got {}",
                        item.get_type()
                            .name()
                            .map_or_else(|_| "?".into(), |n| n.to_string())
                    ))
                })?;
                list.push(file.get().file.clone());
            }
        }
        self.get()?
            .materialize_input_files(&list)
            .map_err(session_err)
    }

    /// Writes `files` (relative path → `str` or `bytes`) into the workspace, all checked
    /// before any is written; returns the normalized paths.
    fn write_files(&self, files: &Bound<'_, PyMapping>) -> PyResult<Vec<String>> {
        self.materialize_input_files(files.as_any())
    }

    /// Workspace files: for one path (a `str`), its content; for a list of paths or globs
    /// (`["out/*.txt", "log"]`), a dict path → content of every regular file matched.
    /// Content is `str` when it is UTF-8 text, else `bytes`. Symlinks are never followed.
    fn get_file_contents(&self, py: Python<'_>, paths: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let session = self.get()?;
        if let Ok(one) = paths.cast::<PyString>() {
            let path = one.to_str()?;
            let mut files = session.get_file_contents(&[path]).map_err(session_err)?;
            let content = files.remove(path).ok_or_else(|| {
                WorkspaceError::new_err(format!(
                    "{path}: no such file in the workspace (pass a list for globs)"
                ))
            })?;
            return content_object(py, content);
        }
        let globs: Vec<String> = paths.extract()?;
        let files = session.get_file_contents(&globs).map_err(session_err)?;
        let out = PyDict::new(py);
        for (path, content) in files {
            out.set_item(path, content_object(py, content)?)?;
        }
        Ok(out.into_any().unbind())
    }

    /// Captures the workspace (with the spec's `snapshot` settings); the baseline is kept.
    fn snapshot(&self) -> PyResult<PySnapshot> {
        let session = self.get()?;
        Snapshot::capture(session.workspace(), &session.spec().snapshot)
            .map(|snapshot| PySnapshot { snapshot })
            .map_err(|e| snapshot_err(&e))
    }

    /// Captures the workspace and makes it the new baseline; returns it.
    fn update_snapshot(&self) -> PyResult<PySnapshot> {
        self.get()?
            .update_snapshot()
            .map(|snapshot| PySnapshot { snapshot })
            .map_err(session_err)
    }

    /// Makes the workspace hold exactly `snapshot` (everything else is removed). The baseline
    /// is kept.
    fn restore_snapshot(&self, snapshot: &PySnapshot) -> PyResult<()> {
        snapshot
            .snapshot
            .restore_into(self.get()?.workspace())
            .map_err(|e| snapshot_err(&e))
    }

    /// The snapshot diffs compare against: taken at prepare, moved by `update_snapshot`.
    #[getter]
    fn baseline(&self) -> PyResult<PySnapshot> {
        Ok(PySnapshot {
            snapshot: self.get()?.baseline(),
        })
    }

    /// What changed in the workspace since the baseline (the baseline is kept).
    fn diff_since_baseline(&self) -> PyResult<PyWorkspaceDiff> {
        self.get()?
            .diff_since_baseline()
            .map(|diff| PyWorkspaceDiff { diff })
            .map_err(session_err)
    }

    /// What changed from `old` (default: the baseline) to `new` (default: the workspace now).
    #[pyo3(signature = (old = None, new = None))]
    fn diff(
        &self,
        old: Option<PyRef<'_, PySnapshot>>,
        new: Option<PyRef<'_, PySnapshot>>,
    ) -> PyResult<PyWorkspaceDiff> {
        let session = self.get()?;
        let old = old.map_or_else(|| session.baseline(), |s| s.snapshot.clone());
        let new = match new {
            Some(s) => s.snapshot.clone(),
            None => Snapshot::capture(session.workspace(), &session.spec().snapshot)
                .map_err(|e| snapshot_err(&e))?,
        };
        Ok(PyWorkspaceDiff {
            diff: diff_snapshots(&old, &new),
        })
    }

    /// Agent mode: snapshot the workspace, export it to the spec's
    /// `snapshot.archive_save_dir` when set, diff it against the baseline and make it the new
    /// baseline.
    fn finish_checkpoint(&self, py: Python<'_>) -> PyResult<PyCheckpoint> {
        let c = self.get()?.finish_checkpoint().map_err(session_err)?;
        Ok(PyCheckpoint {
            snapshot: Py::new(
                py,
                PySnapshot {
                    snapshot: c.snapshot,
                },
            )?,
            archive_path: c.archive_path,
            diff: Py::new(py, PyWorkspaceDiff { diff: c.diff })?,
        })
    }

    /// Static asset name → the path this session's runtimes show it at
    /// (`/static/<save_path>` on wasi and docker, the host path on local).
    #[getter]
    fn asset_paths(&self) -> PyResult<BTreeMap<String, String>> {
        Ok(self.get()?.asset_paths().clone())
    }

    /// Renders every `{{static:NAME}}` in `text` to the asset's path in this session's
    /// runtimes; an unknown name raises `SpecError` naming it.
    fn render(&self, text: &str) -> PyResult<String> {
        self.get()?.render(text).map_err(session_err)
    }

    /// The host path of the workspace (for reading what a command wrote).
    #[getter]
    fn workspace(&self) -> PyResult<PathBuf> {
        Ok(self.get()?.workspace().path().to_path_buf())
    }

    /// `evaluation` or `agent`.
    #[getter]
    fn mode(&self) -> PyResult<&'static str> {
        Ok(match self.get()?.mode() {
            Mode::Agent => "agent",
            Mode::Evaluation => "evaluation",
        })
    }

    /// The session id (docker containers carry it in their `subrun.session` label).
    #[getter]
    fn id(&self) -> PyResult<String> {
        Ok(self.get()?.id().to_string())
    }

    /// Cleans up every runtime and removes the workspace. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        match self.take() {
            Some(s) => block_on(py, close_when_free(s))?,
            None => Ok(()),
        }
    }

    /// As `close`, awaitable.
    fn close_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let taken = self.take();
        spawn_future(
            py,
            async move {
                match taken {
                    Some(s) => close_when_free(s).await,
                    None => Ok(()),
                }
            },
            || {},
        )
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        ready(py, slf.into_any().unbind())
    }

    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _args: &Bound<'_, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // Resolves to None (falsy): an exception from the block propagates.
        self.close_async(py)
    }
}
