//! `subrun.Stream`: an async iterator of a command's output chunks and its final Result.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use subrun::{
    ExecRequest, Execution, ExecutionControl, RuntimeEvent, RuntimeResult, SubmissionRuntime,
};

use crate::aio::spawn_future;
use crate::errors::{BackendError, runtime_err};
use crate::results::PyResult_;

/// Where a stream is: not started yet, running, or past its `Finished` event.
enum State {
    Start(Arc<dyn SubmissionRuntime>, Box<ExecRequest>),
    Running(Execution),
    Done,
}

/// A chunk of output, in the order the command wrote it.
#[pyclass(name = "Chunk", module = "subrun", frozen)]
struct PyChunk {
    stream: &'static str,
    data: Bytes,
}

#[pymethods]
impl PyChunk {
    /// `stdout` or `stderr`.
    #[getter]
    fn stream(&self) -> &'static str {
        self.stream
    }

    /// The bytes, exactly as written.
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.data)
    }

    fn __repr__(&self) -> String {
        format!("Chunk(stream={:?}, {} bytes)", self.stream, self.data.len())
    }
}

/// The last event of a stream: the execution ended.
#[pyclass(name = "Finished", module = "subrun", frozen)]
struct PyFinished {
    result: Box<RuntimeResult>,
}

#[pymethods]
impl PyFinished {
    /// The whole Result; its stdout and stderr are the concatenation of the chunks.
    #[getter]
    fn result(&self) -> PyResult_ {
        PyResult_ {
            result: (*self.result).clone(),
        }
    }

    fn __repr__(&self) -> String {
        format!("Finished({})", self.result.outcome)
    }
}

/// One event, as the iterator hands it out.
#[derive(IntoPyObject)]
enum Event {
    Chunk(PyChunk),
    Finished(PyFinished),
}

/// An async iterator of `Chunk`s, then one `Finished`; `async for` over it.
#[pyclass(name = "Stream", module = "subrun", frozen)]
pub(crate) struct PyStream {
    state: Arc<tokio::sync::Mutex<State>>,
    /// Set once the command started; `kill` and cancellation use it.
    control: Arc<Mutex<Option<ExecutionControl>>>,
}

impl PyStream {
    /// A stream that starts `req` on `runtime` at the first `__anext__`.
    pub(crate) fn new(runtime: Arc<dyn SubmissionRuntime>, req: ExecRequest) -> Self {
        Self {
            state: Arc::new(tokio::sync::Mutex::new(State::Start(
                runtime,
                Box::new(req),
            ))),
            control: Arc::new(Mutex::new(None)),
        }
    }
}

/// The next event of the stream in `state`, starting it first if needed.
async fn next(
    state: &tokio::sync::Mutex<State>,
    control: &Mutex<Option<ExecutionControl>>,
) -> PyResult<Event> {
    let mut state = state.lock().await;
    if let State::Start(..) = &*state {
        let State::Start(runtime, req) = std::mem::replace(&mut *state, State::Done) else {
            unreachable!("matched just above");
        };
        let execution = runtime.stream(*req).await.map_err(|e| runtime_err(&e))?;
        *control.lock().unwrap_or_else(PoisonError::into_inner) = Some(execution.control());
        *state = State::Running(execution);
    }
    let State::Running(execution) = &mut *state else {
        return Err(PyStopAsyncIteration::new_err(()));
    };
    let event = execution.next_event().await;
    let event = match event {
        Some(RuntimeEvent::Stdout(data)) => Event::Chunk(PyChunk {
            stream: "stdout",
            data,
        }),
        Some(RuntimeEvent::Stderr(data)) => Event::Chunk(PyChunk {
            stream: "stderr",
            data,
        }),
        Some(RuntimeEvent::Finished(result)) => {
            *state = State::Done;
            Event::Finished(PyFinished { result })
        }
        Some(other) => {
            *state = State::Done;
            return Err(BackendError::new_err(format!(
                "unknown event from the runtime: {other:?}"
            )));
        }
        None => {
            *state = State::Done;
            return Err(BackendError::new_err(
                "the runtime dropped the execution without a result",
            ));
        }
    };
    Ok(event)
}

#[pymethods]
impl PyStream {
    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The next event (a future); `StopAsyncIteration` after `Finished`.
    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (state, control) = (self.state.clone(), self.control.clone());
        let kill = self.control.clone();
        spawn_future(py, async move { next(&state, &control).await }, move || {
            kill_control(&kill)
        })
    }

    /// Kills the command (it ends `killed`; the remaining events still arrive). Idempotent.
    fn kill(&self) {
        kill_control(&self.control);
    }
}

fn kill_control(control: &Mutex<Option<ExecutionControl>>) {
    if let Some(c) = &*control.lock().unwrap_or_else(PoisonError::into_inner) {
        c.kill();
    }
}

/// Registers the stream classes.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyStream>()?;
    m.add_class::<PyChunk>()?;
    m.add_class::<PyFinished>()?;
    Ok(())
}
