//! The plain layout: `cases/NAME.in` with `cases/NAME.out` or `cases/NAME.ans`.

use std::path::Path;

use super::{Group, Layout, Problem, ProblemError, ProblemLimits, paired_cases};
use crate::checker::Checker;
use crate::scoring::Scoring;

/// One group `cases`, one point per case (scoring `sum`), the `tokens` checker, the
/// spec's limits.
pub(super) fn load(dir: &Path, name: String) -> Result<Problem, ProblemError> {
    let cases_dir = dir.join("cases");
    let cases = paired_cases(&cases_dir, true)?;
    if cases.is_empty() {
        return Err(ProblemError::invalid(
            cases_dir,
            "",
            None,
            "no NAME.in files",
        ));
    }
    Ok(Problem {
        name,
        dir: dir.to_path_buf(),
        layout: Layout::Plain,
        limits: ProblemLimits::default(),
        checker: Checker::Tokens,
        environment: None,
        groups: vec![Group {
            name: "cases".into(),
            points: cases.len() as f64,
            scoring: Scoring::Sum,
            depends_on: Vec::new(),
            cases,
        }],
    })
}
