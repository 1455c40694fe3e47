//! `subrun.Runtime`: run commands (blocking, awaitable or streamed), kill them, clean up.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use subrun::{ExecRequest, SubmissionRuntime};

use crate::aio::spawn_future;
use crate::engine::block_on;
use crate::errors::runtime_err;
use crate::results::{PyOutcome, PyResult_};
use crate::stream::PyStream;

/// A request from Python's arguments.
pub(crate) fn request(
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
pub(crate) struct PyRuntime {
    pub(crate) runtime: Arc<dyn SubmissionRuntime>,
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

    /// As `execute`, awaitable: `await rt.execute_async(...)` runs the command on the
    /// engine's threads while the event loop goes on. Cancelling the awaiting task kills
    /// the command (the runtime stays usable).
    #[pyo3(signature = (command, *, timeout = None, stdin = None, env = None))]
    fn execute_async<'py>(
        &self,
        py: Python<'py>,
        command: &str,
        timeout: Option<f64>,
        stdin: Option<Vec<u8>>,
        env: Option<BTreeMap<String, String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let req = request(command, timeout, stdin, env)?;
        let runtime = self.runtime.clone();
        spawn_future(
            py,
            async move {
                // Dropped when the task is aborted: the execution's handle kills it then.
                let execution = runtime.stream(req).await.map_err(|e| runtime_err(&e))?;
                let result = execution.wait().await.map_err(|e| runtime_err(&e))?;
                Ok(PyResult_ { result })
            },
            || {},
        )
    }

    /// Starts `command` and returns an async iterator of its events: `Chunk`s of stdout and
    /// stderr as the command writes them, then one `Finished` carrying the Result. Leaving
    /// the loop early, `Stream.kill()` or cancelling the awaiting task kills the command.
    #[pyo3(signature = (command, *, timeout = None, stdin = None, env = None))]
    fn stream(
        &self,
        command: &str,
        timeout: Option<f64>,
        stdin: Option<Vec<u8>>,
        env: Option<BTreeMap<String, String>>,
    ) -> PyResult<PyStream> {
        let req = request(command, timeout, stdin, env)?;
        Ok(PyStream::new(self.runtime.clone(), req))
    }

    /// Kills every running command of this runtime; returns once they have stopped.
    fn kill(&self, py: Python<'_>) -> PyResult<()> {
        let runtime = self.runtime.clone();
        block_on(py, async move { runtime.kill().await })?.map_err(|e| runtime_err(&e))
    }

    /// As `kill`, awaitable.
    fn kill_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let runtime = self.runtime.clone();
        spawn_future(
            py,
            async move { runtime.kill().await.map_err(|e| runtime_err(&e)) },
            || {},
        )
    }

    /// The outcome of the last execution if it finished, `None` while one runs or before the
    /// first. Raises `CleanedUpError` after cleanup.
    fn poll(&self) -> PyResult<Option<PyOutcome>> {
        self.runtime
            .poll()
            .map(|o| o.map(|outcome| PyOutcome { outcome }))
            .map_err(|e| runtime_err(&e))
    }

    /// Kills everything and releases the runtime (processes, container, compiled state).
    /// Idempotent; closing the session does it for every runtime.
    fn cleanup(&self, py: Python<'_>) -> PyResult<()> {
        let runtime = self.runtime.clone();
        block_on(py, async move { runtime.cleanup().await })?.map_err(|e| runtime_err(&e))
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

    /// This runtime's id (docker labels carry it).
    #[getter]
    fn id(&self) -> String {
        self.runtime.id().to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "Runtime(kind={:?}, state={:?})",
            self.runtime.kind().as_str(),
            self.state()
        )
    }
}
