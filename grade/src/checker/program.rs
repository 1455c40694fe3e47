//! Checker programs: a WebAssembly module that judges the output, run on the `wasi` runtime in
//! a sandbox of its own (one `wasi` Session per grader worker).
//!
//! This file holds what a checker program *is* ([`CheckerProgram`], [`Convention`],
//! [`CheckerLimits`]) and the pure rules that turn how it ended into a [`CheckOutcome`]:
//!
//! | convention | command | exit codes |
//! |---|---|---|
//! | [`Testlib`](Convention::Testlib) | `checker input output answer ARGS...` | 0 AC, 1 WA, 2 PE, 3 checker failure (IE), 7 partial points; any other: IE |
//! | [`Kattis`](Convention::Kattis) | `checker input answer feedback/ ARGS... < output` | 42 AC (partial when `feedback/score.txt` exists), 43 WA; any other: IE |
//!
//! A checker that times out, runs out of memory, traps, prints more than
//! [`CHECKER_OUTPUT_LIMIT`] or gives points that are not a fraction is IE ("checker failed"),
//! never AC. Every message a checker writes is the submission's business too (a checker may
//! quote the output), so it is cut to [`MESSAGE_MAX_CHARS`] and escaped
//! ([`subrun::terminal::escape`]).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use subrun::spec::units::ByteSize;
use subrun::{Outcome, RuntimeResult};

use super::{CheckOutcome, mismatch};

/// Bytes of stdout and of stderr a checker may write; beyond, it is IE.
pub const CHECKER_OUTPUT_LIMIT: ByteSize = ByteSize(1024 * 1024);

/// The longest checker message kept, in characters (`…` marks a cut).
pub const MESSAGE_MAX_CHARS: usize = 300;

/// The most bytes read of a Kattis feedback file (`judgemessage.txt`, `score.txt`).
pub(crate) const FEEDBACK_MAX_BYTES: u64 = 64 * 1024;

/// A checker program: a `.wasm` (or `.wat`) module run on the `wasi` runtime, in a sandbox
/// of its own, once per case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckerProgram {
    /// The module, a host path (absolute once a problem is loaded). The host reads it; no
    /// guest sees it.
    pub module: PathBuf,
    /// How it is called and how its exit code reads.
    pub convention: Convention,
    /// Arguments after the convention's own (Kattis: `validator_flags`). Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Its own limits (not the submission's).
    #[serde(default)]
    pub limits: CheckerLimits,
}

/// How a checker program is called and what its exit code means (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Convention {
    /// testlib: `checker input output answer`; exit 0 AC, 1 WA, 2 PE, 3 fail, 7 points.
    Testlib,
    /// Kattis output validator: `validator input answer feedback_dir < output`; exit 42 AC,
    /// 43 WA.
    Kattis,
}

/// A checker program's limits, per check. Defaults: `time` 10 s, `memory` 512 MiB (the
/// engine's defaults for a command).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckerLimits {
    /// Wall-clock deadline of one check.
    #[serde(default = "default_time", with = "subrun::spec::units::duration_serde")]
    pub time: Duration,
    /// Linear memory of the checker.
    #[serde(default = "default_memory")]
    pub memory: ByteSize,
}

fn default_time() -> Duration {
    Duration::from_secs(10)
}

fn default_memory() -> ByteSize {
    ByteSize::mib(512)
}

impl Default for CheckerLimits {
    fn default() -> Self {
        Self {
            time: default_time(),
            memory: default_memory(),
        }
    }
}

/// What a checker program left besides its exit: its streams and, for Kattis, its feedback
/// files (`None` when absent).
#[derive(Debug, Default)]
pub(crate) struct Feedback {
    pub(crate) judge_message: Option<Vec<u8>>,
    pub(crate) score: Option<Vec<u8>>,
}

/// A checker's text as a message: lossy UTF-8, surrounding whitespace trimmed, at most
/// [`MESSAGE_MAX_CHARS`] characters, escaped. `None` when nothing is left.
pub(crate) fn message_of(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut short: String = text.chars().take(MESSAGE_MAX_CHARS).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    Some(subrun::terminal::escape(&short).into_owned())
}

/// A points fraction: a finite number in `[0, 1]`.
fn fraction(token: &str) -> Option<f64> {
    token
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && (0.0..=1.0).contains(f))
}

/// testlib's points (exit 7): the text is stdout when it holds anything but whitespace, else
/// stderr (where testlib's `quitp` writes `points 0.5 message`). Its first token, after an
/// optional leading word `points`, must be a number in `[0, 1]`: the fraction of the case's
/// points. Returns the fraction and the message: what follows the number on stderr, or all
/// of stderr when the points were on stdout. `Err` says why there are no points.
pub(crate) fn testlib_points(
    stdout: &[u8],
    stderr: &[u8],
) -> Result<(f64, Option<String>), String> {
    let on_stdout = !stdout.iter().all(u8::is_ascii_whitespace);
    let text = String::from_utf8_lossy(if on_stdout { stdout } else { stderr });
    let mut rest = text.trim_start();
    if let Some(after) = rest.strip_prefix("points")
        && after.starts_with(|c: char| c.is_ascii_whitespace())
    {
        rest = after.trim_start();
    }
    let (token, after) = rest
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((rest, ""));
    if token.is_empty() {
        return Err("exit code 7 (points) but no points on stdout or stderr".into());
    }
    let fraction = fraction(token).ok_or_else(|| {
        format!(
            "exit code 7 (points) but `{}` is not a fraction in [0, 1]",
            short(token)
        )
    })?;
    let message = if on_stdout {
        message_of(stderr)
    } else {
        message_of(after.as_bytes())
    };
    Ok((fraction, message))
}

/// Kattis's `score.txt`: its content, trimmed, must be one number in `[0, 1]`.
pub(crate) fn kattis_score(bytes: &[u8]) -> Result<f64, String> {
    let text = String::from_utf8_lossy(bytes);
    fraction(text.trim()).ok_or_else(|| {
        format!(
            "feedback/score.txt holds `{}`, not a fraction in [0, 1]",
            short(text.trim())
        )
    })
}

/// A token a checker chose, for an error message: at most 40 characters, escaped.
fn short(token: &str) -> String {
    let mut s: String = token.chars().take(40).collect();
    if s.len() < token.len() {
        s.push('…');
    }
    subrun::terminal::escape(&s).into_owned()
}

fn failed(why: impl std::fmt::Display, message: Option<String>) -> CheckOutcome {
    CheckOutcome::CheckerFailed(match message {
        Some(m) => format!("checker failed: {why}: {m}"),
        None => format!("checker failed: {why}"),
    })
}

impl CheckerProgram {
    /// The verdict of a finished check: how the checker ended, then its exit code by the
    /// convention. `output` and `answer` are what the checker was given (for the diff a WA or
    /// PE carries).
    pub(crate) fn interpret(
        &self,
        result: &RuntimeResult,
        feedback: &Feedback,
        output: &[u8],
        answer: &[u8],
    ) -> CheckOutcome {
        let code = match &result.outcome {
            Outcome::Exited { code } => *code,
            Outcome::TimedOut => {
                return failed(
                    format_args!(
                        "time limit exceeded ({})",
                        subrun::spec::units::format_duration(self.limits.time)
                    ),
                    None,
                );
            }
            Outcome::ResourceExceeded { resource } => {
                return failed(format_args!("{resource} limit exceeded"), None);
            }
            Outcome::Trapped { trap } => return failed(format_args!("trap: {trap}"), None),
            Outcome::Signaled { signal } => return failed(format_args!("signal {signal}"), None),
            Outcome::Killed => return failed("killed", None),
            other => return failed(format_args!("unknown outcome: {other}"), None),
        };
        match self.convention {
            Convention::Testlib => {
                // testlib writes its verdict message to stderr.
                let message = message_of(&result.stderr).or_else(|| message_of(&result.stdout));
                let refused = |m: Option<String>| {
                    mismatch(
                        m.unwrap_or_else(|| "the checker refused the output".into()),
                        output,
                        answer,
                    )
                };
                match code {
                    0 => CheckOutcome::Accepted,
                    1 => CheckOutcome::WrongAnswer(refused(message)),
                    2 => CheckOutcome::PresentationError(refused(message)),
                    3 => failed("it reported a failure (exit code 3)", message),
                    7 => match testlib_points(&result.stdout, &result.stderr) {
                        Ok((fraction, message)) => CheckOutcome::Partial { fraction, message },
                        Err(why) => failed(why, None),
                    },
                    n => failed(
                        format_args!("exit code {n} (testlib: 0 AC, 1 WA, 2 PE, 3 fail, 7 points)"),
                        message,
                    ),
                }
            }
            Convention::Kattis => {
                let message = feedback
                    .judge_message
                    .as_deref()
                    .and_then(message_of)
                    .or_else(|| message_of(&result.stderr));
                match code {
                    42 => match &feedback.score {
                        None => CheckOutcome::Accepted,
                        Some(bytes) => match kattis_score(bytes) {
                            Ok(fraction) => CheckOutcome::Partial { fraction, message },
                            Err(why) => failed(why, None),
                        },
                    },
                    43 => CheckOutcome::WrongAnswer(mismatch(
                        message.unwrap_or_else(|| "the validator refused the output".into()),
                        output,
                        answer,
                    )),
                    n => failed(
                        format_args!("exit code {n} (Kattis: 42 AC, 43 WA)"),
                        message,
                    ),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn testlib_points_read_stdout_first_then_stderr_and_only_fractions() {
        assert_eq!(testlib_points(b"0.25\n", b""), Ok((0.25, None)));
        assert_eq!(
            testlib_points(b"  \n", b"points 0.5 half right\n"),
            Ok((0.5, Some("half right".into())))
        );
        assert_eq!(
            testlib_points(b"points 1", b"points 0.1"),
            Ok((1.0, Some("points 0.1".into())))
        );
        assert_eq!(testlib_points(b"0", b""), Ok((0.0, None)));
        for (stdout, stderr) in [
            (&b"1.5"[..], &b""[..]),
            (b"-0.1", b""),
            (b"nan", b""),
            (b"inf", b""),
            (b"half", b"0.5"),
            (b"points", b""),
            (b"pointsx 0.5", b""),
            (b"", b""),
        ] {
            let e = testlib_points(stdout, stderr).expect_err("not a fraction");
            assert!(e.contains("exit code 7"), "{e}");
        }
    }

    #[test]
    fn kattis_score_is_one_fraction() {
        assert_eq!(kattis_score(b"0.75\n"), Ok(0.75));
        assert!(kattis_score(b"0.5 0.5").is_err());
        assert!(kattis_score(b"2").is_err());
        assert!(kattis_score(b"").is_err());
    }

    #[test]
    fn messages_are_trimmed_cut_and_escaped() {
        assert_eq!(message_of(b"  \n"), None);
        assert_eq!(
            message_of(b"\x1b[31mred\x1b[0m\n").as_deref(),
            Some("\\u{1b}[31mred\\u{1b}[0m")
        );
        let long = "x".repeat(MESSAGE_MAX_CHARS + 10);
        let m = message_of(long.as_bytes()).unwrap();
        assert_eq!(m.chars().count(), MESSAGE_MAX_CHARS + 1);
        assert!(m.ends_with('…'));
    }
}
