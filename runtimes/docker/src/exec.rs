//! One command in the container: start it through an attached exec, then supervise it.
//!
//! ```text
//!  create exec (sh -c WRAPPER cmd) ─▶ start, attached ─▶ supervisor: select! over
//!      output frames ─▶ StreamCapture (stdout, stderr) ─▶ events
//!      the driver's stop (deadline, kill(), output cap, disk) ─▶ second exec: sweep the
//!      command's session
//!  output ends ─▶ inspect exec ─▶ exit code ─▶ Outcome
//! ```
//!
//! The wrapper prints its pid first (the session id of everything the command starts); the
//! supervisor strips that line, so stdout holds exactly the command's bytes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::container::LogOutput;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use subrun::runtime::{Ended, Io};
use subrun::{RuntimeError, Stdin};
use tokio::io::AsyncWriteExt;
use tokio::sync::OwnedRwLockReadGuard;
use tokio_util::task::AbortOnDropHandle;

use crate::error::DockerError;
use crate::outcome::from_exit_code;
use crate::scripts;
use crate::shared::{Attached, Shared};

/// How long the output may stay open once the command is being ended before the supervisor
/// stops reading (a sweep that cannot start, a process stuck in the kernel).
const DRAIN_AFTER_KILL: Duration = Duration::from_secs(5);
/// How long the output may stay open after the sweep reported the command's processes gone
/// (a process that left the session, spared because another command runs, holds the pipe).
const DRAIN_AFTER_SWEEP: Duration = Duration::from_millis(500);

/// A command ready to start.
pub(crate) struct Plan<'a> {
    pub(crate) command: &'a str,
    pub(crate) env: &'a BTreeMap<String, String>,
    pub(crate) stdin: bool,
    /// Leave processes the command leaves behind running (setup commands start services).
    pub(crate) keep_leftovers: bool,
}

/// A started command: the attached exec and its hold on the start gate (released once its
/// session id is known).
pub(crate) struct Started {
    pub(crate) attached: Attached,
    pub(crate) gate: OwnedRwLockReadGuard<()>,
}

/// Starts `plan`'s command (the wrapper around `sh -c`) and returns the attached exec. The
/// caller counts itself live (`Shared::live_guard`) first.
pub(crate) async fn start(shared: &Shared, plan: &Plan<'_>) -> Result<Started, RuntimeError> {
    let gate = shared.gate.clone().read_owned().await;
    let cmd = vec![
        "/bin/sh".to_string(),
        "-c".into(),
        scripts::WRAPPER.into(),
        "subrun".into(),
        plan.command.to_string(),
        if plan.keep_leftovers { "keep" } else { "end" }.into(),
    ];
    let env = plan.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let attached = shared.start_exec(cmd, env, plan.stdin).await?;
    Ok(Started { attached, gate })
}

/// Feeds stdin in its own task (the command may not read it all).
fn feed_stdin(
    stdin: Stdin,
    mut input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
) -> Option<AbortOnDropHandle<()>> {
    let task = match stdin {
        Stdin::Closed => return None,
        Stdin::Bytes(bytes) => tokio::spawn(async move {
            if let Err(e) = input.write_all(&bytes).await {
                tracing::debug!(error = %e, "stdin not fully written (the command stopped reading)");
            }
            let _ = input.shutdown().await;
        }),
        Stdin::Reader(mut reader) => tokio::spawn(async move {
            if let Err(e) = tokio::io::copy(&mut reader, &mut input).await {
                tracing::debug!(error = %e, "stdin copy ended early");
            }
            let _ = input.shutdown().await;
        }),
    };
    Some(AbortOnDropHandle::new(task))
}

/// The first stdout line: the wrapper's pid.
#[derive(Default)]
struct PidLine {
    buf: BytesMut,
    done: bool,
    pid: Option<u32>,
}

impl PidLine {
    /// Consumes the pid line from `chunk`; returns the rest (the command's own output).
    fn feed(&mut self, chunk: Bytes) -> Bytes {
        if self.done {
            return chunk;
        }
        self.buf.extend_from_slice(&chunk);
        let Some(nl) = self.buf.iter().position(|b| *b == b'\n') else {
            if self.buf.len() > 32 {
                return self.give_up();
            }
            return Bytes::new();
        };
        let line = self.buf.split_to(nl + 1);
        match std::str::from_utf8(&line[..nl])
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
        {
            Some(pid) => {
                self.pid = Some(pid);
                self.done = true;
                std::mem::take(&mut self.buf).freeze()
            }
            None => {
                let mut all = BytesMut::from(&line[..]);
                all.extend_from_slice(&self.buf);
                self.buf = all;
                self.give_up()
            }
        }
    }

    /// Not a pid (the wrapper never ran: the engine reported an error instead): everything
    /// buffered is output.
    fn give_up(&mut self) -> Bytes {
        self.done = true;
        tracing::debug!("the wrapper did not report a pid");
        std::mem::take(&mut self.buf).freeze()
    }
}

/// Supervises a started command until it ends; see the module docs.
///
/// # Errors
/// The output stream broke, or the exit code could not be read.
pub(crate) async fn supervise(
    shared: Arc<Shared>,
    started: Started,
    stdin: Stdin,
    io: Io,
) -> Result<Ended, RuntimeError> {
    let Started {
        attached: Attached {
            exec,
            mut output,
            input,
        },
        gate,
    } = started;
    let Io {
        stdout: out,
        stderr: err,
        stop,
        ..
    } = io;
    let mut gate = Some(gate);
    let _stdin_task = feed_stdin(stdin, input);
    let mut pid = PidLine::default();
    let mut killer: Option<tokio::task::JoinHandle<Result<(), RuntimeError>>> = None;
    let mut swept: Option<Result<(), RuntimeError>> = None;
    let mut give_up_at: Option<tokio::time::Instant> = None;
    let mut broken: Option<bollard::errors::Error> = None;

    // When the output ended, and whether a stop had been requested by then.
    let mut output_end: Option<(Instant, bool)> = None;
    loop {
        if pid.done || stop.is_requested() {
            gate = None;
        }
        if stop.is_requested() && killer.is_none() {
            if let Some(sid) = pid.pid {
                let shared = shared.clone();
                killer = Some(tokio::spawn(async move { shared.end_session(sid).await }));
                give_up_at = Some(tokio::time::Instant::now() + DRAIN_AFTER_KILL);
            } else if give_up_at.is_none() {
                give_up_at = Some(tokio::time::Instant::now() + DRAIN_AFTER_KILL);
            }
        }
        tokio::select! {
            biased;
            frame = output.next() => match frame {
                None => {
                    output_end = Some((Instant::now(), stop.is_requested()));
                    break;
                }
                Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => {
                    out.write(&pid.feed(message));
                }
                Some(Ok(LogOutput::StdErr { message })) => {
                    err.write(&message);
                }
                Some(Ok(LogOutput::StdIn { .. })) => {}
                Some(Err(e)) => {
                    broken = Some(e);
                    break;
                }
            },
            () = stop.requested(), if killer.is_none() && give_up_at.is_none() => {}
            done = join_opt(&mut killer), if swept.is_none() && killer.is_some() => {
                swept = Some(done.unwrap_or_else(|e| {
                    Err(RuntimeError::backend("end a command", e))
                }));
                let soon = tokio::time::Instant::now() + DRAIN_AFTER_SWEEP;
                give_up_at = Some(give_up_at.map_or(soon, |at| at.min(soon)));
            }
            () = sleep_until_opt(give_up_at) => {
                tracing::warn!(%exec, "output still open after the command was ended; stop reading");
                break;
            }
        }
    }
    drop(gate);
    // A broken stream leaves the command running: end it before reporting.
    if broken.is_some()
        && killer.is_none()
        && let Some(sid) = pid.pid
        && let Err(e) = shared.end_session(sid).await
    {
        tracing::warn!(error = %e, "cannot end the command after its stream broke");
    }
    if swept.is_none()
        && let Some(k) = killer
    {
        swept = Some(
            k.await
                .unwrap_or_else(|e| Err(RuntimeError::backend("end a command", e))),
        );
    }
    if let Some(Err(e)) = swept {
        tracing::warn!(error = %e, %exec, "ending the command failed");
    }
    if let Some(source) = broken {
        return Err(DockerError::Stream { exec, source }.during("read a command's output"));
    }
    if !pid.done && !pid.buf.is_empty() {
        // The output ended before a complete first line: it was not a pid after all.
        out.write(&pid.give_up());
    }
    match output_end {
        // The command ended by itself: a stop requested while its status is read (or the
        // sweep awaited) comes too late to have ended it.
        Some((at, false)) => {
            let code = shared.exit_code(&exec).await?;
            let oom = code == 137 && shared.oom_killed_since_last_check().await;
            Ok(Ended {
                ended_at: Some(at),
                ..Ended::with(from_exit_code(code, oom))
            })
        }
        _ => Ok(Ended::stopped()),
    }
}

/// Awaits the kill task (the caller guards on it being set and not yet joined).
async fn join_opt<T>(
    handle: &mut Option<tokio::task::JoinHandle<T>>,
) -> Result<T, tokio::task::JoinError> {
    match handle {
        Some(h) => h.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pid_line_is_stripped_across_chunks() {
        let mut p = PidLine::default();
        assert_eq!(p.feed(Bytes::from_static(b"12")), Bytes::new());
        assert_eq!(
            p.feed(Bytes::from_static(b"3\nhel")),
            Bytes::from_static(b"hel")
        );
        assert_eq!(
            p.feed(Bytes::from_static(b"lo\n")),
            Bytes::from_static(b"lo\n")
        );
        assert_eq!(p.pid, Some(123));
    }

    #[test]
    fn a_line_that_is_not_a_pid_is_kept_as_output() {
        let mut p = PidLine::default();
        assert_eq!(
            p.feed(Bytes::from_static(b"OCI runtime exec failed\nmore")),
            Bytes::from_static(b"OCI runtime exec failed\nmore")
        );
        assert_eq!(p.pid, None);
        assert_eq!(p.feed(Bytes::from_static(b"x")), Bytes::from_static(b"x"));
    }
}
