//! `subrun.run`: one command in a fresh session.

use std::collections::BTreeMap;
use std::path::PathBuf;

use pyo3::prelude::*;
use subrun::{Mode, SpawnOptions};

use crate::engine::block_on;
use crate::errors::session_err;
use crate::results::PyResult_;
use crate::runtime::request;
use crate::session::{Prepare, prepare};
use crate::spec::PySpec;

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
pub(crate) fn run(
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
    let opts = Prepare {
        workspace,
        assets,
        mode: Mode::Evaluation,
        snapshot: None,
    };
    let session = prepare(py, spec.as_deref(), opts)?;
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
