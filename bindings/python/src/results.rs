//! `subrun.Result`, `subrun.Outcome` and `subrun.Usage`.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use subrun::{Outcome, RuntimeResult};

/// How an execution ended.
#[pyclass(name = "Outcome", module = "subrun", frozen)]
pub(crate) struct PyOutcome {
    pub(crate) outcome: Outcome,
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
pub(crate) struct PyUsage {
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
pub(crate) struct PyResult_ {
    pub(crate) result: RuntimeResult,
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
