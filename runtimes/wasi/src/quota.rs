//! The workspace size quota (`limits.disk`).
//!
//! wasmtime has no filesystem quota, so the engine charges the workspace itself: preview1 calls
//! that can grow it (`fd_write` and `fd_pwrite` on every descriptor — stdout and stderr too,
//! since `fd_renumber` can put a workspace file at fd 1 —, `fd_allocate`,
//! `fd_filestat_set_size`, `path_open` with `O_CREAT`, `path_create_directory`, `path_link`,
//! `path_symlink`) mark it dirty and count the bytes written, and each new entry as
//! [`ENTRY_COST`](subrun::quota::ENTRY_COST), as the measurement does; once the bytes since the
//! last measurement pass a threshold (and after size changes), the workspace is measured and a
//! guest over the quota is stopped at once with `ResourceExceeded { disk }`. The epoch callback
//! measures a dirty workspace at least every [`SCAN_PERIOD`] — or, when a measurement is slow
//! (a workspace of many entries), [`SCAN_COST_FACTOR`] times its cost after it, so measuring
//! never takes more than a fifth of the guest's time — and the end of every execution measures
//! it once more (always, whatever was called), so the quota holds within one threshold of
//! writes.
//!
//! Usage is measured by [`subrun::quota::workspace_usage`], plus the files the guest holds
//! open that no longer have a name (opened, then unlinked: invisible to a walk, yet they fill
//! the disk), found through the guest's own descriptor table (see
//! `StoreState::unlinked_usage`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The longest a dirty workspace goes unmeasured while the guest runs, while measuring is
/// cheap.
pub(crate) const SCAN_PERIOD: Duration = Duration::from_millis(50);

/// A periodic measurement waits at least this many times the last one's cost, so the cost of
/// measuring stays proportional to the guest's own time instead of growing with the square of
/// the number of entries (a guest creating empty files by the ten thousand).
pub(crate) const SCAN_COST_FACTOR: u32 = 4;

/// Quota state of one execution.
#[derive(Debug)]
pub(crate) struct DiskQuota {
    pub(crate) limit: u64,
    root: PathBuf,
    threshold: u64,
    unmeasured: u64,
    dirty: bool,
    last_scan: Instant,
    /// How long the last measurement took.
    last_cost: Duration,
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
            last_cost: Duration::ZERO,
            peak: 0,
        }
    }

    /// Records a call that may have grown the workspace by `bytes` (0 when unknown); returns
    /// `false` when a measurement found the workspace over its quota. `hidden` gives the bytes
    /// of the guest's open unlinked files, asked only when measuring.
    pub(crate) fn charge(
        &mut self,
        bytes: u64,
        measure_now: bool,
        hidden: impl FnOnce() -> u64,
    ) -> bool {
        self.dirty = true;
        self.unmeasured = self.unmeasured.saturating_add(bytes);
        if measure_now || self.unmeasured >= self.threshold {
            return self.measure(hidden());
        }
        true
    }

    /// For the epoch callback: measures a dirty workspace at most every [`scan_gap`](Self::scan_gap).
    pub(crate) fn tick(&mut self, hidden: impl FnOnce() -> u64) -> bool {
        if self.dirty && self.last_scan.elapsed() >= self.scan_gap() {
            return self.measure(hidden());
        }
        true
    }

    /// How long after the last measurement the next periodic one may run.
    pub(crate) fn scan_gap(&self) -> Duration {
        SCAN_PERIOD.max(self.last_cost * SCAN_COST_FACTOR)
    }

    /// Measures once more at the end of an execution, whatever the guest called (a write
    /// nothing charged must not go unseen); `false` when over the quota.
    pub(crate) fn finish(&mut self, hidden: u64) -> bool {
        self.measure(hidden)
    }

    fn measure(&mut self, hidden: u64) -> bool {
        let started = Instant::now();
        let used = subrun::quota::workspace_usage(&self.root).saturating_add(hidden);
        self.peak = self.peak.max(used);
        self.unmeasured = 0;
        self.dirty = false;
        self.last_scan = Instant::now();
        self.last_cost = self.last_scan - started;
        used <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a guest creating tens of thousands of empty files made every 50 ms tick walk
    /// the whole workspace, so measuring grew with the square of the number of files (an
    /// inode flood under a 16 MiB quota took up to 30 s to stop). Slow measurements now space
    /// out the next periodic one.
    #[test]
    fn inode_flood_does_not_make_quota_scans_quadratic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut q = DiskQuota::new(1 << 30, dir.path().to_path_buf());
        assert_eq!(
            q.scan_gap(),
            SCAN_PERIOD,
            "a cheap scan keeps the base period"
        );
        q.last_cost = Duration::from_millis(100);
        assert_eq!(q.scan_gap(), Duration::from_millis(400));
        q.dirty = true;
        q.last_scan = Instant::now() - Duration::from_millis(200);
        let before = q.last_scan;
        assert!(q.tick(|| 0));
        assert_eq!(
            q.last_scan, before,
            "measured again before 4x the last scan's cost"
        );
        q.last_scan = Instant::now() - Duration::from_millis(450);
        assert!(q.tick(|| 0));
        assert!(q.last_scan > before, "measured once the gap had passed");
    }

    /// New entries count toward the threshold, so a flood of empty files is measured every
    /// threshold's worth of entries, not only by the periodic tick.
    #[test]
    fn new_entries_count_toward_the_measuring_threshold() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut q = DiskQuota::new(16 << 20, dir.path().to_path_buf());
        let start = q.last_scan;
        let per_threshold = q.threshold / subrun::quota::ENTRY_COST;
        for _ in 1..per_threshold {
            assert!(q.charge(subrun::quota::ENTRY_COST, false, || 0));
        }
        assert_eq!(
            q.last_scan, start,
            "measured before a threshold's worth of entries"
        );
        assert!(q.charge(subrun::quota::ENTRY_COST, false, || 0));
        assert!(
            q.last_scan > start,
            "not measured after a threshold's worth of entries"
        );
    }
}
