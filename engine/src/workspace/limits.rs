//! [`WorkspaceLimits`]: how much host code reads from a workspace in one operation.

use std::fmt;

/// Bounds on what host code reads from a workspace, so that whatever a guest leaves behind (a
/// sparse 1 TiB file that costs no disk, millions of empty files, a directory chain thousands
/// of levels deep) cannot exhaust the host's memory, stack or file descriptors.
///
/// Every bound is checked *before* the data is read (a file's length comes from its
/// metadata, so a sparse file counts its full length) and again while reading (a file that
/// grows meanwhile). Reaching one is an error ([`LimitExceeded`]) that names the path and the
/// setting; nothing is ever silently truncated or left out.
///
/// | setting | default | bounds |
/// |---|---|---|
/// | [`max_entries`](Self::max_entries) | 100,000 | entries one listing visits: a snapshot capture, a glob, a snapshot archive's members |
/// | [`max_snapshot_bytes`](Self::max_snapshot_bytes) | 1 GiB | file bytes a capture reads into memory, and bytes an archive may unpack to |
/// | [`max_read_bytes`](Self::max_read_bytes) | 256 MiB | bytes one read returns: [`read_file`](super::Workspace::read_file), [`read_globs`](super::Workspace::read_globs), `Session::get_file_contents` |
/// | [`max_depth`](Self::max_depth) | 128 | directory levels below the root that a listing descends |
/// | [`max_import_bytes`](Self::max_import_bytes) | 1 GiB | file bytes one import copies in from the host ([`import_host_dir`](super::Workspace::import_host_dir), [`copy_host_path`](super::Workspace::copy_host_path)): checked from the files' lengths before anything is written, so a sparse file cannot fill the host's disk |
///
/// A capture holds its files, the canonical tar and the compressed archive in memory at
/// once, so its peak memory is about three times the bytes it captures.
///
/// ```
/// use subrun::workspace::WorkspaceLimits;
/// let limits = WorkspaceLimits::default()
///     .with_max_entries(10_000)
///     .with_max_snapshot_bytes(64 << 20);
/// assert_eq!(limits.max_entries, 10_000);
/// assert_eq!(limits.max_read_bytes, WorkspaceLimits::DEFAULT_MAX_READ_BYTES);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct WorkspaceLimits {
    /// Entries (files, directories, symlinks and the special files a listing skips) that one
    /// listing may visit. Entries under a directory that `snapshot.ignore_globs` leaves out
    /// are not visited and do not count. Default [`DEFAULT_MAX_ENTRIES`](Self::DEFAULT_MAX_ENTRIES).
    pub max_entries: u64,
    /// Bytes of file content a snapshot capture reads into memory, and that the files of a
    /// snapshot archive may add up to when it is read. Default
    /// [`DEFAULT_MAX_SNAPSHOT_BYTES`](Self::DEFAULT_MAX_SNAPSHOT_BYTES).
    pub max_snapshot_bytes: u64,
    /// Bytes one read call returns, all its files together. Default
    /// [`DEFAULT_MAX_READ_BYTES`](Self::DEFAULT_MAX_READ_BYTES).
    pub max_read_bytes: u64,
    /// Directory levels below the workspace root that a listing descends (`a/b/c.txt` sits
    /// two levels down). It bounds the file descriptors and stack a walk holds. Default
    /// [`DEFAULT_MAX_DEPTH`](Self::DEFAULT_MAX_DEPTH).
    pub max_depth: u64,
    /// Bytes of regular files one host import may copy into the workspace (their lengths
    /// added up before the first byte is written; a file that grows while it is copied is an
    /// error too). Default [`DEFAULT_MAX_IMPORT_BYTES`](Self::DEFAULT_MAX_IMPORT_BYTES).
    pub max_import_bytes: u64,
}

impl WorkspaceLimits {
    /// Default of [`max_entries`](Self::max_entries): 100,000.
    pub const DEFAULT_MAX_ENTRIES: u64 = 100_000;
    /// Default of [`max_snapshot_bytes`](Self::max_snapshot_bytes): 1 GiB.
    pub const DEFAULT_MAX_SNAPSHOT_BYTES: u64 = 1 << 30;
    /// Default of [`max_read_bytes`](Self::max_read_bytes): 256 MiB.
    pub const DEFAULT_MAX_READ_BYTES: u64 = 256 << 20;
    /// Default of [`max_depth`](Self::max_depth): 128.
    pub const DEFAULT_MAX_DEPTH: u64 = 128;
    /// Default of [`max_import_bytes`](Self::max_import_bytes): 1 GiB.
    pub const DEFAULT_MAX_IMPORT_BYTES: u64 = 1 << 30;

    /// The defaults (see the table in the type's docs).
    pub const fn new() -> Self {
        Self {
            max_entries: Self::DEFAULT_MAX_ENTRIES,
            max_snapshot_bytes: Self::DEFAULT_MAX_SNAPSHOT_BYTES,
            max_read_bytes: Self::DEFAULT_MAX_READ_BYTES,
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_import_bytes: Self::DEFAULT_MAX_IMPORT_BYTES,
        }
    }

    /// Sets [`max_entries`](Self::max_entries).
    #[must_use]
    pub const fn with_max_entries(mut self, entries: u64) -> Self {
        self.max_entries = entries;
        self
    }

    /// Sets [`max_snapshot_bytes`](Self::max_snapshot_bytes).
    #[must_use]
    pub const fn with_max_snapshot_bytes(mut self, bytes: u64) -> Self {
        self.max_snapshot_bytes = bytes;
        self
    }

    /// Sets [`max_read_bytes`](Self::max_read_bytes).
    #[must_use]
    pub const fn with_max_read_bytes(mut self, bytes: u64) -> Self {
        self.max_read_bytes = bytes;
        self
    }

    /// Sets [`max_depth`](Self::max_depth).
    #[must_use]
    pub const fn with_max_depth(mut self, levels: u64) -> Self {
        self.max_depth = levels;
        self
    }

    /// Sets [`max_import_bytes`](Self::max_import_bytes).
    #[must_use]
    pub const fn with_max_import_bytes(mut self, bytes: u64) -> Self {
        self.max_import_bytes = bytes;
        self
    }

    /// The same limits without an entry bound: for copying the caller's own host
    /// directories (initial directories, assets), which are streamed rather than held.
    pub(crate) const fn for_host_import(self) -> Self {
        self.with_max_entries(u64::MAX)
    }
}

impl Default for WorkspaceLimits {
    fn default() -> Self {
        Self::new()
    }
}

/// A [`WorkspaceLimits`] bound that an operation reached; it stopped before reading past it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what}: over the limit of {} set by `WorkspaceLimits::{setting}`", shown(.setting, *.limit))]
#[non_exhaustive]
pub struct LimitExceeded {
    /// The field of [`WorkspaceLimits`] (`max_entries`, `max_snapshot_bytes`,
    /// `max_read_bytes`, `max_depth`).
    pub setting: &'static str,
    /// Its value.
    pub limit: u64,
    /// What reached it, naming the path (`reading `out.bin` (1.0 TiB)`).
    pub what: String,
}

impl LimitExceeded {
    pub(crate) fn new(setting: &'static str, limit: u64, what: impl Into<String>) -> Self {
        Self {
            setting,
            limit,
            what: what.into(),
        }
    }
}

/// A byte count as people read it (`1.0 GiB`), exact below 1 KiB.
pub(crate) fn bytes(n: u64) -> String {
    bytesize::ByteSize(n).display().iec().to_string()
}

/// `path` itself, or its first and last 60 characters around `…` when it is longer than 140
/// (a path thousands of levels deep still reads as one line).
pub(crate) fn shorten(path: &str) -> String {
    let chars: Vec<char> = path.chars().collect();
    if chars.len() <= 140 {
        return path.to_string();
    }
    let head: String = chars[..60].iter().collect();
    let tail: String = chars[chars.len() - 60..].iter().collect();
    format!("{head}…{tail} ({} bytes)", path.len())
}

fn shown(setting: &str, limit: u64) -> impl fmt::Display {
    if setting.ends_with("_bytes") {
        bytes(limit)
    } else if setting == "max_depth" {
        format!("{limit} levels")
    } else {
        format!("{limit} entries")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_setting_and_the_limit_in_its_unit() {
        let e = LimitExceeded::new("max_read_bytes", 256 << 20, "reading `out.bin` (1.0 TiB)");
        assert_eq!(
            e.to_string(),
            "reading `out.bin` (1.0 TiB): over the limit of 256.0 MiB set by `WorkspaceLimits::max_read_bytes`"
        );
        let e = LimitExceeded::new("max_entries", 10, "listing the workspace");
        assert!(e.to_string().contains("10 entries"), "{e}");
        let e = LimitExceeded::new("max_depth", 3, "directory `a/b/c/d`");
        assert!(e.to_string().contains("3 levels"), "{e}");
    }
}
