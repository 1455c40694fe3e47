//! What the host process holds, read from `/proc/self`: resident memory, open descriptors,
//! threads.

use std::path::Path;

/// A reading of the host process's resources.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct HostUsage {
    /// Resident set size (`VmRSS`), KiB.
    pub(crate) rss_kib: u64,
    /// Peak resident set size so far (`VmHWM`), KiB.
    pub(crate) hwm_kib: u64,
    /// Open file descriptors (`/proc/self/fd`).
    pub(crate) fds: usize,
    /// Threads (`/proc/self/task`).
    pub(crate) threads: usize,
}

impl HostUsage {
    /// Reads everything now.
    pub(crate) fn now() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        Self {
            rss_kib: kib("VmRSS:"),
            hwm_kib: kib("VmHWM:"),
            fds: count(Path::new("/proc/self/fd")),
            threads: count(Path::new("/proc/self/task")),
        }
    }
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, Iterator::count)
}

/// KiB as MiB with one decimal.
pub(crate) fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}
