//! Checkers: how a submission's output is compared with the expected answer.
//!
//! Every rule is written out here and in `docs/grading.md`. "Whitespace" is ASCII
//! whitespace: space, `\t`, `\n`, `\x0b`, `\x0c`, `\r`. Output and answer are compared as
//! bytes; nothing is decoded, so invalid UTF-8 is compared like any other byte.
//!
//! A checker program ([`Checker::Program`]) is a WebAssembly module that judges the output
//! itself, run on the `wasi` runtime in a sandbox of its own, with testlib's or Kattis's exit
//! codes ([`program`]); it can give partial points ([`CheckOutcome::Partial`]). The grader
//! runs it (one sandbox per worker); [`Checker::check`] runs only the built-in rules.

pub mod program;
pub(crate) mod sandbox;

pub use program::{CheckerLimits, CheckerProgram, Convention};

use serde::{Deserialize, Serialize};
use similar::TextDiff;

/// How output is compared with the answer. The default is [`Checker::Tokens`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Checker {
    /// Byte for byte: accepted only when output and answer are identical.
    Exact,
    /// Whitespace-insensitive: both are split at runs of whitespace (leading and trailing
    /// whitespace ignored) and the token sequences must be equal byte for byte.
    #[default]
    Tokens,
    /// Line by line: both are split at `\n`; from each line trailing whitespace (space, `\t`,
    /// `\r`, `\x0b`, `\x0c`) is removed; then empty lines at the end are dropped. The line
    /// sequences must be equal. Leading whitespace and empty lines elsewhere count.
    Lines,
    /// As [`Tokens`](Self::Tokens), but a pair of tokens that both parse as floats is equal
    /// when [`floats_equal`] holds.
    Floats(FloatTolerance),
    /// Lines as [`Lines`](Self::Lines) prepares them, compared as multisets (order ignored,
    /// repetitions counted).
    Unordered,
    /// A checker program, run in a sandbox of its own (see [`program`]).
    Program(CheckerProgram),
}

/// The tolerance of [`Checker::Floats`]: a pair passes when it is within *either* bound.
/// A bound left out does not accept anything by itself.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloatTolerance {
    /// `|got - want| <= absolute` accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute: Option<f64>,
    /// `|got - want| <= relative * |want|` accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative: Option<f64>,
}

/// The result of one check.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CheckOutcome {
    /// The output is accepted.
    Accepted,
    /// The output is wrong.
    WrongAnswer(Mismatch),
    /// The output is right but for its layout: a strict checker ([`Checker::Exact`],
    /// [`Checker::Lines`]) refused it while [`Checker::Tokens`] accepts it, or a checker
    /// program said so (testlib exit 2).
    PresentationError(Mismatch),
    /// A checker program gave this fraction (in `[0, 1]`) of the case's points.
    Partial {
        /// The fraction of the case's points earned.
        fraction: f64,
        /// The checker's message, escaped.
        message: Option<String>,
    },
    /// The checker program failed (it said so, timed out, trapped, ran out of memory, or
    /// gave an exit code or points its convention does not define): no verdict on the
    /// output. The message is escaped.
    CheckerFailed(String),
}

/// Where output and answer part.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// What differs, in one line (token or line numbers, values; escaped).
    pub message: String,
    /// The first line (1-based) where the output differs from the answer, if any does.
    pub first_diff_line: Option<usize>,
    /// A short unified diff (answer as `-`, output as `+`), at most [`DIFF_MAX_LINES`] lines,
    /// each escaped with [`subrun::terminal::escape`].
    pub diff: String,
}

/// The longest diff a [`Mismatch`] keeps, in lines.
pub const DIFF_MAX_LINES: usize = 20;

/// ASCII whitespace as the checkers define it.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn tokens(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split(|b| is_ws(*b)).filter(|t| !t.is_empty())
}

/// The lines [`Checker::Lines`] compares: split at `\n`, trailing whitespace removed from
/// each, trailing empty lines dropped.
fn normalized_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .map(|l| {
            let end = l.iter().rposition(|b| !is_ws(*b)).map_or(0, |i| i + 1);
            &l[..end]
        })
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// A token as a float, with Rust's grammar (`str::parse::<f64>`): an optional sign, digits
/// with an optional `.` (`1.`, `.5`), an optional exponent (`1e-3`, `2E+5`), and,
/// case-insensitively, `inf`, `infinity` and `nan`. Hexadecimal floats are not numbers.
pub fn parse_float(token: &[u8]) -> Option<f64> {
    std::str::from_utf8(token).ok()?.parse::<f64>().ok()
}

/// When [`Checker::Floats`] takes `got` for `want`: equal values (so `-0` equals `0`, and
/// `inf` equals `inf` of the same sign), both NaN, or a finite difference within a bound of
/// `tol` (`|got - want| <= absolute`, or `<= relative * |want|`). NaN never equals a number,
/// an infinity never equals a finite value (whatever the tolerance), and bounds are inclusive.
pub fn floats_equal(got: f64, want: f64, tol: FloatTolerance) -> bool {
    if got == want || (got.is_nan() && want.is_nan()) {
        return true;
    }
    if !got.is_finite() || !want.is_finite() {
        return false;
    }
    let diff = (got - want).abs();
    tol.absolute.is_some_and(|a| diff <= a) || tol.relative.is_some_and(|r| diff <= r * want.abs())
}

impl Checker {
    /// This checker's name as problem files spell it.
    pub fn name(&self) -> &'static str {
        match self {
            Checker::Exact => "exact",
            Checker::Tokens => "tokens",
            Checker::Lines => "lines",
            Checker::Floats(_) => "floats",
            Checker::Unordered => "unordered",
            Checker::Program(_) => "program",
        }
    }

    /// Compares `output` with `answer` by this checker's rule. A [`Checker::Program`] runs
    /// only in a sandbox, which the [`Grader`](crate::Grader) provides: here it is
    /// [`CheckOutcome::CheckerFailed`].
    pub fn check(&self, output: &[u8], answer: &[u8]) -> CheckOutcome {
        let wrong = match self {
            Checker::Program(_) => {
                return CheckOutcome::CheckerFailed(
                    "a checker program runs in its own sandbox: grade with the Grader".into(),
                );
            }
            Checker::Exact => {
                (output != answer).then(|| "output differs from the answer".to_owned())
            }
            Checker::Tokens => tokens_mismatch(output, answer, None),
            Checker::Floats(tol) => tokens_mismatch(output, answer, Some(*tol)),
            Checker::Lines => lines_mismatch(output, answer),
            Checker::Unordered => unordered_mismatch(output, answer),
        };
        let Some(message) = wrong else {
            return CheckOutcome::Accepted;
        };
        let mismatch = mismatch(message, output, answer);
        let strict = matches!(self, Checker::Exact | Checker::Lines);
        if strict && tokens_mismatch(output, answer, None).is_none() {
            CheckOutcome::PresentationError(mismatch)
        } else {
            CheckOutcome::WrongAnswer(mismatch)
        }
    }
}

/// A token or line for a message: lossy UTF-8, at most 40 characters, escaped
/// ([`subrun::terminal::escape`]) since the submission chose it.
fn show(token: &[u8]) -> String {
    let text = String::from_utf8_lossy(token);
    let mut short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    format!("`{}`", subrun::terminal::escape(&short))
}

fn tokens_mismatch(output: &[u8], answer: &[u8], tol: Option<FloatTolerance>) -> Option<String> {
    let mut got = tokens(output);
    let mut want = tokens(answer);
    let mut n = 0usize;
    loop {
        n += 1;
        match (got.next(), want.next()) {
            (None, None) => return None,
            (Some(g), None) => {
                return Some(format!(
                    "token {n}: expected end of output, got {}",
                    show(g)
                ));
            }
            (None, Some(w)) => {
                return Some(format!(
                    "token {n}: expected {}, got end of output",
                    show(w)
                ));
            }
            (Some(g), Some(w)) => {
                let equal = match (tol, parse_float(g), parse_float(w)) {
                    (Some(tol), Some(gf), Some(wf)) => floats_equal(gf, wf, tol),
                    _ => g == w,
                };
                if !equal {
                    return Some(format!("token {n}: expected {}, got {}", show(w), show(g)));
                }
            }
        }
    }
}

fn lines_mismatch(output: &[u8], answer: &[u8]) -> Option<String> {
    let got = normalized_lines(output);
    let want = normalized_lines(answer);
    for i in 0..got.len().max(want.len()) {
        match (got.get(i), want.get(i)) {
            (Some(g), Some(w)) if g == w => {}
            (Some(g), Some(w)) => {
                return Some(format!(
                    "line {}: expected {}, got {}",
                    i + 1,
                    show(w),
                    show(g)
                ));
            }
            (Some(g), None) => {
                return Some(format!(
                    "line {}: expected end of output, got {}",
                    i + 1,
                    show(g)
                ));
            }
            (None, Some(w)) => {
                return Some(format!(
                    "line {}: expected {}, got end of output",
                    i + 1,
                    show(w)
                ));
            }
            (None, None) => {}
        }
    }
    None
}

fn unordered_mismatch(output: &[u8], answer: &[u8]) -> Option<String> {
    let mut got = normalized_lines(output);
    let mut want = normalized_lines(answer);
    got.sort_unstable();
    want.sort_unstable();
    if got == want {
        return None;
    }
    let missing = want
        .iter()
        .find(|w| want.iter().filter(|x| x == w).count() > got.iter().filter(|x| x == w).count());
    Some(match missing {
        Some(w) => format!(
            "line {} expected (in any order) is missing or too rare",
            show(w)
        ),
        None => "the output has lines the answer does not".to_owned(),
    })
}

fn mismatch(message: String, output: &[u8], answer: &[u8]) -> Mismatch {
    let want = String::from_utf8_lossy(answer);
    let got = String::from_utf8_lossy(output);
    let first_diff_line = want
        .split('\n')
        .map(Some)
        .chain(std::iter::repeat(None))
        .zip(got.split('\n').map(Some).chain(std::iter::repeat(None)))
        .take_while(|(w, g)| w.is_some() || g.is_some())
        .position(|(w, g)| w != g)
        .map(|i| i + 1);
    let diff = TextDiff::from_lines(want.as_ref(), got.as_ref())
        .unified_diff()
        .context_radius(1)
        .header("answer", "output")
        .to_string();
    // Each line escaped: the output is the submission's.
    let mut lines: Vec<String> = diff
        .lines()
        .take(DIFF_MAX_LINES + 1)
        .map(|l| subrun::terminal::escape(l).into_owned())
        .collect();
    let cut = lines.len() > DIFF_MAX_LINES;
    lines.truncate(DIFF_MAX_LINES);
    let mut diff = lines.join("\n");
    if cut {
        diff.push_str("\n…");
    }
    Mismatch {
        message,
        first_diff_line,
        diff,
    }
}

#[cfg(test)]
mod tests;
