//! Feeding a command's stdin.

use std::future::Future;
use std::pin::Pin;

use subrun::Stdin;
use tokio::io::AsyncWriteExt as _;
use tokio::process::ChildStdin;

/// Writes the request's stdin into the command's pipe, then closes it (end-of-file).
pub(crate) type Feeder = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The feeder for `stdin`, or `None` when there is nothing to feed (stdin closed: the command
/// got `/dev/null`). A command that stops reading (EPIPE) or exits early ends the feeding
/// quietly: what it did not read is not an error.
pub(crate) fn feeder(stdin: Stdin, pipe: Option<ChildStdin>) -> Option<Feeder> {
    let mut pipe = pipe?;
    match stdin {
        Stdin::Closed => None,
        Stdin::Bytes(bytes) => Some(Box::pin(async move {
            if let Err(e) = pipe.write_all(&bytes).await {
                tracing::debug!(error = %e, "stdin not fully read by the command");
            }
            // Dropping `pipe` closes it.
        })),
        Stdin::Reader(mut reader) => Some(Box::pin(async move {
            if let Err(e) = tokio::io::copy(&mut reader, &mut pipe).await {
                tracing::debug!(error = %e, "stdin stream ended early");
            }
        })),
    }
}

/// True when `stdin` needs a pipe.
pub(crate) fn needs_pipe(stdin: &Stdin) -> bool {
    !matches!(stdin, Stdin::Closed)
}
