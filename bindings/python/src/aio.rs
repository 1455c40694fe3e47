//! The asyncio bridge: work runs as a task on the engine's tokio runtime, its result reaches
//! an `asyncio.Future` of the caller's running loop through `loop.call_soon_threadsafe`.
//!
//! ```text
//!  coroutine ── await fut ◀──────────── call_soon_threadsafe(settle, fut, ok, value) ◀─┐
//!      │ Task.cancel() cancels fut                                                      │
//!      ▼                                                                                │
//!  fut's done callback ── on_cancel() + abort the tokio task ──▶ tokio task: work.await ─┘
//!                         (a dropped Execution kills its command)    (no GIL while it runs)
//! ```

use std::future::Future;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyTuple};

use crate::engine::engine;

/// Completes `fut` with `value` (`ok`) or raises `value` in it, unless it is already done
/// (cancelled meanwhile). Runs on the loop's thread.
#[pyfunction]
fn settle(fut: &Bound<'_, PyAny>, ok: bool, value: &Bound<'_, PyAny>) -> PyResult<()> {
    if fut.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    let method = if ok { "set_result" } else { "set_exception" };
    fut.call_method1(method, (value,))?;
    Ok(())
}

/// An `asyncio.Future` of the running loop that completes with `work`'s output, which runs
/// on the engine. When the future is cancelled (its awaiting task was), `on_cancel` runs and
/// the task is aborted, dropping whatever `work` drives.
///
/// # Errors
/// `RuntimeError` from asyncio when no loop is running; an engine that cannot start.
pub(crate) fn spawn_future<'py, F, T>(
    py: Python<'py>,
    work: F,
    on_cancel: impl Fn() + Send + Sync + 'static,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObjectExt<'a> + Send + 'static,
{
    let engine = engine()?;
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let fut = event_loop.call_method0("create_future")?;
    let (loop_ref, fut_ref) = (event_loop.unbind(), fut.clone().unbind());
    let task = engine.rt.spawn(async move {
        let out = work.await;
        deliver_guarded(&loop_ref, &fut_ref, out);
    });
    let abort = task.abort_handle();
    let hook = PyCFunction::new_closure(
        py,
        Some(c"subrun_cancel_hook"),
        None,
        move |args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>| -> PyResult<()> {
            if args.get_item(0)?.call_method0("cancelled")?.is_truthy()? {
                on_cancel();
                abort.abort();
            }
            Ok(())
        },
    )?;
    fut.call_method1("add_done_callback", (hook,))?;
    Ok(fut)
}

/// A future of the running loop that is already done with `value` (`__aenter__`).
pub(crate) fn ready<'py>(py: Python<'py>, value: Py<PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let fut = event_loop.call_method0("create_future")?;
    fut.call_method1("set_result", (value,))?;
    Ok(fut)
}

/// Deliveries under way, and whether the interpreter is shutting down.
static DELIVERIES: Mutex<(usize, bool)> = Mutex::new((0, false));
static DELIVERED: Condvar = Condvar::new();

/// The longest `quiesce` waits for deliveries under way.
const QUIESCE_WAIT: Duration = Duration::from_secs(5);

/// Delivers `out` unless the interpreter is shutting down. `call_soon_threadsafe` releases
/// the GIL while it wakes the loop; if the interpreter finalized meanwhile, retaking it would
/// end this thread with `pthread_exit` (an abort in Rust). So `quiesce`, run at exit, waits
/// for every delivery under way and refuses later ones.
fn deliver_guarded<T: for<'a> IntoPyObjectExt<'a>>(
    event_loop: &Py<PyAny>,
    fut: &Py<PyAny>,
    out: PyResult<T>,
) {
    {
        let mut d = DELIVERIES.lock().unwrap_or_else(PoisonError::into_inner);
        if d.1 {
            return;
        }
        d.0 += 1;
    }
    Python::try_attach(|py| deliver(py, event_loop, fut, out));
    DELIVERIES.lock().unwrap_or_else(PoisonError::into_inner).0 -= 1;
    DELIVERED.notify_all();
}

/// Registered with `atexit`: no delivery starts after it, and those under way end first
/// (the GIL released meanwhile, so they can).
#[pyfunction]
pub(crate) fn quiesce(py: Python<'_>) {
    py.detach(|| {
        let mut d = DELIVERIES.lock().unwrap_or_else(PoisonError::into_inner);
        d.1 = true;
        while d.0 > 0 {
            let (next, timeout) = DELIVERED
                .wait_timeout(d, QUIESCE_WAIT)
                .unwrap_or_else(PoisonError::into_inner);
            d = next;
            if timeout.timed_out() {
                break;
            }
        }
    });
}

/// Schedules `settle(fut, ...)` on the loop.
fn deliver<T: for<'a> IntoPyObjectExt<'a>>(
    py: Python<'_>,
    event_loop: &Py<PyAny>,
    fut: &Py<PyAny>,
    out: PyResult<T>,
) {
    let (ok, value) = match out.and_then(|v| v.into_py_any(py)) {
        Ok(v) => (true, v),
        Err(e) => (false, e.into_value(py).into_any()),
    };
    let Ok(settle) = wrap_pyfunction!(settle, py) else {
        return;
    };
    // A closed loop raises here: its coroutines are gone, so nobody waits for this value.
    let _closed = event_loop.call_method1(py, "call_soon_threadsafe", (settle, fut, ok, value));
}
