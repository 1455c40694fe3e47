//! Compression of the canonical tar, and detection from magic bytes.

use std::io::{self, Read, Write};

use crate::spec::Compression;
use crate::workspace::limits::bytes;
use crate::workspace::{LimitExceeded, WorkspaceLimits};

use super::error::SnapshotError;

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const BZIP2_MAGIC: &[u8] = b"BZh";
const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
const TAR_BLOCK: usize = 512;

/// Compresses `tar` deterministically (gzip with mtime 0 and no file name; fixed levels), so
/// the same content always gives the same archive bytes.
pub(crate) fn compress(tar: &[u8], compression: Compression) -> io::Result<Vec<u8>> {
    match compression {
        Compression::None => Ok(tar.to_vec()),
        Compression::Gz => {
            let mut enc = flate2::GzBuilder::new()
                .mtime(0)
                .write(Vec::new(), flate2::Compression::default());
            enc.write_all(tar)?;
            enc.finish()
        }
        Compression::Bz2 => {
            let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            enc.write_all(tar)?;
            enc.finish()
        }
        Compression::Xz => {
            let mut enc = xz2::write::XzEncoder::new(Vec::new(), 6);
            enc.write_all(tar)?;
            enc.finish()
        }
    }
}

/// The compression of `archive`, from its magic bytes.
///
/// # Errors
/// [`SnapshotError::UnknownFormat`] when it is neither compressed nor a tar stream.
pub(crate) fn detect(archive: &[u8]) -> Result<Compression, SnapshotError> {
    if archive.starts_with(GZIP_MAGIC) {
        return Ok(Compression::Gz);
    }
    if archive.starts_with(BZIP2_MAGIC) {
        return Ok(Compression::Bz2);
    }
    if archive.starts_with(XZ_MAGIC) {
        return Ok(Compression::Xz);
    }
    if archive.len() >= TAR_BLOCK
        && (archive.get(257..262) == Some(b"ustar".as_slice())
            || archive[..TAR_BLOCK].iter().all(|b| *b == 0))
    {
        return Ok(Compression::None);
    }
    let found = if archive.is_empty() {
        "an empty file".to_string()
    } else if archive.len() < TAR_BLOCK {
        format!(
            "{} bytes (a tar archive is at least {TAR_BLOCK} bytes)",
            archive.len()
        )
    } else {
        let head: Vec<String> = archive.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("bytes starting with {}", head.join(" "))
    };
    Err(SnapshotError::UnknownFormat { found })
}

/// Decompresses `archive` whole (so truncation is found before anything is written), to at
/// most `max_out` bytes: a small archive that unpacks to far more (a decompression bomb) is
/// refused once it passes the bound, without holding more than that.
///
/// # Errors
/// [`SnapshotError::Decompress`] for a truncated or corrupt stream;
/// [`SnapshotError::Workspace`] with a limit when it unpacks to more than `max_out` bytes.
pub(crate) fn decompress(
    archive: &[u8],
    compression: Compression,
    max_out: u64,
    limits: &WorkspaceLimits,
) -> Result<Vec<u8>, SnapshotError> {
    let too_large = |what: String| {
        SnapshotError::from(LimitExceeded::new(
            "max_snapshot_bytes",
            limits.max_snapshot_bytes,
            format!(
                "{what}: more than {} (the file bytes allowed plus tar headers for up to `max_entries` members)",
                bytes(max_out)
            ),
        ))
    };
    if compression == Compression::None {
        if archive.len() as u64 > max_out {
            return Err(too_large(format!(
                "reading the snapshot archive ({})",
                bytes(archive.len() as u64)
            )));
        }
        return Ok(archive.to_vec());
    }
    let mut out = Vec::new();
    let bound = max_out.saturating_add(1);
    let result = match compression {
        Compression::None => Ok(0),
        Compression::Gz => flate2::read::GzDecoder::new(archive)
            .take(bound)
            .read_to_end(&mut out),
        Compression::Bz2 => bzip2::read::BzDecoder::new(archive)
            .take(bound)
            .read_to_end(&mut out),
        Compression::Xz => xz2::read::XzDecoder::new(archive)
            .take(bound)
            .read_to_end(&mut out),
    };
    result.map_err(|source| SnapshotError::Decompress {
        compression,
        source,
    })?;
    if out.len() as u64 > max_out {
        return Err(too_large(format!(
            "unpacking the {compression} snapshot archive ({} packed)",
            bytes(archive.len() as u64)
        )));
    }
    Ok(out)
}
