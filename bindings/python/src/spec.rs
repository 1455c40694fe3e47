//! `subrun.Spec`.

use std::path::PathBuf;

use pyo3::prelude::*;
use subrun::EnvironmentSpec;

use crate::errors::{Error, SpecError};

/// An environment spec: which runtime, its limits, assets, setup commands.
#[pyclass(name = "Spec", module = "subrun", frozen)]
pub(crate) struct PySpec {
    pub(crate) spec: EnvironmentSpec,
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

pub(crate) fn default_spec() -> PyResult<EnvironmentSpec> {
    let base = std::env::current_dir().map_err(|e| Error::new_err(e.to_string()))?;
    subrun_wasi::guests::default_spec(subrun_wasi::guests::guest_dir().as_deref(), &base)
        .map_err(|e| SpecError::new_err(e.to_string()))
}
