//! The command's stdin.

use std::io::Read as _;

use crate::error::{Error, Result};

/// Reads stdin to its end. Under the `wasi` runtime, stdin is the call's bytes, or empty
/// (immediate end-of-file) when the call gave none.
///
/// # Errors
/// [`Error::ReadStdin`] when stdin cannot be read.
///
/// ```no_run
/// let bytes = subrun_guest::read_stdin()?;
/// println!("{} bytes in", bytes.len());
/// # Ok::<(), subrun_guest::Error>(())
/// ```
pub fn read_stdin() -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut buf)
        .map_err(Error::ReadStdin)?;
    Ok(buf)
}

/// Reads stdin to its end as UTF-8 text.
///
/// # Errors
/// [`Error::ReadStdin`] when stdin cannot be read or is not UTF-8.
///
/// ```no_run
/// let text = subrun_guest::read_stdin_to_string()?;
/// let numbers: Vec<i64> = text.split_whitespace().filter_map(|w| w.parse().ok()).collect();
/// println!("{}", numbers.iter().sum::<i64>());
/// # Ok::<(), subrun_guest::Error>(())
/// ```
pub fn read_stdin_to_string() -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .lock()
        .read_to_string(&mut text)
        .map_err(Error::ReadStdin)?;
    Ok(text)
}
