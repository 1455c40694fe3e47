//! The workspace size quota (`limits.disk`).
//!
//! wasmtime has no filesystem quota, so the engine charges the workspace itself: preview1 calls
//! that can grow it (`fd_write`, `fd_pwrite`, `fd_allocate`, `fd_filestat_set_size`,
//! `path_open`, `path_create_directory`, `path_link`, `path_symlink`) mark it dirty and count
//! the bytes written; once the bytes since the last measurement pass a threshold (and after
//! size changes), the workspace is measured and a guest over the quota is stopped at once with
//! `ResourceExceeded { disk }`. The epoch callback measures a dirty workspace at least every
//! [`SCAN_PERIOD`], and the end of every execution measures it once more, so the quota holds
//! within one threshold of writes.
//!
//! Usage is measured by [`subrun::quota::workspace_usage`].

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The longest a dirty workspace goes unmeasured while the guest runs.
pub(crate) const SCAN_PERIOD: Duration = Duration::from_millis(50);

/// Quota state of one execution.
#[derive(Debug)]
pub(crate) struct DiskQuota {
    pub(crate) limit: u64,
    root: PathBuf,
    threshold: u64,
    unmeasured: u64,
    dirty: bool,
    last_scan: Instant,
    pub(crate) peak: u64,
}

impl DiskQuota {
    pub(crate) fn new(limit: u64, root: PathBuf) -> Self {
        Self {
            limit,
            root,
            threshold: (limit / 16).clamp(16 << 10, 1 << 20),
            unmeasured: 0,
            dirty: false,
            last_scan: Instant::now(),
            peak: 0,
        }
    }

    /// Records a call that may have grown the workspace by `bytes` (0 when unknown); returns
    /// `false` when a measurement found the workspace over its quota.
    pub(crate) fn charge(&mut self, bytes: u64, measure_now: bool) -> bool {
        self.dirty = true;
        self.unmeasured = self.unmeasured.saturating_add(bytes);
        if measure_now || self.unmeasured >= self.threshold {
            return self.measure();
        }
        true
    }

    /// For the epoch callback: measures a dirty workspace at most every [`SCAN_PERIOD`].
    pub(crate) fn tick(&mut self) -> bool {
        if self.dirty && self.last_scan.elapsed() >= SCAN_PERIOD {
            return self.measure();
        }
        true
    }

    /// Measures now if anything changed; `false` when over the quota.
    pub(crate) fn finish(&mut self) -> bool {
        if self.dirty {
            self.measure()
        } else {
            self.peak <= self.limit
        }
    }

    fn measure(&mut self) -> bool {
        let used = subrun::quota::workspace_usage(&self.root);
        self.peak = self.peak.max(used);
        self.unmeasured = 0;
        self.dirty = false;
        self.last_scan = Instant::now();
        used <= self.limit
    }
}
