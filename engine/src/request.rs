//! What to run: [`ExecRequest`].

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncRead;

/// Where a command's stdin comes from. The default is [`Stdin::Closed`] (immediate EOF).
#[derive(Default)]
pub enum Stdin {
    /// No input: the first read sees end-of-file.
    #[default]
    Closed,
    /// These bytes, then end-of-file.
    Bytes(Bytes),
    /// A live stream, read as the command consumes it (end-of-file when it ends).
    Reader(Box<dyn AsyncRead + Send + Sync + Unpin + 'static>),
}

impl fmt::Debug for Stdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stdin::Closed => f.write_str("Closed"),
            Stdin::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Stdin::Reader(_) => f.write_str("Reader(..)"),
        }
    }
}

/// One command to execute.
///
/// ```
/// use subrun::ExecRequest;
/// use std::time::Duration;
/// let req = ExecRequest::new("python main.py --fast")
///     .env("SEED", "7")
///     .stdin("1 2 3\n")
///     .timeout(Duration::from_secs(2));
/// assert_eq!(req.command, "python main.py --fast");
/// ```
#[derive(Debug)]
pub struct ExecRequest {
    /// The command line. `local` and `docker` run it with `sh -c`; `wasi` splits it into words
    /// (see [`split_command`](crate::command::split_command)).
    pub command: String,
    /// Per-call variables; they take precedence over spawn, spec and host variables.
    pub env: BTreeMap<String, String>,
    /// Standard input (default: closed).
    pub stdin: Stdin,
    /// Deadline for this call; `None` uses the spec's `limits.timeout`.
    pub timeout: Option<Duration>,
}

impl ExecRequest {
    /// A request for `command` with no extra env, stdin closed and the spec's deadline.
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            env: BTreeMap::new(),
            stdin: Stdin::Closed,
            timeout: None,
        }
    }

    /// Sets one per-call variable.
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Feeds these bytes on stdin, then end-of-file.
    #[must_use]
    pub fn stdin(mut self, bytes: impl Into<Bytes>) -> Self {
        self.stdin = Stdin::Bytes(bytes.into());
        self
    }

    /// Feeds a live stream on stdin.
    #[must_use]
    pub fn stdin_reader(mut self, reader: impl AsyncRead + Send + Sync + Unpin + 'static) -> Self {
        self.stdin = Stdin::Reader(Box::new(reader));
        self
    }

    /// Overrides the deadline for this call.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}
