//! The exceptions, all under `subrun.Error`, and the mapping of engine errors onto them.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use subrun::RuntimeError;

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

pyo3::create_exception!(
    subrun,
    GradeError,
    Error,
    "Grading could not be done: an invalid problem (the message names the file, key and \
     case), an unreadable submission, a session that could not be prepared. A failing \
     submission is a verdict in the Report, not an exception."
);

/// `e` and every source below it, joined by `: ` (each level said once).
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
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

pub(crate) fn runtime_err(e: &RuntimeError) -> PyErr {
    let message = chain(e);
    match e {
        RuntimeError::Spec(_) => SpecError::new_err(message),
        RuntimeError::SetupFailed { .. } => SetupError::new_err(message),
        RuntimeError::InvalidCommand { .. } => CommandError::new_err(message),
        RuntimeError::CleanedUp { .. } => CleanedUpError::new_err(message),
        _ => BackendError::new_err(message),
    }
}

pub(crate) fn session_err(e: subrun::Error) -> PyErr {
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

/// Registers every exception class on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<Error>())?;
    m.add("SpecError", py.get_type::<SpecError>())?;
    m.add("WorkspaceError", py.get_type::<WorkspaceError>())?;
    m.add("SetupError", py.get_type::<SetupError>())?;
    m.add("CommandError", py.get_type::<CommandError>())?;
    m.add("CleanedUpError", py.get_type::<CleanedUpError>())?;
    m.add("BackendError", py.get_type::<BackendError>())?;
    m.add("GradeError", py.get_type::<GradeError>())?;
    Ok(())
}
