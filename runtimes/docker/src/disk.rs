//! `limits.disk` on docker: everything a command can write is charged against one quota.
//!
//! ```text
//!  usage = workspace walk (engine `workspace_usage`, descriptor-relative, never follows)
//!        + every charged tmpfs of the container (statfs: blocks and inodes in use)
//!        + files the container's processes hold open after unlinking them
//!          (`/proc/<pid>/fd/*` and `/proc/<pid>/map_files/*` ending in ` (deleted)`)
//! ```
//!
//! With `limits.disk` set the container's root filesystem is read-only
//! (`HostConfig.readonly_rootfs`) and the places programs expect to write are tmpfs mounts of
//! their own ([`TMPFS_TARGETS`], plus `/dev/shm`), each capped by the kernel at the quota
//! (`size=`, `nr_inodes=`) and all of them charged here with the workspace, so writes into the
//! container's own filesystem end in `ResourceExceeded { disk }` like writes into the
//! workspace. The host reads each tmpfs through `/proc/<init>/root` (the container's init, a
//! process the host sees), and the container's processes from its cgroup's `cgroup.procs`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustix::fs::{Mode, OFlags};
use subrun::quota::{DiskWatch, ENTRY_COST, unlinked_open_usage};

/// The container paths that get a tmpfs of their own when `limits.disk` is set (the root
/// filesystem is then read-only). `/dev/shm` is sized through `HostConfig.shm_size`.
pub(crate) const TMPFS_TARGETS: &[&str] = &["/tmp", "/var/tmp", "/run"];

/// Every tmpfs whose usage is charged: the ones above, `/dev/shm` and the engine's `/dev`.
const CHARGED: &[&str] = &["/tmp", "/var/tmp", "/run", "/dev/shm", "/dev"];

/// `statfs` type of tmpfs.
const TMPFS_MAGIC: i64 = 0x0102_1994;

/// What a tmpfs may hold beyond the quota, so a full tmpfs always reads as over it.
const SLACK: u64 = 64 << 10;

/// The `size=` of each charged tmpfs for a quota of `limit` bytes.
pub(crate) fn tmpfs_size(limit: u64) -> u64 {
    limit.saturating_add(SLACK)
}

/// The `HostConfig.tmpfs` options of each target: executable (programs build and run things
/// in /tmp), no setuid, no devices, world-writable and sticky, capped at the quota in bytes and
/// in inodes.
pub(crate) fn tmpfs_options(limit: u64) -> String {
    let inodes = (limit / ENTRY_COST).clamp(64, u64::from(u32::MAX)) + 16;
    format!(
        "rw,exec,nosuid,nodev,mode=1777,size={},nr_inodes={inodes}",
        tmpfs_size(limit)
    )
}

/// Where the container is, for the host: its init and its cgroup's process list.
#[derive(Clone, Debug)]
struct ContainerView {
    init: u32,
    procs: Option<PathBuf>,
    /// Charged usage the container started with (device nodes in `/dev`, tmpfs roots).
    baseline: u64,
}

/// The docker quota: the workspace plus the container's own writable places; see the module
/// docs.
#[derive(Debug)]
pub(crate) struct DiskMeter {
    /// Walks the workspace and adds what [`container_usage`] finds in the attached container.
    watch: DiskWatch,
    view: Arc<Mutex<Option<ContainerView>>>,
}

impl DiskMeter {
    /// A meter of `workspace` against `limit` bytes; [`attach`](Self::attach) adds the
    /// container once it runs.
    pub(crate) fn new(workspace: &Path, limit: u64) -> Self {
        let view: Arc<Mutex<Option<ContainerView>>> = Arc::default();
        let seen = view.clone();
        let watch = DiskWatch::new(workspace, limit).with_extra(move || {
            let view = seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            view.map_or(0, |v| container_usage(&v).saturating_sub(v.baseline))
        });
        Self { watch, view }
    }

    /// Charges the container whose init runs as host pid `init` (after every start).
    pub(crate) fn attach(&self, init: u32) {
        let procs = cgroup_procs(init);
        if procs.is_none() {
            tracing::warn!(
                init,
                "cannot find the container's cgroup: unlinked open files are not charged"
            );
        }
        let root = format!("/proc/{init}/root/");
        if let Err(e) = rustix::fs::open(
            root.as_str(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            tracing::warn!(
                init,
                error = %e,
                "cannot reach the container's filesystem: its tmpfs mounts are capped by the kernel but not charged"
            );
        }
        let mut view = ContainerView {
            init,
            procs,
            baseline: 0,
        };
        view.baseline = container_usage(&view);
        *self
            .view
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(view);
    }

    /// The watch the driver runs while a command runs (and once it ended).
    pub(crate) fn watch(&self) -> DiskWatch {
        self.watch.clone()
    }
}

/// The charged tmpfs usage plus the unlinked files the container's processes hold.
fn container_usage(view: &ContainerView) -> u64 {
    let mut devices = HashSet::new();
    let mut total = 0u64;
    for target in CHARGED {
        let path = format!("/proc/{}/root{target}", view.init);
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let Ok(fd) = rustix::fs::open(path.as_str(), flags, Mode::empty()) else {
            continue;
        };
        let (Ok(fs), Ok(st)) = (rustix::fs::fstatfs(&fd), rustix::fs::fstat(&fd)) else {
            continue;
        };
        if fs.f_type != TMPFS_MAGIC || !devices.insert(st.st_dev) {
            continue;
        }
        let block = u64::try_from(fs.f_bsize).unwrap_or(4096);
        let blocks = fs.f_blocks.saturating_sub(fs.f_bfree);
        let inodes = fs.f_files.saturating_sub(fs.f_ffree);
        total = total
            .saturating_add(blocks.saturating_mul(block))
            .saturating_add(inodes.saturating_mul(ENTRY_COST));
    }
    if let Some(procs) = &view.procs {
        total = total.saturating_add(unlinked_open(procs, &devices));
    }
    total
}

/// The unlinked open files of the processes listed in `procs` (see
/// [`subrun::quota::unlinked_open_usage`]).
fn unlinked_open(procs: &Path, skip: &HashSet<u64>) -> u64 {
    let Ok(list) = std::fs::read_to_string(procs) else {
        return 0;
    };
    unlinked_open_usage(
        list.lines().filter_map(|l| l.trim().parse::<u32>().ok()),
        skip,
    )
}

/// The `cgroup.procs` of the cgroup host pid `init` runs in (cgroup v2, or v1's `pids` or
/// `memory` hierarchy), when it lists `init`.
fn cgroup_procs(init: u32) -> Option<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{init}/cgroup")).ok()?;
    let mut candidates = Vec::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(hierarchy), Some(controllers), Some(path)) =
            (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let path = path.trim_start_matches('/');
        if hierarchy == "0" && controllers.is_empty() {
            candidates.push(Path::new("/sys/fs/cgroup").join(path));
            candidates.push(Path::new("/sys/fs/cgroup/unified").join(path));
        }
        for c in controllers.split(',') {
            if c == "pids" || c == "memory" {
                candidates.push(Path::new("/sys/fs/cgroup").join(c).join(path));
            }
        }
    }
    let me = init.to_string();
    candidates
        .into_iter()
        .map(|dir| dir.join("cgroup.procs"))
        .find(|procs| {
            std::fs::read_to_string(procs).is_ok_and(|t| t.lines().any(|l| l.trim() == me))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpfs_options_cap_bytes_and_inodes_above_the_quota() {
        let o = tmpfs_options(4 << 20);
        assert!(o.contains(&format!("size={}", (4 << 20) + SLACK)), "{o}");
        assert!(o.contains("nr_inodes=8208"), "{o}");
        assert!(o.contains("nosuid") && o.contains("nodev") && o.contains(",exec"));
    }
}
