//! Workspace size accounting for `limits.disk`, shared by every runtime.
//!
//! A workspace's usage counts, per entry, the larger of its length and its allocated blocks
//! (a sparse 1 TiB file counts as 1 TiB: host code that reads the workspace back would read
//! that much) plus [`ENTRY_COST`] for its inode, so a flood of empty files is bounded too.
//! Symlinks are never followed. Runtimes enforce the quota by measuring while the command runs
//! ([`DiskWatch`] polls; `wasi` also measures on the guest's own writes) and once at its end.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// What each directory entry costs on top of its bytes.
pub const ENTRY_COST: u64 = 512;

/// Bytes the tree under `root` uses (see the module docs). Iterative, never follows symlinks;
/// entries that vanish while it walks are skipped.
///
/// This reads the host filesystem (ambient authority) below `root`, which the caller owns.
pub fn workspace_usage(root: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    let mut total = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            total = total
                .saturating_add(ENTRY_COST)
                .saturating_add(meta.len().max(meta.blocks().saturating_mul(512)));
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    total
}

/// Watches a workspace against a quota while a command runs (for runtimes whose commands
/// write the workspace directly: `local`, `docker`).
#[derive(Clone, Debug)]
pub struct DiskWatch {
    root: PathBuf,
    limit: u64,
    period: Duration,
}

impl DiskWatch {
    /// How often [`exceeded`](Self::exceeded) measures by default.
    pub const PERIOD: Duration = Duration::from_millis(25);

    /// Watches `root` against `limit` bytes.
    pub fn new(root: impl Into<PathBuf>, limit: u64) -> Self {
        Self {
            root: root.into(),
            limit,
            period: Self::PERIOD,
        }
    }

    /// The quota in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Measures now (on a blocking thread); returns the usage.
    pub async fn measure(&self) -> u64 {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || workspace_usage(&root))
            .await
            .unwrap_or(0)
    }

    /// Completes with the usage once a measurement finds the workspace over the quota; never
    /// completes otherwise. Measures at once, then every [`period`](Self::PERIOD) — or, when a
    /// measurement is slow (a workspace of many entries), [`COST_FACTOR`](Self::COST_FACTOR)
    /// times its cost after it. Overshoot is bounded by what the command writes in one gap.
    pub async fn exceeded(&self) -> u64 {
        loop {
            let started = tokio::time::Instant::now();
            let used = self.measure().await;
            if used > self.limit {
                return used;
            }
            let cost = started.elapsed();
            tokio::time::sleep(self.gap_after(cost).saturating_sub(cost)).await;
        }
    }

    /// A measurement starts at least this many times the last one's cost after it, so
    /// watching costs at most a fifth of a core however many entries the workspace holds
    /// (every 25 ms would walk it back to back once a walk takes that long).
    pub const COST_FACTOR: u32 = 5;

    /// The time from the start of a measurement that took `cost` to the start of the next.
    pub fn gap_after(&self, cost: Duration) -> Duration {
        self.period.max(cost * Self::COST_FACTOR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_length_blocks_and_entries_without_following_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), vec![1u8; 10_000]).unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        let sparse = std::fs::File::create(dir.path().join("d/sparse")).unwrap();
        sparse.set_len(1 << 30).unwrap();
        std::os::unix::fs::symlink("/", dir.path().join("root-link")).unwrap();
        let used = workspace_usage(dir.path());
        // a: >= 10_000; d: a directory block; sparse: 1 GiB by length; 4 entries.
        assert!(used >= 10_000 + (1 << 30) + 4 * ENTRY_COST, "{used}");
        assert!(
            used < 10_000 + (1 << 30) + 4 * ENTRY_COST + (1 << 20),
            "{used}: followed the symlink?"
        );
    }

    /// Regression: a command creating tens of thousands of empty files made the watch walk
    /// the whole workspace every 25 ms, back to back once a walk took that long (an inode
    /// flood under a 16 MiB quota kept a host core busy walking). Slow walks now space out the
    /// next one.
    #[test]
    fn inode_flood_does_not_keep_the_watch_walking() {
        let watch = DiskWatch::new("/nonexistent", 1);
        assert_eq!(watch.gap_after(Duration::from_millis(1)), DiskWatch::PERIOD);
        assert_eq!(
            watch.gap_after(Duration::from_millis(40)),
            Duration::from_millis(200),
            "a 40 ms walk waits 5 times its cost"
        );
    }

    #[tokio::test]
    async fn watch_fires_once_over_the_quota() {
        let dir = tempfile::tempdir().unwrap();
        let watch = DiskWatch::new(dir.path(), 64 << 10);
        let fired = tokio::time::timeout(Duration::from_millis(200), watch.exceeded()).await;
        assert!(fired.is_err(), "fired under the quota");
        std::fs::write(dir.path().join("big"), vec![0u8; 128 << 10]).unwrap();
        let used = tokio::time::timeout(Duration::from_secs(2), watch.exceeded())
            .await
            .unwrap();
        assert!(used > 64 << 10);
    }
}
