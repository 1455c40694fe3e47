//! Refusing to copy an unreasonably large current directory into the default workspace.

use std::path::Path;

use crate::error::CliError;

/// The most entries (files, directories, symlinks) the current directory may hold.
pub(crate) const MAX_ENTRIES: u64 = 20_000;
/// The most bytes its regular files may hold.
pub(crate) const MAX_BYTES: u64 = 1 << 30;

/// Walks `dir` (ambient authority, symlinks not followed) and fails as soon as it holds more
/// than `max_entries` entries or `max_bytes` bytes. Unreadable entries are left for the copy
/// itself to report.
///
/// # Errors
/// [`CliError::WorkspaceTooLarge`] naming the limit.
pub(crate) fn check_size(dir: &Path, max_entries: u64, max_bytes: u64) -> Result<(), CliError> {
    let mut entries = 0_u64;
    let mut bytes = 0_u64;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(list) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in list.flatten() {
            entries += 1;
            if entries > max_entries {
                return Err(too_large(dir, format!("more than {max_entries} files")));
            }
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            if meta.is_dir() {
                pending.push(entry.path());
            } else if meta.is_file() {
                bytes += meta.len();
                if bytes > max_bytes {
                    return Err(too_large(dir, format!("more than {max_bytes} bytes")));
                }
            }
        }
    }
    Ok(())
}

fn too_large(dir: &Path, what: String) -> CliError {
    CliError::WorkspaceTooLarge {
        dir: dir.to_path_buf(),
        what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_nested_entries_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a"), [0_u8; 100]).unwrap();
        std::fs::write(dir.path().join("b"), [0_u8; 100]).unwrap();
        // Three entries (sub, sub/a, b) and 200 bytes.
        assert!(check_size(dir.path(), 3, 200).is_ok());
        let err = check_size(dir.path(), 2, 200).unwrap_err().to_string();
        assert!(err.contains("more than 2 files"), "{err}");
        assert!(err.contains("--workspace"), "{err}");
        let err = check_size(dir.path(), 3, 199).unwrap_err().to_string();
        assert!(err.contains("more than 199 bytes"), "{err}");
    }
}
