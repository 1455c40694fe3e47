//! # subrun for Python
//!
//! The engine as a CPython extension module (`subrun._subrun`, re-exported by the `subrun`
//! package): sessions, runtimes and results, with the GIL released while guests run.
//!
//! ```text
//!  sync call ──▶ detach (GIL released) ──▶ tokio runtime (one per process) ──▶ Session / runtime
//!      ▲                                        │ every 50 ms: Python signals checked;
//!      └──────────── Result / subrun.Error ◀────┘ Ctrl-C drops the future = kills the command
//!
//!  async call ──▶ asyncio.Future ◀── call_soon_threadsafe ── tokio task (see `aio`)
//!                 cancelled ──▶ the task is aborted = kills the command
//! ```
//!
//! A failing submission is a `Result`, never an exception (the Rust API's rule); exceptions,
//! all under `subrun.Error`, mean the engine could not do its job.

mod aio;
mod engine;
mod errors;
mod grade;
mod input;
mod results;
mod run;
mod runtime;
mod session;
mod snapshot;
mod spec;
mod stream;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _subrun(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run::run, m)?)?;
    m.add_function(wrap_pyfunction!(grade::grade, m)?)?;
    m.add_class::<grade::PyReport>()?;
    m.add_class::<spec::PySpec>()?;
    m.add_class::<session::PySession>()?;
    m.add_class::<runtime::PyRuntime>()?;
    m.add_class::<results::PyResult_>()?;
    m.add_class::<results::PyOutcome>()?;
    m.add_class::<results::PyUsage>()?;
    m.add_class::<input::PyInputFile>()?;
    stream::register(m)?;
    snapshot::register(m)?;
    errors::register(m)?;
    let quiesce = wrap_pyfunction!(aio::quiesce, m)?;
    m.py()
        .import("atexit")?
        .call_method1("register", (quiesce,))?;
    Ok(())
}
