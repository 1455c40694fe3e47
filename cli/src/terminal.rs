//! Writing a command's output to this process's stdout and stderr as it arrives.

use std::io::{ErrorKind, Write};

/// Where streamed chunks go: the terminal (plain mode) or nowhere (`--json`, which prints
/// the whole result at the end).
#[derive(Debug)]
pub(crate) struct Terminal {
    echo: bool,
    stdout_closed: bool,
    stderr_closed: bool,
}

/// What happened to a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// Delivered (or deliberately discarded).
    Ok,
    /// This process's stdout was closed by its reader (`subrun run ... | head`).
    StdoutClosed,
}

impl Terminal {
    /// Echoes chunks when `echo` is true.
    pub(crate) fn new(echo: bool) -> Self {
        Self {
            echo,
            stdout_closed: false,
            stderr_closed: false,
        }
    }

    /// Writes and flushes a stdout chunk.
    pub(crate) fn stdout(&mut self, chunk: &[u8]) -> Written {
        if !self.echo || self.stdout_closed {
            return Written::Ok;
        }
        let mut out = std::io::stdout().lock();
        match out.write_all(chunk).and_then(|()| out.flush()) {
            Ok(()) => Written::Ok,
            Err(e) => {
                self.stdout_closed = true;
                if e.kind() == ErrorKind::BrokenPipe {
                    Written::StdoutClosed
                } else {
                    tracing::warn!(error = %e, "cannot write the command's stdout; discarding the rest");
                    Written::Ok
                }
            }
        }
    }

    /// Writes and flushes a stderr chunk (a closed stderr only discards the rest).
    pub(crate) fn stderr(&mut self, chunk: &[u8]) {
        if !self.echo || self.stderr_closed {
            return;
        }
        let mut err = std::io::stderr().lock();
        if err.write_all(chunk).and_then(|()| err.flush()).is_err() {
            self.stderr_closed = true;
        }
    }
}
