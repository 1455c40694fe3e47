//! How busy the CPUs were during a measurement: this process's CPU time (getrusage) and the
//! whole machine's busy share (/proc/stat), so a throughput that does not scale can be
//! explained by the measurement (the bench was starved, or it contended with itself).

use std::time::{Duration, Instant};

/// A point in time with the CPU counters at it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CpuSnapshot {
    at: Instant,
    process: Duration,
    /// (busy, total) jiffies of all CPUs, when /proc/stat is readable.
    system: Option<(u64, u64)>,
}

/// CPU use between two snapshots.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CpuUse {
    /// Wall time between the snapshots.
    pub(crate) wall: Duration,
    /// CPU time (user + system) this process used.
    pub(crate) process: Duration,
    /// Share of all CPUs' time that was busy (any process), 0..1.
    pub(crate) system_busy: Option<f64>,
}

impl CpuUse {
    /// CPUs this process kept busy on average.
    pub(crate) fn process_cores(&self) -> f64 {
        self.process.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }
}

impl CpuSnapshot {
    /// The counters now.
    pub(crate) fn take() -> Self {
        Self {
            at: Instant::now(),
            process: process_cpu(),
            system: system_jiffies(),
        }
    }

    /// CPU use from `self` to now.
    pub(crate) fn elapsed(&self) -> CpuUse {
        let now = Self::take();
        let system_busy = match (self.system, now.system) {
            (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => {
                Some(b1.saturating_sub(b0) as f64 / (t1 - t0) as f64)
            }
            _ => None,
        };
        CpuUse {
            wall: now.at - self.at,
            process: now.process.saturating_sub(self.process),
            system_busy,
        }
    }
}

/// User + system CPU time of this process (all threads, not its children).
fn process_cpu() -> Duration {
    // SAFETY: an all-zero `rusage` is a valid value, and getrusage only writes into the
    // struct we pass, which lives for the call.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &raw mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// (busy, total) jiffies over all CPUs from the first line of /proc/stat.
fn system_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|f| f.parse().ok())
        .collect();
    if fields.len() < 5 {
        return None;
    }
    let total: u64 = fields.iter().sum();
    // idle + iowait
    let idle = fields[3] + fields[4];
    Some((total - idle, total))
}
