//! The canonical tar: entries sorted by path, mtime, uid and gid zero, no user or group
//! names, GNU headers (long names through GNU long-name members), and the two zero blocks
//! that end an archive.

use std::io;

use tar::{EntryType, Header};

use super::entry::{EntryKind, SnapshotEntry};

/// Symlink members carry this mode (permissions of a symlink are not used on Linux).
const SYMLINK_MODE: u32 = 0o777;

/// Encodes `entries` (already sorted by path) as a canonical tar stream.
pub(crate) fn canonical_tar(entries: &[SnapshotEntry]) -> io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        match &entry.kind {
            EntryKind::File { mode, content } => {
                header.set_entry_type(EntryType::Regular);
                header.set_mode(*mode);
                header.set_size(content.len() as u64);
                builder.append_data(&mut header, &entry.path, content.as_ref())?;
            }
            EntryKind::Directory { mode } => {
                header.set_entry_type(EntryType::Directory);
                header.set_mode(*mode);
                header.set_size(0);
                builder.append_data(&mut header, format!("{}/", entry.path), io::empty())?;
            }
            EntryKind::Symlink { target } => {
                header.set_entry_type(EntryType::Symlink);
                header.set_mode(SYMLINK_MODE);
                header.set_size(0);
                builder.append_link(&mut header, &entry.path, target)?;
            }
        }
    }
    builder.into_inner()
}
