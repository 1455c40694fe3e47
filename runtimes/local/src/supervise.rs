//! One supervisor per execution: a `tokio::select!` over the leader's exit, both output
//! pipes, stdin and the driver's stop (deadline, kill, output cap, disk quota).
//!
//! ```text
//!  Running ──────────── stop requested ───────▶ Terminating ──grace──▶ Killing ──KILL_WAIT──▶ give up
//!     │        (SIGTERM to the group)              │   (SIGKILL to the group)    │
//!     └────────────── leader exits ────────────────┴─────────────────────────────┘
//!                          ▼
//!                      Draining: SIGKILL what is left of the group, reap the leader,
//!                      read both pipes to end-of-file (at most DRAIN_GRACE)
//! ```

use std::io;
use std::os::unix::process::ExitStatusExt as _;
use std::pin::Pin;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use rustix::process::Signal;
use subrun::runtime::{Io, Output, StopReason};
use subrun::{Outcome, Resource, RuntimeError, Stdin};
use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::time::Sleep;

use crate::exit::{Reaped, reap};
use crate::process::Started;
use crate::stdin::{Feeder, feeder};

/// How long a group has to exit after SIGTERM before it gets SIGKILL.
pub(crate) const TERM_GRACE: Duration = Duration::from_millis(200);
/// How long to wait for the leader after SIGKILL before giving up on it (a process stuck in
/// uninterruptible sleep); it is then reaped in the background.
pub(crate) const KILL_WAIT: Duration = Duration::from_secs(2);
/// How long the pipes may stay open after the leader exited and its group was killed. Only a
/// process that left the group (`setsid`) can hold them open that long.
pub(crate) const DRAIN_GRACE: Duration = Duration::from_millis(500);
/// Bytes read from a pipe at a time (the default pipe capacity).
const CHUNK: usize = 64 * 1024;

/// What the supervisor observed.
#[derive(Debug)]
pub(crate) struct Supervised {
    /// How the leader ended; `None` when it was not reaped in time (see [`KILL_WAIT`]).
    pub(crate) outcome: Option<Outcome>,
    /// When the leader exited.
    pub(crate) ended_at: Option<Instant>,
    /// `None` when the leader could not be reaped in time.
    pub(crate) reaped: Option<Reaped>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The command runs; the stop is watched.
    Running,
    /// SIGTERM sent; SIGKILL when the timer fires.
    Terminating,
    /// SIGKILL sent; give up on the leader when the timer fires.
    Killing,
    /// The leader exited and was reaped; read the pipes to EOF until the timer fires.
    Draining,
}

/// Runs the supervisor for `started` until the command ended and its output was read.
///
/// # Errors
/// [`RuntimeError::Backend`] when the exited leader cannot be reaped (see
/// [`reap`](crate::exit::reap)).
pub(crate) async fn supervise(
    started: Started,
    stdin: Stdin,
    io: Io,
) -> Result<Supervised, RuntimeError> {
    let Started {
        mut group,
        exit,
        stdin: stdin_pipe,
        stdout,
        stderr,
        ..
    } = started;
    let Io {
        stdout: stdout_capture,
        stderr: stderr_capture,
        stop,
        ..
    } = io;
    let mut out = Pump::new(stdout, stdout_capture);
    let mut err = Pump::new(stderr, stderr_capture);
    let mut feed = feeder(stdin, stdin_pipe);
    let timer = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(timer);

    let mut phase = Phase::Running;
    let mut reaped = None;
    let mut ended_at = None;
    loop {
        if phase == Phase::Draining && !out.is_open() && !err.is_open() {
            break;
        }
        tokio::select! {
            r = out.read() => out.take(r),
            r = err.read() => err.take(r),
            () = run_feeder(&mut feed), if feed.is_some() => feed = None,
            () = exit.exited(), if phase != Phase::Draining => {
                ended_at = Some(Instant::now());
                group.release_for_reaping();
                let leader = group.leader();
                reaped = Some(reap(leader).map_err(|e| {
                    RuntimeError::backend(format!("reap process {}", leader.as_raw_nonzero()), e)
                })?);
                phase = Phase::Draining;
                reset(timer.as_mut(), DRAIN_GRACE);
            }
            () = stop.requested(), if phase == Phase::Running => {
                let why = stop.reason();
                tracing::debug!(?why, "stopping the command");
                if why == Some(StopReason::Exceeded(Resource::Disk)) {
                    // Every millisecond of grace is more data written past the quota.
                    group.signal(Signal::KILL);
                    phase = Phase::Killing;
                    reset(timer.as_mut(), KILL_WAIT);
                } else {
                    group.signal(Signal::TERM);
                    phase = Phase::Terminating;
                    reset(timer.as_mut(), TERM_GRACE);
                }
            }
            () = &mut timer, if phase != Phase::Running => match phase {
                Phase::Terminating => {
                    group.signal(Signal::KILL);
                    phase = Phase::Killing;
                    reset(timer.as_mut(), KILL_WAIT);
                }
                Phase::Killing => {
                    tracing::error!(pid = group.leader().as_raw_nonzero(),
                        "the command did not exit after SIGKILL; giving up on it");
                    break;
                }
                Phase::Draining => {
                    out.take_buffered();
                    err.take_buffered();
                    tracing::warn!(
                        "output pipes still open {DRAIN_GRACE:?} after the command exited: \
                         a process left its process group (setsid?) and keeps running"
                    );
                    break;
                }
                Phase::Running => {}
            },
        }
    }
    drop(group);
    Ok(Supervised {
        outcome: reaped.as_ref().map(|r| outcome_of(r.status)),
        ended_at,
        reaped,
    })
}

/// An exit status as an outcome: an exit code, or the signal that ended the leader.
fn outcome_of(status: ExitStatus) -> Outcome {
    match (status.code(), status.signal()) {
        (Some(code), _) => Outcome::Exited { code },
        (None, Some(signal)) => Outcome::Signaled { signal },
        // `wait4` without WUNTRACED/WCONTINUED reports only exits and deaths by signal.
        (None, None) => Outcome::Exited {
            code: status.into_raw(),
        },
    }
}

fn reset(timer: Pin<&mut Sleep>, after: Duration) {
    timer.reset(tokio::time::Instant::now() + after);
}

async fn run_feeder(feed: &mut Option<Feeder>) {
    match feed {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

/// One output pipe read into its capture.
struct Pump<P> {
    pipe: Option<P>,
    buf: Box<[u8]>,
    capture: Output,
}

impl<P: AsyncRead + Unpin> Pump<P> {
    fn new(pipe: P, capture: Output) -> Self {
        Self {
            pipe: Some(pipe),
            buf: vec![0; CHUNK].into_boxed_slice(),
            capture,
        }
    }

    fn is_open(&self) -> bool {
        self.pipe.is_some()
    }

    /// Reads the next chunk (pending forever once the pipe is closed). Cancel-safe.
    async fn read(&mut self) -> io::Result<usize> {
        match &mut self.pipe {
            Some(p) => p.read(&mut self.buf).await,
            None => std::future::pending().await,
        }
    }

    /// Handles a read: writes the chunk (past the cap, the output requests a stop), or
    /// closes the pipe at end-of-file.
    fn take(&mut self, r: io::Result<usize>) {
        match r {
            Ok(0) => self.pipe = None,
            Ok(n) => {
                self.capture.write(&self.buf[..n]);
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the command's output failed");
                self.pipe = None;
            }
        }
    }

    /// Takes what is already buffered in the pipe without waiting, then closes it.
    fn take_buffered(&mut self) {
        // A pipe holds at most a few chunks; the bound keeps a writer that never stops from
        // holding us here.
        for _ in 0..16 {
            match self.read().now_or_never() {
                Some(r) => self.take(r),
                None => break,
            }
            if !self.is_open() {
                break;
            }
        }
        self.pipe = None;
    }
}
