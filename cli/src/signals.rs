//! SIGINT and SIGTERM during `subrun run`: the command is killed and the session cleaned up
//! instead of the process dying with a workspace, processes or a container left behind.

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::error::CliError;
use crate::exit::{INTERRUPTED, TERMINATED};

/// The two signals, installed for the rest of the process.
#[derive(Debug)]
pub(crate) struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    /// Installs the handlers.
    ///
    /// # Errors
    /// [`CliError::Signals`] when the OS refuses.
    pub(crate) fn new() -> Result<Self, CliError> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).map_err(CliError::Signals)?,
            terminate: signal(SignalKind::terminate()).map_err(CliError::Signals)?,
        })
    }

    /// Waits for the next signal and returns the exit code that reports it (130 or 143).
    pub(crate) async fn next(&mut self) -> i32 {
        tokio::select! {
            _ = self.interrupt.recv() => INTERRUPTED,
            _ = self.terminate.recv() => TERMINATED,
        }
    }
}
