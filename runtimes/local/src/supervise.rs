//! One supervisor per execution: a `tokio::select!` over the leader's exit, both output
//! pipes, stdin, the deadline, the kill switch and the output cap.
//!
//! ```text
//!  Running ──deadline / kill() / output cap──▶ Terminating ──grace──▶ Killing ──KILL_WAIT──▶ give up
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
use subrun::output::{Captured, StreamCapture, StreamKind};
use subrun::quota::DiskWatch;
use subrun::{EventSender, ExecutionControl, Outcome, Resource, RuntimeError, Stdin};
use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::time::Sleep;

use crate::exit::{Reaped, reap};
use crate::group::GroupGuard;
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

/// How one execution is supervised.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) deadline: Duration,
    pub(crate) output_cap: u64,
    pub(crate) control: ExecutionControl,
    /// Where output chunks are streamed, if anywhere.
    pub(crate) sink: Option<EventSender>,
    /// The workspace quota (`limits.disk`), if any.
    pub(crate) disk: Option<DiskWatch>,
}

/// What the supervisor observed.
#[derive(Debug)]
pub(crate) struct Supervised {
    pub(crate) outcome: Outcome,
    pub(crate) stdout: Captured,
    pub(crate) stderr: Captured,
    pub(crate) elapsed: Duration,
    /// `None` when the leader could not be reaped in time (see [`KILL_WAIT`]).
    pub(crate) reaped: Option<Reaped>,
    /// The group; drop it once the execution is recorded as finished.
    pub(crate) group: GroupGuard,
}

/// Why the supervisor ended the command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    TimedOut,
    Killed,
    OutputCap,
    Disk,
}

impl Stop {
    fn outcome(self) -> Outcome {
        match self {
            Stop::TimedOut => Outcome::TimedOut,
            Stop::Killed => Outcome::Killed,
            Stop::OutputCap => Outcome::ResourceExceeded {
                resource: Resource::Output,
            },
            Stop::Disk => Outcome::ResourceExceeded {
                resource: Resource::Disk,
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The command runs; the deadline, the kill switch and the cap are watched.
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
    plan: Plan,
) -> Result<Supervised, RuntimeError> {
    let Started {
        mut group,
        exit,
        stdin: stdin_pipe,
        stdout,
        stderr,
        started_at,
    } = started;
    let cap = plan.output_cap;
    let mut out = Pump::new(
        stdout,
        StreamCapture::new(StreamKind::Stdout, cap, plan.sink.clone()),
    );
    let mut err = Pump::new(
        stderr,
        StreamCapture::new(StreamKind::Stderr, cap, plan.sink),
    );
    let mut feed = feeder(stdin, stdin_pipe);
    let deadline = tokio::time::sleep_until(far_instant(started_at, plan.deadline).into());
    let killed = plan.control.killed();
    let timer = tokio::time::sleep(Duration::ZERO);
    // The group's files that were unlinked while open are on the disk too, where no walk of
    // the workspace sees them.
    let pgid = group.leader().as_raw_nonzero().get().unsigned_abs();
    let disk = plan.disk.clone().map(|w| {
        w.with_extra(move || {
            subrun::quota::unlinked_open_usage(
                crate::group::members(pgid),
                &std::collections::HashSet::new(),
            )
        })
    });
    let over_quota = async move {
        match &disk {
            Some(watch) => watch.exceeded().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline, killed, timer, over_quota);

    let mut state = State {
        phase: Phase::Running,
        stop: None,
    };
    let mut reaped = None;
    let mut ended_at = None;
    loop {
        if state.phase == Phase::Draining && !out.is_open() && !err.is_open() {
            break;
        }
        tokio::select! {
            r = out.read() => {
                if out.take(r) {
                    state.begin_stop(Stop::OutputCap, &group, timer.as_mut());
                }
            }
            r = err.read() => {
                if err.take(r) {
                    state.begin_stop(Stop::OutputCap, &group, timer.as_mut());
                }
            }
            () = run_feeder(&mut feed), if feed.is_some() => feed = None,
            () = exit.exited(), if state.phase != Phase::Draining => {
                ended_at = Some(Instant::now());
                group.release_for_reaping();
                let leader = group.leader();
                reaped = Some(reap(leader).map_err(|e| {
                    RuntimeError::backend(format!("reap process {}", leader.as_raw_nonzero()), e)
                })?);
                state.phase = Phase::Draining;
                reset(timer.as_mut(), DRAIN_GRACE);
            }
            () = &mut deadline, if state.phase == Phase::Running => {
                state.begin_stop(Stop::TimedOut, &group, timer.as_mut());
            }
            () = &mut killed, if state.phase == Phase::Running => {
                state.begin_stop(Stop::Killed, &group, timer.as_mut());
            }
            _ = &mut over_quota, if state.phase == Phase::Running => {
                state.begin_stop(Stop::Disk, &group, timer.as_mut());
            }
            () = &mut timer, if state.phase != Phase::Running => match state.phase {
                Phase::Terminating => {
                    group.signal(Signal::KILL);
                    state.phase = Phase::Killing;
                    reset(timer.as_mut(), KILL_WAIT);
                }
                Phase::Killing => {
                    tracing::error!(pid = group.leader().as_raw_nonzero(),
                        "the command did not exit after SIGKILL; giving up on it");
                    break;
                }
                Phase::Draining => {
                    let hit = out.take_buffered() | err.take_buffered();
                    if hit {
                        state.begin_stop(Stop::OutputCap, &group, timer.as_mut());
                    }
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
    if state.stop.is_none()
        && let Some(watch) = &plan.disk
        && watch.measure().await > watch.limit()
    {
        // Over the quota at the end, though no measurement caught it while it ran.
        state.stop = Some(Stop::Disk);
    }
    let outcome = match (state.stop, &reaped) {
        (Some(stop), _) => stop.outcome(),
        (None, Some(r)) => outcome_of(r.status),
        (None, None) => {
            return Err(RuntimeError::backend(
                "wait for the command",
                "the supervisor ended without an exit status",
            ));
        }
    };
    Ok(Supervised {
        outcome,
        stdout: out.capture.finish(),
        stderr: err.capture.finish(),
        elapsed: ended_at.unwrap_or_else(Instant::now) - started_at,
        reaped,
        group,
    })
}

/// The phase and the reason the supervisor stopped the command, if it did.
#[derive(Debug)]
struct State {
    phase: Phase,
    stop: Option<Stop>,
}

impl State {
    /// Records `why` (the first reason wins) and, while the command runs, sends SIGTERM to the
    /// group and arms the SIGKILL timer.
    fn begin_stop(&mut self, why: Stop, group: &GroupGuard, timer: Pin<&mut Sleep>) {
        if self.stop.is_some() {
            return;
        }
        self.stop = Some(why);
        if self.phase == Phase::Running {
            tracing::debug!(?why, "stopping the command");
            if why == Stop::Disk {
                // Every millisecond of grace is more data written past the quota.
                group.signal(Signal::KILL);
                self.phase = Phase::Killing;
                reset(timer, KILL_WAIT);
            } else {
                group.signal(Signal::TERM);
                self.phase = Phase::Terminating;
                reset(timer, TERM_GRACE);
            }
        }
    }
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

/// `start + d`, or a date decades away when that overflows (a deadline of `Duration::MAX`).
fn far_instant(start: Instant, d: Duration) -> Instant {
    start
        .checked_add(d)
        .or_else(|| start.checked_add(Duration::from_secs(30 * 365 * 86_400)))
        .unwrap_or(start)
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
    capture: StreamCapture,
}

impl<P: AsyncRead + Unpin> Pump<P> {
    fn new(pipe: P, capture: StreamCapture) -> Self {
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

    /// Handles a read: pushes the chunk, or closes the pipe at end-of-file. True when the
    /// chunk crossed the cap.
    fn take(&mut self, r: io::Result<usize>) -> bool {
        match r {
            Ok(0) => {
                self.pipe = None;
                false
            }
            Ok(n) => self.capture.push(&self.buf[..n]).hit_cap,
            Err(e) => {
                tracing::warn!(error = %e, "reading the command's output failed");
                self.pipe = None;
                false
            }
        }
    }

    /// Takes what is already buffered in the pipe without waiting, then closes it. True when
    /// that crossed the cap.
    fn take_buffered(&mut self) -> bool {
        let mut hit = false;
        // A pipe holds at most a few chunks; the bound keeps a writer that never stops from
        // holding us here.
        for _ in 0..16 {
            match self.read().now_or_never() {
                Some(r) => hit |= self.take(r),
                None => break,
            }
            if !self.is_open() {
                break;
            }
        }
        self.pipe = None;
        hit
    }
}
