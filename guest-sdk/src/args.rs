//! The command's arguments.

/// The arguments after the program name, as given on the command line
/// (`subrun run -- sub.wasm a 'b c'` gives `["a", "b c"]`).
///
/// # Panics
/// When an argument is not valid Unicode, as [`std::env::args`] does; use
/// [`std::env::args_os`] for arbitrary bytes.
///
/// ```
/// // In a doctest the arguments are the test harness's; a submission sees its own.
/// assert_eq!(subrun_guest::args(), std::env::args().skip(1).collect::<Vec<_>>());
/// ```
pub fn args() -> Vec<String> {
    std::env::args().skip(1).collect()
}
