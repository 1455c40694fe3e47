//! Watching a command's leader process exit (pidfd) and reaping it with its resource usage.
//!
//! The leader is *not* reaped when it exits: it stays a zombie, which keeps its pid (the
//! group id) reserved while the supervisor kills what is left of the group. Only then is it
//! reaped with `wait4`, which also reports the CPU time of the leader and of every child it
//! waited for.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;
use std::time::Duration;

use rustix::process::{Pid, PidfdFlags, pidfd_open};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Becomes ready when the process exits (a pidfd polls readable then).
#[derive(Debug)]
pub(crate) struct ExitWatch {
    fd: AsyncFd<OwnedFd>,
}

impl ExitWatch {
    /// Opens a pidfd for `pid` (a child not yet reaped, so the pid is still ours).
    ///
    /// # Errors
    /// `pidfd_open` failed (Linux before 5.3, or a seccomp filter that forbids it), or the fd
    /// could not be registered with the reactor.
    pub(crate) fn new(pid: Pid) -> io::Result<Self> {
        let fd = pidfd_open(pid, PidfdFlags::NONBLOCK)?;
        // SAFETY: `OwnedFd` owns an open pidfd and always returns that same descriptor from
        // `as_raw_fd`; nothing else closes or replaces it while the `AsyncFd` owns it.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(io::Error::from)?;
        Ok(Self { fd })
    }

    /// Completes once the process has exited. Cancel-safe.
    pub(crate) async fn exited(&self) {
        // A pidfd stays readable once the process exited, so the readiness is never cleared.
        // An error here would mean the reactor is gone (runtime shutdown): treat it as an exit
        // so the supervisor goes on to reap, which tells the truth either way.
        let _ = self.fd.readable().await;
    }
}

/// A reaped leader.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reaped {
    /// How it ended.
    pub(crate) status: ExitStatus,
    /// User + system CPU time of the leader and of the children it waited for.
    pub(crate) cpu_time: Duration,
    /// Peak resident set size in bytes of the largest of those processes.
    pub(crate) peak_rss: u64,
}

/// Reaps `pid` on the blocking pool after it was sent SIGKILL by a dropped supervisor, so it
/// does not stay a zombie. Without a tokio runtime (a drop during shutdown) the zombie stays
/// until this process exits.
pub(crate) fn reap_in_background(pid: Pid) {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        drop(handle.spawn_blocking(move || {
            if let Err(e) = reap(pid) {
                tracing::debug!(pid = pid.as_raw_nonzero().get(), error = %e, "background reap");
            }
        }));
    }
}

/// Reaps `pid` with `wait4`. `pid` must be a child of this process; when it has exited (its
/// pidfd polled readable) the call returns at once, otherwise it blocks until it exits.
///
/// # Errors
/// `wait4` failed: ECHILD when someone else reaped it (for example a host process that set
/// SIGCHLD to SIG_IGN, which makes the kernel reap children itself).
pub(crate) fn reap(pid: Pid) -> io::Result<Reaped> {
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `usage` are valid, exclusive pointers for the duration of the
        // call; `wait4` writes only through them.
        let r = unsafe {
            libc::wait4(
                pid.as_raw_nonzero().get(),
                &raw mut status,
                0,
                &raw mut usage,
            )
        };
        if r >= 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    Ok(Reaped {
        status: ExitStatus::from_raw(status),
        cpu_time: time(usage.ru_utime) + time(usage.ru_stime),
        // Linux reports `ru_maxrss` in KiB.
        peak_rss: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
    })
}
