//! Verdicts, derived from how an execution ended ([`subrun::Outcome`]) and what the checker
//! said.

use std::fmt;

use serde::{Deserialize, Serialize};
use subrun::{Outcome, Resource, RuntimeResult};

use crate::checker::{CheckOutcome, Checker, Mismatch};

/// The verdict of one case, as judges spell it (`AC`, `WA`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Verdict {
    /// Accepted: exited with 0 and the checker accepted the output.
    #[serde(rename = "AC")]
    Accepted,
    /// Wrong answer: exited with 0, the checker refused the output.
    #[serde(rename = "WA")]
    WrongAnswer,
    /// Presentation error: right tokens, wrong layout, under a strict checker (or a checker
    /// program's PE).
    #[serde(rename = "PE")]
    PresentationError,
    /// Partial: a checker program gave a fraction of the case's points strictly between 0
    /// and 1 (a fraction of 1 is AC, of 0 WA). Not accepted.
    #[serde(rename = "PA")]
    Partial,
    /// Time limit exceeded: the deadline passed, or the fuel budget ran out.
    #[serde(rename = "TLE")]
    TimeLimitExceeded,
    /// Memory limit exceeded.
    #[serde(rename = "MLE")]
    MemoryLimitExceeded,
    /// Output limit exceeded: an output stream passed `limits.output`, or the workspace
    /// passed `limits.disk`.
    #[serde(rename = "OLE")]
    OutputLimitExceeded,
    /// Runtime error: a non-zero exit, a signal, a trap, a process limit.
    #[serde(rename = "RE")]
    RuntimeError,
    /// Compile error: the submission could not be built (a C, C++ or Cargo submission the
    /// compiler rejected); every case of it, nothing run.
    #[serde(rename = "CE")]
    CompileError,
    /// Internal error: subrun could not run the case (an engine error, a kill nobody asked
    /// for, an outcome this version does not know), or the checker program failed.
    #[serde(rename = "IE")]
    InternalError,
    /// Not run: `--fail-fast` stopped its group after an earlier failure, or a group this
    /// case's group depends on (`depends_on`) was not fully accepted.
    #[serde(rename = "SKIP")]
    Skipped,
}

impl Verdict {
    /// The short code: `AC`, `WA`, `PE`, `PA`, `TLE`, `MLE`, `OLE`, `RE`, `CE`, `IE`, `SKIP`.
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Accepted => "AC",
            Verdict::WrongAnswer => "WA",
            Verdict::PresentationError => "PE",
            Verdict::Partial => "PA",
            Verdict::TimeLimitExceeded => "TLE",
            Verdict::MemoryLimitExceeded => "MLE",
            Verdict::OutputLimitExceeded => "OLE",
            Verdict::RuntimeError => "RE",
            Verdict::CompileError => "CE",
            Verdict::InternalError => "IE",
            Verdict::Skipped => "SKIP",
        }
    }

    /// True for [`Verdict::Accepted`] only.
    pub fn is_accepted(self) -> bool {
        self == Verdict::Accepted
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a case is [`Verdict::RuntimeError`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RuntimeFailure {
    /// Exited with this non-zero code.
    ExitCode(i32),
    /// Ended by this signal (native runtimes).
    Signal(i32),
    /// A WebAssembly trap, described.
    Trap(String),
    /// A process or thread limit ended it.
    ProcessLimit,
}

impl fmt::Display for RuntimeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuntimeFailure::ExitCode(c) => write!(f, "exit code {c}"),
            RuntimeFailure::Signal(s) => write!(f, "signal {s}"),
            RuntimeFailure::Trap(t) => write!(f, "trap: {t}"),
            RuntimeFailure::ProcessLimit => f.write_str("process limit"),
        }
    }
}

/// A verdict with what explains it.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// For [`Verdict::RuntimeError`]: how it failed.
    pub failure: Option<RuntimeFailure>,
    /// The checker's mismatch for WA / PE.
    pub mismatch: Option<Mismatch>,
    /// A one-line explanation.
    pub message: Option<String>,
    /// The fraction of the case's points earned: 1 for AC, the checker's fraction for PA,
    /// 0 otherwise.
    pub fraction: f64,
}

impl Judgement {
    fn plain(verdict: Verdict, message: impl Into<String>) -> Self {
        Self {
            verdict,
            failure: None,
            mismatch: None,
            message: Some(message.into()),
            fraction: 0.0,
        }
    }

    fn accepted(message: Option<String>) -> Self {
        Self {
            verdict: Verdict::Accepted,
            failure: None,
            mismatch: None,
            message,
            fraction: 1.0,
        }
    }

    fn refused(verdict: Verdict, mismatch: Mismatch) -> Self {
        Self {
            verdict,
            failure: None,
            message: Some(mismatch.message.clone()),
            mismatch: Some(mismatch),
            fraction: 0.0,
        }
    }

    fn runtime_error(failure: RuntimeFailure) -> Self {
        Self {
            verdict: Verdict::RuntimeError,
            message: Some(failure.to_string()),
            failure: Some(failure),
            mismatch: None,
            fraction: 0.0,
        }
    }
}

/// The verdict of a finished execution: the outcome first (every known [`Outcome`] variant
/// is matched by name), then, for a clean exit, the output: a truncated stdout is OLE, else
/// `checker` decides between AC, WA and PE. (A [`Checker::Program`] runs in a sandbox the
/// grader provides, with the same table first; called here, it is IE.)
///
/// | outcome | verdict |
/// |---|---|
/// | `Exited { 0 }` | the checker's AC / WA / PE / PA / IE (OLE when stdout was truncated) |
/// | `Exited { n ≠ 0 }` | RE (exit code n) |
/// | `Signaled { s }` | RE (signal s) |
/// | `Trapped { t }` | RE (trap t) |
/// | `TimedOut`, `ResourceExceeded { fuel }` | TLE |
/// | `ResourceExceeded { memory }` | MLE |
/// | `ResourceExceeded { output \| disk }` | OLE |
/// | `ResourceExceeded { processes }` | RE (process limit) |
/// | `Killed` (the grader never kills) | IE |
pub fn judge(result: &RuntimeResult, answer: Option<&[u8]>, checker: &Checker) -> Judgement {
    if let Some(judgement) = judge_execution(result) {
        return judgement;
    }
    let Some(answer) = answer else {
        return Judgement::accepted(None);
    };
    of_check(checker.check(&result.stdout, answer))
}

/// The first half of [`judge`]: `None` for a clean exit with a whole stdout (the output is
/// the checker's to judge), else the verdict of how the execution ended.
pub(crate) fn judge_execution(result: &RuntimeResult) -> Option<Judgement> {
    Some(match &result.outcome {
        Outcome::Exited { code: 0 } if result.stdout_truncated => {
            Judgement::plain(Verdict::OutputLimitExceeded, "output limit exceeded")
        }
        Outcome::Exited { code: 0 } => return None,
        Outcome::Exited { code } => Judgement::runtime_error(RuntimeFailure::ExitCode(*code)),
        Outcome::Signaled { signal } => Judgement::runtime_error(RuntimeFailure::Signal(*signal)),
        Outcome::Trapped { trap } => {
            Judgement::runtime_error(RuntimeFailure::Trap(trap.to_string()))
        }
        Outcome::TimedOut => Judgement::plain(Verdict::TimeLimitExceeded, "time limit exceeded"),
        Outcome::ResourceExceeded { resource } => match resource {
            Resource::Fuel => Judgement::plain(Verdict::TimeLimitExceeded, "fuel budget exhausted"),
            Resource::Memory => {
                Judgement::plain(Verdict::MemoryLimitExceeded, "memory limit exceeded")
            }
            Resource::Output => {
                Judgement::plain(Verdict::OutputLimitExceeded, "output limit exceeded")
            }
            Resource::Disk => Judgement::plain(Verdict::OutputLimitExceeded, "disk limit exceeded"),
            Resource::Processes => Judgement::runtime_error(RuntimeFailure::ProcessLimit),
            // `Resource` is non-exhaustive: a limit added to the engine later.
            other => Judgement::plain(
                Verdict::InternalError,
                format!("unknown limit exceeded: {other}"),
            ),
        },
        Outcome::Killed => {
            Judgement::plain(Verdict::InternalError, "killed, but the grader never kills")
        }
        // `Outcome` is non-exhaustive, so another crate must have this arm: an outcome added
        // to the engine later is an internal error until this table names it.
        other => Judgement::plain(Verdict::InternalError, format!("unknown outcome: {other}")),
    })
}

/// The verdict of a check: AC, WA, PE as the checker said; a fraction of 1 is AC, of 0 WA
/// (with the checker's message), in between PA; a failed checker program is IE.
pub(crate) fn of_check(outcome: CheckOutcome) -> Judgement {
    match outcome {
        CheckOutcome::Accepted => Judgement::accepted(None),
        CheckOutcome::WrongAnswer(m) => Judgement::refused(Verdict::WrongAnswer, m),
        CheckOutcome::PresentationError(m) => Judgement::refused(Verdict::PresentationError, m),
        CheckOutcome::Partial { fraction, message } if fraction >= 1.0 => {
            Judgement::accepted(message)
        }
        CheckOutcome::Partial { fraction, message } => {
            let verdict = if fraction <= 0.0 {
                Verdict::WrongAnswer
            } else {
                Verdict::Partial
            };
            let points = format!("points {fraction}");
            Judgement {
                verdict,
                failure: None,
                mismatch: None,
                message: Some(match message {
                    Some(m) => format!("{points}: {m}"),
                    None => points,
                }),
                fraction: if verdict == Verdict::Partial {
                    fraction
                } else {
                    0.0
                },
            }
        }
        CheckOutcome::CheckerFailed(message) => Judgement::plain(Verdict::InternalError, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use subrun::TrapKind;

    fn result(outcome: &Outcome, stdout: &str) -> RuntimeResult {
        let json = serde_json::json!({
            "execution_id": "e", "outcome": outcome, "exit_code": outcome.default_exit_code(),
            "timed_out": *outcome == Outcome::TimedOut, "stdout": stdout, "stderr": "",
            "stdout_truncated": false, "stderr_truncated": false, "setup_stdout": "",
            "setup_stderr": "", "elapsed": 0.0,
            "usage": { "wall_time": 0.0, "cpu_time": null, "fuel_consumed": null,
                       "peak_memory": null, "stdout_bytes": 0, "stderr_bytes": 0,
                       "deadline": null, "deadline_factor": null },
        });
        serde_json::from_value(json).expect("a valid result")
    }

    fn v(outcome: &Outcome, stdout: &str) -> (Verdict, Option<RuntimeFailure>) {
        let j = judge(&result(outcome, stdout), Some(b"3\n"), &Checker::Tokens);
        (j.verdict, j.failure)
    }

    #[test]
    fn each_outcome_maps_to_its_verdict() {
        assert_eq!(
            v(&Outcome::Exited { code: 0 }, "3"),
            (Verdict::Accepted, None)
        );
        assert_eq!(
            v(&Outcome::Exited { code: 0 }, "4"),
            (Verdict::WrongAnswer, None)
        );
        assert_eq!(
            v(&Outcome::Exited { code: 3 }, "3"),
            (Verdict::RuntimeError, Some(RuntimeFailure::ExitCode(3)))
        );
        assert_eq!(
            v(&Outcome::Signaled { signal: 11 }, ""),
            (Verdict::RuntimeError, Some(RuntimeFailure::Signal(11)))
        );
        assert_eq!(
            v(
                &Outcome::Trapped {
                    trap: TrapKind::Unreachable
                },
                ""
            ),
            (
                Verdict::RuntimeError,
                Some(RuntimeFailure::Trap("unreachable executed".into()))
            )
        );
        assert_eq!(v(&Outcome::TimedOut, "3").0, Verdict::TimeLimitExceeded);
        for (resource, verdict) in [
            (Resource::Fuel, Verdict::TimeLimitExceeded),
            (Resource::Memory, Verdict::MemoryLimitExceeded),
            (Resource::Output, Verdict::OutputLimitExceeded),
            (Resource::Disk, Verdict::OutputLimitExceeded),
            (Resource::Processes, Verdict::RuntimeError),
        ] {
            assert_eq!(
                v(&Outcome::ResourceExceeded { resource }, "3").0,
                verdict,
                "{resource}"
            );
        }
        assert_eq!(v(&Outcome::Killed, "3").0, Verdict::InternalError);
    }

    #[test]
    fn a_truncated_stdout_is_ole_even_when_its_prefix_is_right() {
        let mut r = result(&Outcome::Exited { code: 0 }, "3");
        r.stdout_truncated = true;
        assert_eq!(
            judge(&r, Some(b"3"), &Checker::Tokens).verdict,
            Verdict::OutputLimitExceeded
        );
    }

    #[test]
    fn a_checker_fraction_of_one_is_ac_of_zero_wa_and_between_pa() {
        let partial = |fraction: f64| {
            let j = of_check(CheckOutcome::Partial {
                fraction,
                message: Some("m".into()),
            });
            (j.verdict, j.fraction, j.message)
        };
        assert_eq!(partial(1.0), (Verdict::Accepted, 1.0, Some("m".into())));
        assert_eq!(
            partial(0.0),
            (Verdict::WrongAnswer, 0.0, Some("points 0: m".into()))
        );
        assert_eq!(
            partial(0.25),
            (Verdict::Partial, 0.25, Some("points 0.25: m".into()))
        );
        let failed = of_check(CheckOutcome::CheckerFailed("checker failed: x".into()));
        assert_eq!(
            (failed.verdict, failed.fraction),
            (Verdict::InternalError, 0.0)
        );
        let ac = judge(
            &result(&Outcome::Exited { code: 0 }, "3"),
            Some(b"3"),
            &Checker::Tokens,
        );
        assert_eq!((ac.verdict, ac.fraction), (Verdict::Accepted, 1.0));
    }

    #[test]
    fn verdicts_serialize_as_judge_codes() {
        assert_eq!(
            serde_json::to_string(&Verdict::TimeLimitExceeded).unwrap(),
            "\"TLE\""
        );
        assert_eq!(Verdict::PresentationError.to_string(), "PE");
        assert_eq!(serde_json::to_string(&Verdict::Partial).unwrap(), "\"PA\"");
    }
}
