//! Guest stdout/stderr: each write goes straight into the execution's [`StreamCapture`]
//! (streamed to a consumer as written, kept up to the cap). A write past the cap stops the
//! guest at once with `ResourceExceeded { output }` instead of failing its writes.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use subrun::Resource;
use subrun::output::StreamCapture;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

use crate::store::StopSignal;

/// Largest write permit handed to the guest per `check_write`.
const PERMIT: usize = 64 * 1024;

/// One output stream of one execution; clones share the capture.
#[derive(Clone)]
pub(crate) struct OutputSink {
    capture: Arc<Mutex<StreamCapture>>,
    stop: Arc<StopSignal>,
}

impl OutputSink {
    pub(crate) fn new(capture: StreamCapture, stop: Arc<StopSignal>) -> Self {
        Self {
            capture: Arc::new(Mutex::new(capture)),
            stop,
        }
    }

    fn push(&self, data: &[u8]) -> bool {
        let pushed = self
            .capture
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(data);
        if pushed.hit_cap {
            self.stop.raise(Resource::Output);
        }
        !pushed.hit_cap
    }

    /// Writes a message from the host (for example "command not found") into the stream.
    pub(crate) fn write_host_message(&self, message: &[u8]) {
        self.push(message);
    }

    /// Ends the capture. Other clones (held by the dropped store) are gone by then; if one is
    /// not, the capture so far is taken and later writes are lost with the store.
    pub(crate) fn finish(self) -> subrun::output::Captured {
        match Arc::try_unwrap(self.capture) {
            Ok(m) => m
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .finish(),
            Err(shared) => {
                let mut g = shared
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let taken = std::mem::replace(
                    &mut *g,
                    StreamCapture::new(subrun::output::StreamKind::Stdout, 0, None),
                );
                taken.finish()
            }
        }
    }
}

impl IsTerminal for OutputSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for OutputSink {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for OutputSink {
    async fn ready(&mut self) {}
}

impl OutputStream for OutputSink {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        if self.push(&bytes) {
            Ok(())
        } else {
            Err(StreamError::trap("output limit exceeded"))
        }
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(PERMIT)
    }
}

impl AsyncWrite for OutputSink {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.push(buf) {
            Poll::Ready(Ok(buf.len()))
        } else {
            Poll::Ready(Err(std::io::Error::other("output limit exceeded")))
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
