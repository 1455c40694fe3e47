//! Workspace size accounting for `limits.disk`, shared by every runtime.
//!
//! A workspace's usage counts, per entry, the larger of its length and its allocated blocks
//! (a sparse 1 TiB file counts as 1 TiB: host code that reads the workspace back would read
//! that much) plus [`ENTRY_COST`] for its inode, so a flood of empty files is bounded too.
//! Runtimes enforce the quota by measuring while the command runs ([`DiskWatch`] polls; `wasi`
//! also measures on the guest's own writes) and once at its end.
//!
//! The walk never follows or re-resolves a path a guest can change: it holds a directory
//! descriptor per level and reaches every entry relative to it (`openat` with `O_NOFOLLOW |
//! O_DIRECTORY`, `fstatat` with `AT_SYMLINK_NOFOLLOW`), so a guest that swaps a directory for
//! a symlink while the walk runs is seen as the symlink (an entry of its own size), never
//! walked into. What the walk cannot measure counts as over any quota ([`UNMEASURABLE`]): a
//! directory it may not read (unless the walking user owns it, see below), a tree deeper than
//! [`MAX_DEPTH`], a read error. A directory the walking user owns but may not list (a guest's
//! `chmod 0300 d`) is opened through an `O_PATH` handle, given `u+rx` for the walk and given
//! its mode back afterwards, so hiding a tree behind permissions does not hide it from the
//! quota.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, RawMode, Stat};
use rustix::io::Errno;

/// What each directory entry costs on top of its bytes.
pub const ENTRY_COST: u64 = 512;

/// What [`workspace_usage`] reports for a tree it cannot fully measure: more than any quota.
pub const UNMEASURABLE: u64 = u64::MAX;

/// The deepest directory level [`workspace_usage`] descends to (one open descriptor per
/// level); a deeper tree reads as [`UNMEASURABLE`].
pub const MAX_DEPTH: usize = 256;

/// Bytes the tree under `root` uses (see the module docs). Iterative and descriptor-relative:
/// never follows a symlink, never resolves a path below `root` again; entries that vanish
/// while it walks are skipped. A missing `root` uses 0 bytes; a tree it cannot measure
/// reads as [`UNMEASURABLE`].
///
/// This opens `root` by path (ambient authority, the caller owns it); everything below is
/// reached through directory descriptors.
pub fn workspace_usage(root: &Path) -> u64 {
    // The root is the caller's path: a symlink there is followed, once.
    let follow = !OFlags::NOFOLLOW;
    let root_dir = match rustix::fs::open(root, dir_flags() & follow, Mode::empty()) {
        Ok(fd) => Frame::plain(fd),
        Err(Errno::NOENT) => return 0,
        Err(Errno::ACCESS) => {
            let Ok(path) = rustix::fs::open(root, path_flags() & follow, Mode::empty()) else {
                return UNMEASURABLE;
            };
            Frame::reopen_owned(path)
        }
        Err(_) => return UNMEASURABLE,
    };
    match root_dir {
        Some(frame) => walk(frame),
        None => UNMEASURABLE,
    }
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

fn path_flags() -> OFlags {
    OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// One open directory of the walk, and the mode to give it back when the walk leaves it.
struct Frame {
    dir: Dir,
    restore: Option<(OwnedFd, RawMode)>,
}

impl Frame {
    fn plain(fd: OwnedFd) -> Option<Self> {
        Some(Self {
            dir: Dir::new(fd).ok()?,
            restore: None,
        })
    }

    /// `path` (an `O_PATH` handle of a directory the walker may not list): when the walking
    /// user owns it, adds `u+rx` and opens it for reading; `None` otherwise.
    fn reopen_owned(path: OwnedFd) -> Option<Self> {
        let st = rustix::fs::fstat(&path).ok()?;
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory
            || st.st_uid != rustix::process::geteuid().as_raw()
        {
            return None;
        }
        let mode = st.st_mode & 0o7777;
        chmod_handle(path.as_fd(), mode | 0o500).ok()?;
        let opened = rustix::fs::openat(&path, c".", dir_flags(), Mode::empty())
            .ok()
            .and_then(|fd| Dir::new(fd).ok());
        match opened {
            Some(dir) => Some(Self {
                dir,
                restore: Some((path, mode)),
            }),
            None => {
                let _ = chmod_handle(path.as_fd(), mode);
                None
            }
        }
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        if let Some((path, mode)) = &self.restore {
            let _ = chmod_handle(path.as_fd(), *mode);
        }
    }
}

/// `chmod` of the inode an `O_PATH` handle holds (through `/proc/self/fd`, which names that
/// inode and nothing a guest can swap).
fn chmod_handle(path: BorrowedFd<'_>, mode: RawMode) -> rustix::io::Result<()> {
    let link = format!("/proc/self/fd/{}", path.as_raw_fd());
    rustix::fs::chmod(link.as_str(), Mode::from_raw_mode(mode))
}

/// What an entry that `fstatat` reported as a directory turned out to be when opened.
enum Child {
    Dir(Frame),
    /// Gone, or no longer a directory (a guest swapped it): its size was charged already.
    Changed,
    Unmeasurable,
}

fn open_child(parent: BorrowedFd<'_>, name: &std::ffi::CStr) -> Child {
    match rustix::fs::openat(parent, name, dir_flags(), Mode::empty()) {
        Ok(fd) => Frame::plain(fd).map_or(Child::Unmeasurable, Child::Dir),
        Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => Child::Changed,
        Err(Errno::ACCESS) => match rustix::fs::openat(parent, name, path_flags(), Mode::empty()) {
            Ok(path) => Frame::reopen_owned(path).map_or(Child::Unmeasurable, Child::Dir),
            Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => Child::Changed,
            Err(_) => Child::Unmeasurable,
        },
        Err(_) => Child::Unmeasurable,
    }
}

fn entry_bytes(st: &Stat) -> u64 {
    let len = u64::try_from(st.st_size).unwrap_or(0);
    let blocks = u64::try_from(st.st_blocks).unwrap_or(0).saturating_mul(512);
    ENTRY_COST.saturating_add(len.max(blocks))
}

fn walk(root: Frame) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![root];
    loop {
        let depth = stack.len();
        let Some(frame) = stack.last_mut() else {
            return total;
        };
        let entry = match frame.dir.read() {
            None | Some(Err(Errno::NOENT)) => {
                stack.pop();
                continue;
            }
            Some(Err(_)) => return UNMEASURABLE,
            Some(Ok(entry)) => entry,
        };
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let Ok(parent) = frame.dir.fd() else {
            return UNMEASURABLE;
        };
        let st = match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => continue,
            Err(_) => return UNMEASURABLE,
        };
        total = total.saturating_add(entry_bytes(&st));
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            continue;
        }
        if depth >= MAX_DEPTH {
            return UNMEASURABLE;
        }
        match open_child(parent, name) {
            Child::Dir(child) => stack.push(child),
            Child::Changed => {}
            Child::Unmeasurable => return UNMEASURABLE,
        }
    }
}

/// Blocks of the regular files the processes `pids` hold open (descriptors and mappings,
/// `/proc/<pid>/fd/*` and `/proc/<pid>/map_files/*` whose link ends in ` (deleted)`) although
/// no name leads to them any more: a walk of the workspace cannot see them, yet they fill the
/// disk until closed. Each file counts once; files on the devices in `skip` (counted another
/// way) and memfds (memory, not disk) are left out. Processes that cannot be read (gone, or
/// another user's without privilege) add nothing.
pub fn unlinked_open_usage(
    pids: impl IntoIterator<Item = u32>,
    skip: &std::collections::HashSet<u64>,
) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    let mut seen = std::collections::HashSet::new();
    let mut total = 0u64;
    for pid in pids {
        for dir in ["fd", "map_files"] {
            let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/{dir}")) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(target) = std::fs::read_link(entry.path()) else {
                    continue;
                };
                let target = target.as_os_str().as_encoded_bytes();
                if !target.ends_with(b" (deleted)") || target.starts_with(b"/memfd:") {
                    continue;
                }
                // The magic link leads to the open file itself, whatever its name was.
                let Ok(meta) = std::fs::metadata(entry.path()) else {
                    continue;
                };
                if !meta.is_file() || skip.contains(&meta.dev()) {
                    continue;
                }
                if seen.insert((meta.dev(), meta.ino())) {
                    total = total.saturating_add(meta.blocks().saturating_mul(512));
                }
            }
        }
    }
    total
}

/// Watches a workspace against a quota while a command runs (for runtimes whose commands
/// write the workspace directly: `local`, `docker`).
#[derive(Clone)]
pub struct DiskWatch {
    root: PathBuf,
    limit: u64,
    period: Duration,
    extra: Option<Extra>,
}

/// What a runtime charges beyond the workspace walk (see [`DiskWatch::with_extra`]).
type Extra = std::sync::Arc<dyn Fn() -> u64 + Send + Sync>;

impl std::fmt::Debug for DiskWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskWatch")
            .field("root", &self.root)
            .field("limit", &self.limit)
            .field("period", &self.period)
            .field("extra", &self.extra.is_some())
            .finish()
    }
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
            extra: None,
        }
    }

    /// The same watch, adding what `extra` returns to every measurement: what the command
    /// writes where a walk of the workspace cannot see it (files it holds open after
    /// unlinking them, see [`unlinked_open_usage`]; a container's own tmpfs mounts). Called
    /// on a blocking thread.
    #[must_use]
    pub fn with_extra(mut self, extra: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.extra = Some(std::sync::Arc::new(extra));
        self
    }

    /// The quota in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Measures now (on a blocking thread); returns the usage.
    pub async fn measure(&self) -> u64 {
        let root = self.root.clone();
        let extra = self.extra.clone();
        tokio::task::spawn_blocking(move || {
            workspace_usage(&root).saturating_add(extra.map_or(0, |f| f()))
        })
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

    /// Regression (issue 11, item 3): the walker re-resolved paths (`read_dir(path)` after
    /// `symlink_metadata(path)`), so a guest swapping a directory with a symlink to a host
    /// tree made it walk the host tree. Here `d` and `x` (a symlink to a directory holding a
    /// 1 TiB sparse file) trade places atomically, over and over, while the workspace is
    /// walked: no walk may ever count the host file.
    #[test]
    fn a_directory_swapped_for_a_symlink_is_never_walked_through() {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        let host = tempfile::tempdir().unwrap();
        std::fs::File::create(host.path().join("huge"))
            .unwrap()
            .set_len(1 << 40)
            .unwrap();
        let ws = tempfile::tempdir().unwrap();
        for i in 0..2000 {
            std::fs::write(ws.path().join(format!("f{i:04}")), b"").unwrap();
        }
        std::fs::create_dir(ws.path().join("d")).unwrap();
        std::fs::write(ws.path().join("d/small"), b"x").unwrap();
        std::os::unix::fs::symlink(host.path(), ws.path().join("x")).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let swapper = {
            let (stop, d, x) = (stop.clone(), ws.path().join("d"), ws.path().join("x"));
            std::thread::spawn(move || {
                let mut swaps = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    renameat_with(CWD, &d, CWD, &x, RenameFlags::EXCHANGE).unwrap();
                    swaps += 1;
                }
                swaps
            })
        };
        let until = std::time::Instant::now() + Duration::from_secs(3);
        let mut walks = 0;
        let mut worst = 0;
        while std::time::Instant::now() < until {
            worst = worst.max(workspace_usage(ws.path()));
            walks += 1;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let swaps = swapper.join().unwrap();
        assert!(swaps > 100 && walks > 10, "{swaps} swaps, {walks} walks");
        assert!(
            worst < 1 << 30,
            "a walk counted {worst} bytes: it followed the symlink into the host tree"
        );
    }

    /// Regression (issue 11, item 2): with subrun not root, a directory set to mode 0300 hid
    /// its contents from the walker (`read_dir` failed and the walk skipped it). The walker
    /// now lists a directory its user owns by giving it `u+rx` for the walk, then gives the
    /// mode back. Runs as `nobody` (a child process) when the tests run as root.
    #[test]
    fn a_directory_the_guest_made_unreadable_is_still_counted() {
        const CHILD: &str = "SUBRUN_QUOTA_UNREADABLE_CHILD";
        if rustix::process::geteuid().is_root() && std::env::var_os(CHILD).is_none() {
            use std::os::unix::process::CommandExt as _;
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "quota::tests::a_directory_the_guest_made_unreadable_is_still_counted",
                    "--nocapture",
                ])
                .env(CHILD, "1")
                .env("TMPDIR", "/tmp")
                .uid(65534)
                .gid(65534)
                .output()
                .unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                out.status.success(),
                "the unprivileged check failed:\n{text}"
            );
            assert!(text.contains("1 passed"), "the child ran no test:\n{text}");
            return;
        }
        use std::os::unix::fs::PermissionsExt as _;
        let ws = tempfile::tempdir().unwrap();
        let hidden = ws.path().join("hidden");
        std::fs::create_dir_all(hidden.join("deeper")).unwrap();
        std::fs::write(hidden.join("deeper/big"), vec![7u8; 1 << 20]).unwrap();
        std::fs::set_permissions(
            hidden.join("deeper"),
            std::fs::Permissions::from_mode(0o100),
        )
        .unwrap();
        std::fs::set_permissions(&hidden, std::fs::Permissions::from_mode(0o300)).unwrap();
        assert!(
            std::fs::read_dir(&hidden).is_err(),
            "this check must run unprivileged"
        );
        let used = workspace_usage(ws.path());
        assert!(
            used >= 1 << 20,
            "{used}: the 1 MiB behind mode 0300 was not counted"
        );
        assert!(used < UNMEASURABLE, "an owned directory is measurable");
        let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&hidden), 0o300, "the mode is given back");
        std::fs::set_permissions(&hidden, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(
            mode(&hidden.join("deeper")),
            0o100,
            "the mode is given back"
        );
        std::fs::set_permissions(
            hidden.join("deeper"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
    }

    #[test]
    fn too_deep_a_tree_is_over_any_quota_and_a_missing_root_is_empty() {
        let ws = tempfile::tempdir().unwrap();
        let mut p = ws.path().to_path_buf();
        for _ in 0..MAX_DEPTH + 2 {
            p.push("d");
        }
        std::fs::create_dir_all(&p).unwrap();
        assert_eq!(workspace_usage(ws.path()), UNMEASURABLE);
        assert_eq!(workspace_usage(&ws.path().join("missing")), 0);
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
