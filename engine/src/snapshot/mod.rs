//! Workspace snapshots: a canonical, optionally compressed tar of the workspace.
//!
//! - **Format**: a tar stream with GNU headers; members sorted by path; mtime, uid and gid
//!   zero; no user or group names; files and directories keep their permission bits
//!   (`mode & 0o777`); symlinks keep their (relative, inside) target. Compression is none,
//!   gz, bz2 or xz ([`Compression`]), deterministic.
//! - **Checksum**: the sha256 (hex) of the *uncompressed canonical tar*, so identical content
//!   gives an identical checksum whenever and in whatever compression it is captured.
//! - **Filtering**: `keep_globs` (when non-empty, only matches are kept) then `ignore_globs`
//!   (see [`SnapshotConfig`]).
//! - **Confinement**: a symlink that leads outside the workspace is never archived (it is
//!   listed in [`skipped`](Snapshot::skipped)); an archive whose members would escape is
//!   refused as a whole when it is read, before anything is written.

mod capture;
mod compress;
mod entry;
mod error;
mod filter;
mod restore;
mod tar_read;
mod tar_write;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest, Sha256};

pub use crate::diff::{ContentDiff, EntryInfo, FileDiff, WorkspaceDiff, diff_snapshots};
pub use entry::{EntryKind, EntryType, SnapshotEntry};
pub use error::SnapshotError;

use crate::spec::{Compression, SnapshotConfig};
use crate::workspace::limits::bytes as shown_bytes;
use crate::workspace::{LimitExceeded, SkippedEntry, Workspace, WorkspaceLimits};

/// A snapshot of a workspace: the archive bytes, their checksum and the decoded listing.
///
/// Cloning is cheap (the archive and the listing are shared).
#[derive(Clone)]
pub struct Snapshot {
    archive: Bytes,
    compression: Compression,
    checksum: String,
    entries: Arc<[SnapshotEntry]>,
    skipped: Arc<[SkippedEntry]>,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("checksum", &self.checksum)
            .field("compression", &self.compression)
            .field("archive_bytes", &self.archive.len())
            .field("entries", &self.entries.len())
            .field("skipped", &self.skipped)
            .finish()
    }
}

impl PartialEq for Snapshot {
    /// Snapshots are equal when their content is (same checksum), whatever the compression.
    fn eq(&self, other: &Self) -> bool {
        self.checksum == other.checksum
    }
}

impl Eq for Snapshot {}

impl Snapshot {
    /// Captures `ws` filtered by `config`'s globs and compressed with its compression.
    /// Symlinks are read, never followed; one whose target is absolute or climbs out of the
    /// workspace is left out, logged and listed in [`skipped`](Self::skipped), as are
    /// sockets, FIFOs, devices and names that are not UTF-8.
    ///
    /// What a capture reads is bounded by the workspace's
    /// [`WorkspaceLimits`]: at most `max_entries` entries visited,
    /// `max_depth` levels, and `max_snapshot_bytes` of file content (checked from the files'
    /// lengths before any is read, so a sparse 1 TiB file is refused at once). Peak memory is
    /// about three times the bytes captured (files, tar, compressed archive).
    ///
    /// # Errors
    /// [`SnapshotError::Config`] for an invalid glob; [`SnapshotError::Workspace`] when an
    /// entry cannot be read or a bound is reached ([`WorkspaceError::Limit`], naming the path
    /// and the setting); [`SnapshotError::PathTooLong`] for a path no restore could write;
    /// [`SnapshotError::Encode`] when compression fails.
    ///
    /// [`WorkspaceError::Limit`]: crate::workspace::WorkspaceError::Limit
    pub fn capture(ws: &Workspace, config: &SnapshotConfig) -> Result<Self, SnapshotError> {
        let filter = filter::SnapshotFilter::new(config)?;
        let (entries, skipped) = capture::collect(ws, &filter)?;
        let tar = tar_write::canonical_tar(&entries)
            .map_err(|source| SnapshotError::Encode { source })?;
        let checksum = hex::encode(Sha256::digest(&tar));
        let archive = compress::compress(&tar, config.compression)
            .map_err(|source| SnapshotError::Encode { source })?;
        tracing::debug!(%checksum, entries = entries.len(), skipped = skipped.len(), "snapshot captured");
        Ok(Self {
            archive: Bytes::from(archive),
            compression: config.compression,
            checksum,
            entries: entries.into(),
            skipped: skipped.into(),
        })
    }

    /// Reads an archive (plain tar, or gzip, bzip2 or xz detected from its magic bytes),
    /// decoding and validating every member, within the default
    /// [`WorkspaceLimits`] (see
    /// [`from_archive_bytes_with_limits`](Self::from_archive_bytes_with_limits)). The archive
    /// bytes are kept as given; the checksum is that of the canonical tar of the content, so
    /// an archive made by another tool has the checksum a capture of the same content would
    /// have.
    ///
    /// # Errors
    /// [`SnapshotError::UnknownFormat`], [`SnapshotError::Decompress`] and
    /// [`SnapshotError::Truncated`] for cut or corrupt streams, [`SnapshotError::Corrupt`],
    /// [`SnapshotError::UnsafeMember`] for members that would escape the workspace (`../`,
    /// absolute names, symlinks or hard links leading outside),
    /// [`SnapshotError::UnsupportedMember`] for devices, FIFOs and the like,
    /// [`SnapshotError::PathTooLong`] for names no filesystem stores, and
    /// [`SnapshotError::Workspace`] with a limit for archives past a bound.
    pub fn from_archive_bytes(bytes: impl Into<Bytes>) -> Result<Self, SnapshotError> {
        Self::from_archive_bytes_with_limits(bytes, &WorkspaceLimits::default())
    }

    /// [`from_archive_bytes`](Self::from_archive_bytes) within `limits`: at most
    /// `max_entries` members (with the directories they imply), `max_snapshot_bytes` of file
    /// content (a hard link counts as the copy it is restored as), members at most
    /// `max_depth` levels deep, and an unpacked stream of at most the file bytes plus tar
    /// headers for that many members, so a small archive that unpacks to far more is refused
    /// once it passes the bound.
    ///
    /// # Errors
    /// As [`from_archive_bytes`](Self::from_archive_bytes).
    pub fn from_archive_bytes_with_limits(
        bytes: impl Into<Bytes>,
        limits: &WorkspaceLimits,
    ) -> Result<Self, SnapshotError> {
        let archive: Bytes = bytes.into();
        let compression = compress::detect(&archive)?;
        let max_tar = tar_read::max_tar_bytes(limits);
        let tar = compress::decompress(&archive, compression, max_tar, limits)?;
        let entries = tar_read::parse_tar(&tar, limits)?;
        let canonical = tar_write::canonical_tar(&entries)
            .map_err(|source| SnapshotError::Encode { source })?;
        let checksum = hex::encode(Sha256::digest(&canonical));
        Ok(Self {
            archive,
            compression,
            checksum,
            entries: entries.into(),
            skipped: Arc::new([]),
        })
    }

    /// Reads an archive file (ambient authority: `path` is a host path) within the default
    /// [`WorkspaceLimits`].
    ///
    /// # Errors
    /// [`SnapshotError::Io`] when the file cannot be read, then as
    /// [`from_archive_bytes`](Self::from_archive_bytes).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, SnapshotError> {
        Self::from_path_with_limits(path, &WorkspaceLimits::default())
    }

    /// [`from_path`](Self::from_path) within `limits`; a file larger than any archive
    /// within them could be is refused before it is read.
    ///
    /// # Errors
    /// As [`from_path`](Self::from_path).
    pub fn from_path_with_limits(
        path: impl AsRef<Path>,
        limits: &WorkspaceLimits,
    ) -> Result<Self, SnapshotError> {
        use std::io::Read as _;
        let path = path.as_ref();
        let io = |source| SnapshotError::Io {
            op: "read snapshot archive",
            path: path.display().to_string(),
            source,
        };
        let max = tar_read::max_tar_bytes(limits);
        let too_large = |size: u64| {
            SnapshotError::from(LimitExceeded::new(
                "max_snapshot_bytes",
                limits.max_snapshot_bytes,
                format!(
                    "reading the snapshot archive `{}` ({}): more than {} (the file bytes allowed plus tar headers for up to `max_entries` members)",
                    path.display(),
                    shown_bytes(size),
                    shown_bytes(max)
                ),
            ))
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len > max {
            return Err(too_large(len));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.take(max.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > max {
            return Err(too_large(bytes.len() as u64));
        }
        Self::from_archive_bytes_with_limits(bytes, limits)
    }

    /// Writes the archive into the host directory `dir` (created if missing) as
    /// `snapshot-<first 16 hex digits of the checksum>.<tar|tar.gz|tar.bz2|tar.xz>` and
    /// returns its path. The file is written to a temporary name and renamed, so a reader
    /// never sees half an archive.
    ///
    /// # Errors
    /// [`SnapshotError::Io`] naming the directory or file.
    pub fn write_to_dir(&self, dir: impl AsRef<Path>) -> Result<PathBuf, SnapshotError> {
        let dir = dir.as_ref();
        let io = |op: &'static str, path: &Path| {
            let path = path.display().to_string();
            move |source| SnapshotError::Io { op, path, source }
        };
        std::fs::create_dir_all(dir).map_err(io("create directory", dir))?;
        let name = format!(
            "snapshot-{}.{}",
            &self.checksum[..16],
            self.compression.extension()
        );
        let path = dir.join(name);
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io("create a file in", dir))?;
        std::io::Write::write_all(&mut tmp, &self.archive).map_err(io("write", &path))?;
        tmp.persist(&path).map_err(|e| SnapshotError::Io {
            op: "write",
            path: path.display().to_string(),
            source: e.error,
        })?;
        Ok(path)
    }

    /// The sha256 (hex) of the canonical uncompressed tar.
    pub fn checksum(&self) -> &str {
        &self.checksum
    }

    /// The archive bytes (compressed with [`compression`](Self::compression)).
    pub fn archive(&self) -> &[u8] {
        &self.archive
    }

    /// The archive's compression.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The number of members (files, directories, symlinks).
    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    /// The decoded members, sorted by path.
    pub fn entries(&self) -> &[SnapshotEntry] {
        &self.entries
    }

    /// The member at `path`, if any.
    pub fn entry(&self, path: &str) -> Option<&SnapshotEntry> {
        self.entries
            .binary_search_by(|e| e.path.as_bytes().cmp(path.as_bytes()))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// Entries of the workspace that were left out at capture (symlinks leading outside,
    /// special files, names that are not UTF-8). Empty for snapshots read from an archive.
    pub fn skipped(&self) -> &[SkippedEntry] {
        &self.skipped
    }
}
