//! Decoding and validating a tar stream into a listing, before anything is written.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use bytes::Bytes;
use tar::EntryType;

use super::entry::{EntryKind, SnapshotEntry};
use super::error::SnapshotError;
use crate::assets::normalize_relative;
use crate::workspace::limits::{bytes as shown_bytes, shorten};
use crate::workspace::paths::symlink_target_inside;
use crate::workspace::{LimitExceeded, WorkspaceLimits};

const BLOCK: u64 = 512;
/// Mode given to directories an archive implies but does not list.
const IMPLIED_DIR_MODE: u32 = 0o755;
/// Longest name component Linux filesystems store (`NAME_MAX`).
pub(crate) const MAX_NAME_BYTES: usize = 255;
/// Longest member path a snapshot holds: `PATH_MAX` (4096, with its NUL) less room for the
/// staging directory a restore writes into.
pub(crate) const MAX_PATH_BYTES: usize = 4000;

/// Checks that `path` (normalized) can be written on Linux: no component over
/// [`MAX_NAME_BYTES`], the whole over [`MAX_PATH_BYTES`].
///
/// # Errors
/// [`SnapshotError::PathTooLong`] naming the path (shortened) and the length that is over.
pub(crate) fn check_path(path: &str) -> Result<(), SnapshotError> {
    let reason = if path.len() > MAX_PATH_BYTES {
        Some(format!(
            "is {} bytes long: paths in a snapshot are at most {MAX_PATH_BYTES} bytes",
            path.len()
        ))
    } else {
        path.split('/').find(|c| c.len() > MAX_NAME_BYTES).map(|c| {
            format!(
                "has a name component of {} bytes: filesystems allow at most {MAX_NAME_BYTES}",
                c.len()
            )
        })
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(SnapshotError::PathTooLong {
            path: shorten(path),
            reason,
        }),
    }
}

/// Bytes a tar stream may hold for `limits`: the file bytes plus, per member, a header, a
/// GNU long-name member for a path of up to [`MAX_PATH_BYTES`] and padding, plus the end
/// blocks.
pub(crate) fn max_tar_bytes(limits: &WorkspaceLimits) -> u64 {
    const PER_MEMBER: u64 = 4 * BLOCK + MAX_PATH_BYTES as u64 + BLOCK;
    limits
        .max_snapshot_bytes
        .saturating_add(
            limits
                .max_entries
                .saturating_add(1)
                .saturating_mul(PER_MEMBER),
        )
        .saturating_add(2 * BLOCK)
}

/// Parses a whole tar stream and checks every member: names are relative without `..`,
/// symlink targets and hard links stay inside, no member sits under a symlink or a file,
/// no name appears twice, and the stream ends with an end-of-archive block. Directories
/// implied by a member's path but not listed are added with mode `0o755`. The listing is
/// sorted by path. Names must fit a filesystem ([`check_path`]); the members, their file
/// bytes (a hard link counts as the copy it is restored as) and their nesting must stay
/// within `limits`.
///
/// # Errors
/// [`SnapshotError::UnsafeMember`], [`SnapshotError::UnsupportedMember`],
/// [`SnapshotError::PathTooLong`], [`SnapshotError::Workspace`] (a limit),
/// [`SnapshotError::Truncated`] or [`SnapshotError::Corrupt`], naming the member.
pub(crate) fn parse_tar(
    tar: &[u8],
    limits: &WorkspaceLimits,
) -> Result<Vec<SnapshotEntry>, SnapshotError> {
    let mut archive = tar::Archive::new(tar);
    let mut end: u64 = 0;
    let mut members: BTreeMap<String, EntryKind> = BTreeMap::new();
    let mut file_bytes: u64 = 0;
    let corrupt = |e: std::io::Error| SnapshotError::Corrupt {
        reason: e.to_string(),
    };
    for item in archive.entries().map_err(corrupt)? {
        let mut item = item.map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof
                || e.to_string().contains("failed to read entire block")
            {
                SnapshotError::Truncated {
                    reason: format!("a member header is cut short ({e})"),
                }
            } else {
                corrupt(e)
            }
        })?;
        let size = item.size();
        end = item.raw_file_position() + size.div_ceil(BLOCK) * BLOCK;
        let raw_name = String::from_utf8_lossy(&item.path_bytes()).into_owned();
        let header = item.header();
        let entry_type = header.entry_type();
        if matches!(entry_type, EntryType::XGlobalHeader | EntryType::XHeader) {
            continue;
        }
        let name = std::str::from_utf8(&item.path_bytes())
            .map(str::to_string)
            .map_err(|_| SnapshotError::UnsafeMember {
                path: raw_name.clone(),
                reason: "has a name that is not valid UTF-8".into(),
            })?;
        let mode = header.mode().map_err(|e| SnapshotError::Corrupt {
            reason: format!("member `{raw_name}` has an invalid mode ({e})"),
        })? & 0o777;
        let trimmed = name.trim_end_matches('/');
        if entry_type == EntryType::Directory
            && trimmed.split('/').all(|c| c.is_empty() || c == ".")
        {
            // `./` or `.`: the root itself.
            continue;
        }
        let path = normalize_relative(trimmed).map_err(|reason| SnapshotError::UnsafeMember {
            path: raw_name.clone(),
            reason: reason
                .strip_prefix(&format!("`{trimmed}` "))
                .unwrap_or(&reason)
                .to_string(),
        })?;
        check_path(&path)?;
        check_member_limits(&path, members.len(), limits)?;
        let kind = match entry_type {
            EntryType::Regular | EntryType::Continuous => {
                add_file_bytes(&mut file_bytes, size, &path, limits)?;
                // The header's size is not trusted for the allocation: the data must be in
                // the stream.
                let capacity = size.min(tar.len() as u64);
                let mut content = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
                item.read_to_end(&mut content)
                    .map_err(|e| SnapshotError::Truncated {
                        reason: format!("member `{raw_name}` cannot be read ({e})"),
                    })?;
                if content.len() as u64 != size {
                    return Err(SnapshotError::Truncated {
                        reason: format!(
                            "member `{raw_name}` holds {} of its {size} bytes",
                            content.len()
                        ),
                    });
                }
                EntryKind::File {
                    mode,
                    content: Bytes::from(content),
                }
            }
            EntryType::Directory => EntryKind::Directory { mode },
            EntryType::Symlink => {
                let target = link_name(&item, &raw_name)?;
                if symlink_target_inside(&path, std::path::Path::new(&target)).is_none() {
                    return Err(SnapshotError::UnsafeMember {
                        path: raw_name,
                        reason: format!(
                            "is a symlink to `{target}`, which leads outside the workspace"
                        ),
                    });
                }
                EntryKind::Symlink { target }
            }
            EntryType::Link => {
                let target = link_name(&item, &raw_name)?;
                let unsafe_link = |why: &str| SnapshotError::UnsafeMember {
                    path: raw_name.clone(),
                    reason: format!("is a hard link to `{target}`, {why}"),
                };
                let linked = normalize_relative(target.trim_end_matches('/'))
                    .map_err(|_| unsafe_link("which leads outside the workspace"))?;
                match members.get(&linked) {
                    Some(EntryKind::File { content, .. }) => {
                        add_file_bytes(&mut file_bytes, content.len() as u64, &path, limits)?;
                        EntryKind::File {
                            mode,
                            content: content.clone(),
                        }
                    }
                    _ => {
                        return Err(unsafe_link("which is not a file earlier in the archive"));
                    }
                }
            }
            other => {
                return Err(SnapshotError::UnsupportedMember {
                    path: raw_name,
                    kind: describe(other),
                });
            }
        };
        if members.contains_key(&path) {
            return Err(SnapshotError::Corrupt {
                reason: format!("member `{path}` appears twice"),
            });
        }
        members.insert(path, kind);
    }
    check_end(tar, end)?;
    check_parents(&mut members, limits)?;
    Ok(members
        .into_iter()
        .map(|(path, kind)| SnapshotEntry { path, kind })
        .collect())
}

/// Refuses a member past `max_entries` or nested deeper than `max_depth`.
fn check_member_limits(
    path: &str,
    count: usize,
    limits: &WorkspaceLimits,
) -> Result<(), SnapshotError> {
    if count as u64 >= limits.max_entries {
        return Err(LimitExceeded::new(
            "max_entries",
            limits.max_entries,
            format!(
                "reading the snapshot archive: member `{}` is one more than that",
                shorten(path)
            ),
        )
        .into());
    }
    // `a/b/c.txt` lies in a directory two levels down.
    let depth = path.matches('/').count() as u64;
    if depth > limits.max_depth {
        return Err(LimitExceeded::new(
            "max_depth",
            limits.max_depth,
            format!(
                "reading the snapshot archive: member `{}` is nested {depth} levels deep",
                shorten(path)
            ),
        )
        .into());
    }
    Ok(())
}

fn add_file_bytes(
    total: &mut u64,
    size: u64,
    path: &str,
    limits: &WorkspaceLimits,
) -> Result<(), SnapshotError> {
    *total = total.saturating_add(size);
    if *total > limits.max_snapshot_bytes {
        return Err(LimitExceeded::new(
            "max_snapshot_bytes",
            limits.max_snapshot_bytes,
            format!(
                "reading the snapshot archive: its files reach {} at member `{}` ({})",
                shown_bytes(*total),
                shorten(path),
                shown_bytes(size)
            ),
        )
        .into());
    }
    Ok(())
}

fn link_name<R: Read>(item: &tar::Entry<'_, R>, raw_name: &str) -> Result<String, SnapshotError> {
    let bytes = item
        .link_name_bytes()
        .ok_or_else(|| SnapshotError::Corrupt {
            reason: format!("link member `{raw_name}` has no target"),
        })?;
    String::from_utf8(bytes.into_owned()).map_err(|_| SnapshotError::UnsafeMember {
        path: raw_name.to_string(),
        reason: "has a link target that is not valid UTF-8".into(),
    })
}

/// An archive ends with two zero blocks after its last member (POSIX); without them the
/// stream was cut.
fn check_end(tar: &[u8], end: u64) -> Result<(), SnapshotError> {
    let start = usize::try_from(end).unwrap_or(usize::MAX);
    let marker = start
        .checked_add(2 * BLOCK as usize)
        .and_then(|stop| tar.get(start..stop));
    match marker {
        Some(b) if b.iter().all(|x| *x == 0) => Ok(()),
        Some(_) => Err(SnapshotError::Corrupt {
            reason: format!("unreadable member header at byte {start}"),
        }),
        None => Err(SnapshotError::Truncated {
            reason: format!(
                "the stream stops at byte {} without the end-of-archive blocks",
                tar.len()
            ),
        }),
    }
}

/// Refuses members under a symlink or file member, and adds implied directories (counted
/// against `max_entries` with the members).
///
/// Members are visited in path order, so every proper prefix of a path that is itself a
/// member was visited before it; the walk up a path's prefixes stops at the first directory
/// already checked, which keeps the work linear in the total length of the names.
fn check_parents(
    members: &mut BTreeMap<String, EntryKind>,
    limits: &WorkspaceLimits,
) -> Result<(), SnapshotError> {
    let mut implied: BTreeSet<String> = BTreeSet::new();
    for path in members.keys() {
        let mut end = path.len();
        while let Some(i) = path[..end].rfind('/') {
            let prefix = &path[..i];
            match members.get(prefix) {
                Some(EntryKind::Symlink { .. }) => {
                    return Err(SnapshotError::UnsafeMember {
                        path: path.clone(),
                        reason: format!("lies under the symlink member `{prefix}`"),
                    });
                }
                Some(EntryKind::File { .. }) => {
                    return Err(SnapshotError::Corrupt {
                        reason: format!("member `{path}` lies under the file member `{prefix}`"),
                    });
                }
                Some(EntryKind::Directory { .. }) => break,
                None => {
                    if !implied.insert(prefix.to_string()) {
                        break;
                    }
                    if (members.len() + implied.len()) as u64 > limits.max_entries {
                        return Err(LimitExceeded::new(
                            "max_entries",
                            limits.max_entries,
                            format!(
                                "reading the snapshot archive: its members and the directories they imply number more than that (at `{}`)",
                                shorten(prefix)
                            ),
                        )
                        .into());
                    }
                }
            }
            end = i;
        }
    }
    for dir in implied {
        members.insert(
            dir,
            EntryKind::Directory {
                mode: IMPLIED_DIR_MODE,
            },
        );
    }
    Ok(())
}

fn describe(t: EntryType) -> String {
    match t {
        EntryType::Char => "character device".into(),
        EntryType::Block => "block device".into(),
        EntryType::Fifo => "FIFO".into(),
        EntryType::GNUSparse => "sparse file".into(),
        other => format!("tar member of type {:?}", other.as_byte() as char),
    }
}
