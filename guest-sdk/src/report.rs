//! Turning `main`'s result into an exit code and a readable message.

use std::fmt::Write as _;
use std::process::ExitCode;

/// `Ok` is [`ExitCode::SUCCESS`]; an `Err` prints `error: <error>` and one
/// `  caused by: <cause>` line per source on stderr and is [`ExitCode::FAILURE`] (1), where
/// `fn main() -> Result<..>` would print the error's `Debug` form instead.
///
/// ```no_run
/// use std::process::ExitCode;
///
/// fn run() -> Result<(), subrun_guest::Error> {
///     let input = subrun_guest::read_input_to_string("input.txt")?;
///     print!("{}", input.to_uppercase());
///     Ok(())
/// }
///
/// fn main() -> ExitCode {
///     // Without input.txt: "error: cannot read input.txt" and
///     // "  caused by: No such file or directory (os error 2)" on stderr, exit code 1.
///     subrun_guest::report(run())
/// }
/// ```
///
/// ```
/// use std::process::ExitCode;
///
/// assert_eq!(subrun_guest::report(Ok::<(), subrun_guest::Error>(())), ExitCode::SUCCESS);
/// let failed = subrun_guest::read_input("surely/missing.txt").map(drop);
/// assert_eq!(subrun_guest::report(failed), ExitCode::FAILURE);
/// ```
pub fn report<E: std::error::Error>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", render(&err));
            ExitCode::FAILURE
        }
    }
}

/// `error: <error>` and one `  caused by: <cause>` line per source.
fn render(err: &dyn std::error::Error) -> String {
    let mut out = format!("error: {err}");
    let mut source = err.source();
    while let Some(cause) = source {
        let _ = write!(out, "\n  caused by: {cause}");
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_is_one_line_per_cause() {
        let err = crate::read_input("/surely/not/here").unwrap_err();
        let text = render(&err);
        assert!(
            text.starts_with("error: cannot read /surely/not/here\n  caused by: "),
            "{text}"
        );
        assert_eq!(text.lines().count(), 2);
    }
}
