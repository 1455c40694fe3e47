//! Compression of the canonical tar, and detection from magic bytes.

use std::io::{self, Read, Write};

use crate::spec::Compression;

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

/// Decompresses `archive` whole (so truncation is found before anything is written).
///
/// # Errors
/// [`SnapshotError::Decompress`] for a truncated or corrupt stream.
pub(crate) fn decompress(
    archive: &[u8],
    compression: Compression,
) -> Result<Vec<u8>, SnapshotError> {
    let mut out = Vec::new();
    let result = match compression {
        Compression::None => return Ok(archive.to_vec()),
        Compression::Gz => flate2::read::GzDecoder::new(archive).read_to_end(&mut out),
        Compression::Bz2 => bzip2::read::BzDecoder::new(archive).read_to_end(&mut out),
        Compression::Xz => xz2::read::XzDecoder::new(archive).read_to_end(&mut out),
    };
    result.map_err(|source| SnapshotError::Decompress {
        compression,
        source,
    })?;
    Ok(out)
}
