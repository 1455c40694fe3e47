//! A running execution: its event stream ([`Execution`]) and its kill switch
//! ([`ExecutionControl`]).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_util::sync::CancellationToken;

use crate::error::RuntimeError;
use crate::ids::ExecutionId;
use crate::result::RuntimeResult;

/// One event of a streamed execution: output chunks as the command writes them, then exactly
/// one `Finished` carrying the whole result (whose `stdout`/`stderr` are the concatenation of
/// the chunks).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RuntimeEvent {
    /// A chunk of standard output.
    Stdout(Bytes),
    /// A chunk of standard error.
    Stderr(Bytes),
    /// The execution ended; always the last event.
    Finished(Box<RuntimeResult>),
}

/// Stops one execution from any task or thread. Cloning shares the switch.
#[derive(Clone, Debug, Default)]
pub struct ExecutionControl {
    token: CancellationToken,
}

impl ExecutionControl {
    /// A fresh, unkilled control.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests the execution to stop; it ends with `Outcome::Killed` and keeps its output.
    /// Idempotent and non-blocking.
    pub fn kill(&self) {
        self.token.cancel();
    }

    /// True once [`kill`](Self::kill) was called.
    pub fn is_killed(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The token behind the switch (the driver derives each execution's stop from it).
    pub(crate) fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Completes when the execution is asked to stop (for `tokio::select!` in supervisors).
    pub async fn killed(&self) {
        self.token.cancelled().await;
    }
}

/// A streamed execution: a [`Stream`] of [`RuntimeEvent`]s ending with one `Finished`.
///
/// Dropping it before the `Finished` event kills the execution, so nothing outlives its handle.
#[derive(Debug)]
pub struct Execution {
    id: ExecutionId,
    rx: UnboundedReceiver<RuntimeEvent>,
    control: ExecutionControl,
    finished: bool,
}

/// The runtime's end of an execution's event channel.
pub type EventSender = UnboundedSender<RuntimeEvent>;

impl Execution {
    /// Creates the handle and the sender the runtime's supervisor writes events into.
    pub fn channel(id: ExecutionId, control: ExecutionControl) -> (Self, EventSender) {
        let (tx, rx) = unbounded_channel();
        (
            Self {
                id,
                rx,
                control,
                finished: false,
            },
            tx,
        )
    }

    /// This execution's id.
    pub fn id(&self) -> &ExecutionId {
        &self.id
    }

    /// A kill switch usable from another task.
    pub fn control(&self) -> ExecutionControl {
        self.control.clone()
    }

    /// The next event, or `None` after `Finished`.
    pub async fn next_event(&mut self) -> Option<RuntimeEvent> {
        if self.finished {
            return None;
        }
        let ev = self.rx.recv().await;
        if matches!(ev, Some(RuntimeEvent::Finished(_)) | None) {
            self.finished = true;
        }
        ev
    }

    /// Drains the events and returns the final result.
    ///
    /// # Errors
    /// [`RuntimeError::Lost`] if the runtime dropped the execution without a result.
    pub async fn wait(mut self) -> Result<RuntimeResult, RuntimeError> {
        while let Some(ev) = self.next_event().await {
            if let RuntimeEvent::Finished(r) = ev {
                return Ok(*r);
            }
        }
        Err(RuntimeError::Lost {
            id: self.id.clone(),
        })
    }
}

impl Stream for Execution {
    type Item = RuntimeEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<RuntimeEvent>> {
        if self.finished {
            return Poll::Ready(None);
        }
        let p = self.rx.poll_recv(cx);
        if let Poll::Ready(Some(RuntimeEvent::Finished(_)) | None) = &p {
            self.finished = true;
        }
        p
    }
}

impl Drop for Execution {
    fn drop(&mut self) {
        if !self.finished {
            self.control.kill();
        }
    }
}
