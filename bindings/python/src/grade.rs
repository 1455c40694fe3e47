//! `subrun.grade`: every submission against every case of a problem, through
//! [`subrun_grade::Grader`] (what `subrun grade` does), with each case's result handed to a
//! Python callable as it finishes and the final [`Report`] returned.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use pyo3::prelude::*;
use subrun_grade::{Grader, Problem, Report, Submission};

use crate::engine::{block_on, engine};
use crate::errors::{GradeError, chain};
use crate::spec::{PySpec, default_spec};

fn grade_err(e: &subrun_grade::GradeError) -> PyErr {
    GradeError::new_err(subrun::terminal::escape(&chain(e)).into_owned())
}

/// JSON text as Python objects (`json.loads`).
fn loads(py: Python<'_>, text: &str) -> PyResult<Py<PyAny>> {
    Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
}

/// Grades `submissions` (paths: `.wasm`, `.wat`, `.py`, `.js`, C/C++ sources, Cargo projects)
/// against every case of the problem directory `problem`, `jobs` cases at a time, and
/// returns the Report. `on_case`, when given, is called with each case's result (a dict, the
/// `--jsonl` line) as it finishes. `shard=(i, n)` grades shard `i` of `n`. A failing
/// submission is a verdict in the report; `GradeError` means subrun could not grade.
#[pyfunction]
#[pyo3(signature = (problem, submissions, *, spec = None, jobs = None, fail_fast = false, shard = None, on_case = None))]
#[expect(clippy::too_many_arguments, reason = "Python's keyword arguments")]
#[expect(
    clippy::needless_pass_by_value,
    reason = "pyo3 extracts arguments by value"
)]
pub(crate) fn grade(
    py: Python<'_>,
    problem: PathBuf,
    submissions: Vec<PathBuf>,
    spec: Option<PyRef<'_, PySpec>>,
    jobs: Option<usize>,
    fail_fast: bool,
    shard: Option<(u32, u32)>,
    on_case: Option<Py<PyAny>>,
) -> PyResult<PyReport> {
    let engine = engine()?;
    let spec = match spec {
        Some(s) => s.spec.clone(),
        None => default_spec()?,
    };
    let problem = Problem::load(&problem).map_err(|e| grade_err(&e.into()))?;
    let submissions = submissions
        .iter()
        .map(Submission::from_path)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| grade_err(&e))?;
    let mut builder = Grader::builder(problem, &engine.registry)
        .spec(spec)
        .submissions(submissions)
        .fail_fast(fail_fast);
    if let Some(jobs) = jobs {
        builder = builder.jobs(jobs);
    }
    if let Some((index, count)) = shard {
        builder = builder.shard(index, count);
    }
    let grader = builder.build().map_err(|e| grade_err(&e))?;
    // The first exception the callback raised; raised after the run (the cases go on).
    let failed: Mutex<Option<PyErr>> = Mutex::new(None);
    let report = block_on(
        py,
        grader.run_with(|case| {
            let Some(callback) = &on_case else {
                return;
            };
            let mut slot = failed.lock().unwrap_or_else(PoisonError::into_inner);
            if slot.is_some() {
                return;
            }
            let called = Python::attach(|py| {
                let value = loads(py, &case.to_json_line())?;
                callback.call1(py, (value,)).map(drop)
            });
            if let Err(e) = called {
                *slot = Some(e);
            }
        }),
    )?
    .map_err(|e| grade_err(&e))?;
    if let Some(e) = failed.into_inner().unwrap_or_else(PoisonError::into_inner) {
        return Err(e);
    }
    Ok(PyReport { report })
}

/// The report of a grading run: per submission, every case (verdict, times, memory, points,
/// message) and every group's score. `to_dict()` is the `--json` document.
#[pyclass(name = "Report", module = "subrun", frozen)]
pub(crate) struct PyReport {
    report: Report,
}

#[pymethods]
impl PyReport {
    /// The problem's name.
    #[getter]
    fn problem(&self) -> String {
        self.report.problem.clone()
    }

    /// True when every case of every submission is AC.
    #[getter]
    fn all_accepted(&self) -> bool {
        self.report.all_accepted()
    }

    /// Each submission's name and score: `[(name, score, max_score), ...]`.
    #[getter]
    fn scores(&self) -> Vec<(String, f64, f64)> {
        self.report
            .submissions
            .iter()
            .map(|s| (s.submission.clone(), s.score, s.max_score))
            .collect()
    }

    /// The report as the `--json` document (a dict).
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        loads(py, &self.report.to_json())
    }

    /// The report as JSON text (what `subrun grade --json` prints).
    fn to_json(&self) -> String {
        self.report.to_json()
    }

    /// The table `subrun grade` prints (names and messages escaped).
    fn table(&self) -> String {
        self.report.table()
    }

    /// The report as JUnit XML.
    fn to_junit(&self) -> String {
        self.report.to_junit()
    }

    /// The report as CTRF JSON; `start_ms` and `stop_ms` bound the run (Unix milliseconds).
    fn to_ctrf(&self, start_ms: u64, stop_ms: u64) -> String {
        self.report.to_ctrf(start_ms, stop_ms)
    }

    fn __repr__(&self) -> String {
        format!(
            "Report(problem={:?}, submissions={}, all_accepted={})",
            self.report.problem,
            self.report.submissions.len(),
            self.report.all_accepted()
        )
    }
}
