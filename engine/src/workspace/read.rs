//! Reading files back into host memory within a byte budget.

use std::io::{self, Read};

use cap_std::fs::{Dir, File};

use super::error::{WorkspaceError, WsResult};
use super::limits::{LimitExceeded, bytes};
use super::write::open_nofollow;

/// Opens the regular file `path` in `dir` for reading and returns it with its length. Anything
/// else is refused before it is opened: opening a FIFO a guest left at `out.txt` would block
/// the host until some process writes to it. The type is checked again on the open file, so
/// an entry swapped meanwhile is refused too (a symlink in the last component is never
/// followed).
///
/// # Errors
/// [`WorkspaceError::Io`] naming the path: missing, not a regular file, unreadable.
pub(crate) fn open_regular(dir: &Dir, path: &str) -> WsResult<(File, u64)> {
    let not_regular = |what: &str| {
        WorkspaceError::io(
            "read",
            path,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("it is {what}, not a regular file"),
            ),
        )
    };
    let meta = dir
        .symlink_metadata(path)
        .map_err(|e| WorkspaceError::io("read", path, e))?;
    if !meta.is_file() {
        return Err(not_regular(kind_of(&meta.file_type())));
    }
    let file = open_nofollow(dir, path).map_err(|e| WorkspaceError::io("read", path, e))?;
    let meta = file
        .metadata()
        .map_err(|e| WorkspaceError::io("inspect", path, e))?;
    if !meta.is_file() {
        return Err(not_regular(kind_of(&meta.file_type())));
    }
    Ok((file, meta.len()))
}

fn kind_of(ft: &cap_std::fs::FileType) -> &'static str {
    use cap_std::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symlink"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else {
        "a special file"
    }
}

/// The bytes one operation may still read into memory, for one [`WorkspaceLimits`] setting.
///
/// [`WorkspaceLimits`]: super::WorkspaceLimits
pub(crate) struct ByteBudget {
    setting: &'static str,
    limit: u64,
    used: u64,
    verb: &'static str,
}

impl ByteBudget {
    /// A budget of `limit` bytes for `setting`; `verb` (`reading`, `capturing`) opens messages.
    pub(crate) fn new(setting: &'static str, limit: u64, verb: &'static str) -> Self {
        Self {
            setting,
            limit,
            used: 0,
            verb,
        }
    }

    /// Reads all of `file` (`path` for messages, `len` its length from its metadata, so a
    /// sparse file is refused before a byte is read) when it fits in what is left. A file that
    /// grows while it is read is cut off one byte past the budget and refused.
    ///
    /// # Errors
    /// [`WorkspaceError::Limit`] naming the path, its size and the setting;
    /// [`WorkspaceError::Io`] when reading fails.
    pub(crate) fn read(&mut self, file: impl Read, path: &str, len: u64) -> WsResult<Vec<u8>> {
        let left = self.limit.saturating_sub(self.used);
        if len > left {
            return Err(self.exceeded(path, &bytes(len)));
        }
        let mut content = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.take(left.saturating_add(1))
            .read_to_end(&mut content)
            .map_err(|e| WorkspaceError::io("read", path, e))?;
        let read = content.len() as u64;
        if read > left {
            return Err(self.exceeded(path, &format!("more than {}, growing", bytes(left))));
        }
        self.used += read;
        Ok(content)
    }

    fn exceeded(&self, path: &str, size: &str) -> WorkspaceError {
        let before = if self.used == 0 {
            String::new()
        } else {
            format!(" after {} of other files", bytes(self.used))
        };
        LimitExceeded::new(
            self.setting,
            self.limit,
            format!("{} `{path}` ({size}){before}", self.verb),
        )
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_refuses_by_length_and_by_what_is_actually_read() {
        let mut b = ByteBudget::new("max_read_bytes", 10, "reading");
        assert_eq!(b.read(&b"hello"[..], "a", 5).unwrap(), b"hello");
        let e = b.read(&b"123456"[..], "b", 6).unwrap_err();
        assert_eq!(
            e.to_string(),
            "reading `b` (6 B) after 5 B of other files: over the limit of 10 B set by `WorkspaceLimits::max_read_bytes`"
        );
        // The metadata said 1 byte, the file holds 6 (it grew): refused, not truncated.
        let e = b.read(&b"123456"[..], "c", 1).unwrap_err();
        assert!(e.to_string().contains("more than 5 B, growing"), "{e}");
        assert_eq!(b.read(&b"12345"[..], "d", 5).unwrap(), b"12345");
    }
}
