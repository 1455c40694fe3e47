//! Capturing one output stream under a byte cap, for runtime implementors.
//!
//! Every runtime pushes each chunk the command writes into a [`StreamCapture`]: it forwards
//! the chunk to a streaming consumer (if any), keeps it for the final result, counts every
//! byte, and cuts at the cap (setting the truncation flag). Chunk boundaries follow the
//! command's writes; no byte below the cap is ever dropped.

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc::UnboundedSender;

use crate::execution::RuntimeEvent;

/// Which output stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum StreamKind {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// What happened to a pushed chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pushed {
    /// Bytes of the chunk kept (and forwarded).
    pub(crate) kept: usize,
    /// True when this push reached or crossed the cap: the stream is now truncated.
    pub(crate) hit_cap: bool,
}

/// One stream's capture; see the module docs.
#[derive(Debug)]
pub(crate) struct StreamCapture {
    kind: StreamKind,
    cap: usize,
    chunks: Vec<Bytes>,
    kept: usize,
    total: u64,
    truncated: bool,
    sink: Option<UnboundedSender<RuntimeEvent>>,
}

/// A finished capture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Captured {
    /// The bytes kept, at most the cap.
    pub(crate) bytes: Bytes,
    /// Every byte the command wrote, kept or not.
    pub(crate) total: u64,
    /// True when bytes beyond the cap were dropped.
    pub(crate) truncated: bool,
}

impl StreamCapture {
    /// A capture of `kind` keeping at most `cap` bytes, forwarding chunks to `sink` when set.
    pub(crate) fn new(
        kind: StreamKind,
        cap: u64,
        sink: Option<UnboundedSender<RuntimeEvent>>,
    ) -> Self {
        Self {
            kind,
            cap: usize::try_from(cap).unwrap_or(usize::MAX),
            chunks: Vec::new(),
            kept: 0,
            total: 0,
            truncated: false,
            sink,
        }
    }

    /// Pushes a chunk the command wrote.
    pub(crate) fn push(&mut self, data: &[u8]) -> Pushed {
        self.total += data.len() as u64;
        if data.is_empty() {
            return Pushed {
                kept: 0,
                hit_cap: false,
            };
        }
        let room = self.cap - self.kept;
        let keep = data.len().min(room);
        if keep > 0 {
            let chunk = Bytes::copy_from_slice(&data[..keep]);
            self.kept += keep;
            if let Some(tx) = &self.sink {
                let event = match self.kind {
                    StreamKind::Stdout => RuntimeEvent::Stdout(chunk.clone()),
                    StreamKind::Stderr => RuntimeEvent::Stderr(chunk.clone()),
                };
                // A consumer that went away does not stop the capture.
                let _ = tx.send(event);
            }
            self.chunks.push(chunk);
        }
        let hit_cap = keep < data.len();
        if hit_cap {
            self.truncated = true;
        }
        Pushed {
            kept: keep,
            hit_cap,
        }
    }

    /// Ends the capture, joining the kept chunks (without copying when there is one).
    pub(crate) fn finish(self) -> Captured {
        let bytes = match self.chunks.len() {
            0 => Bytes::new(),
            1 => self.chunks.into_iter().next().unwrap_or_default(),
            _ => {
                let mut b = BytesMut::with_capacity(self.kept);
                for c in &self.chunks {
                    b.extend_from_slice(c);
                }
                b.freeze()
            }
        };
        Captured {
            bytes,
            total: self.total,
            truncated: self.truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_cuts_and_flags_but_counts_everything() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut c = StreamCapture::new(StreamKind::Stdout, 5, Some(tx));
        assert_eq!(
            c.push(b"abc"),
            Pushed {
                kept: 3,
                hit_cap: false
            }
        );
        assert_eq!(
            c.push(b"defg"),
            Pushed {
                kept: 2,
                hit_cap: true
            }
        );
        assert_eq!(
            c.push(b"h"),
            Pushed {
                kept: 0,
                hit_cap: true
            }
        );
        let done = c.finish();
        assert_eq!(&done.bytes[..], b"abcde");
        assert_eq!(done.total, 8);
        assert!(done.truncated);
        let mut streamed = Vec::new();
        while let Ok(RuntimeEvent::Stdout(b)) = rx.try_recv() {
            streamed.extend_from_slice(&b);
        }
        assert_eq!(streamed, b"abcde");
    }
}
