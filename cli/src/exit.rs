//! The CLI's exit codes (the table is in `--help` and docs/cli.md).

/// subrun itself failed: bad spec, missing guest file, engine error.
pub(crate) const FAILURE: i32 = 125;
/// `build`: the compiler rejected the submission.
pub(crate) const BUILD_FAILED: i32 = 1;
/// `spec check` found an invalid file.
pub(crate) const INVALID_SPEC: i32 = 1;
/// `run` was interrupted by SIGINT (`128 + 2`).
pub(crate) const INTERRUPTED: i32 = 130;
/// `run` was stopped by SIGTERM (`128 + 15`).
pub(crate) const TERMINATED: i32 = 143;
/// `run`'s stdout was closed by its reader (`128 + SIGPIPE`), so the command was killed.
pub(crate) const BROKEN_PIPE: i32 = 141;

/// The process exit status for a command's exit code: its low 8 bits, as a POSIX shell
/// reports them, except that a non-zero code never reads as success (it becomes 1).
pub(crate) fn process_code(code: i32) -> i32 {
    let low = code & 0xff;
    if low == 0 && code != 0 { 1 } else { low }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_keep_their_low_byte_and_never_turn_into_success() {
        assert_eq!(process_code(0), 0);
        assert_eq!(process_code(3), 3);
        assert_eq!(process_code(124), 124);
        assert_eq!(process_code(255), 255);
        assert_eq!(process_code(256), 1);
        assert_eq!(process_code(258), 2);
        assert_eq!(process_code(-1), 255);
    }
}
