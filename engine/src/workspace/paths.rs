//! Relative path checks and symlink resolution that never leaves the workspace.

use std::io;
use std::path::Path;

use cap_std::fs::Dir;

use super::error::{WorkspaceError, WsResult};
use crate::assets::normalize_relative;

/// Symlink hops followed before a path is refused as a loop (as Linux's `MAXSYMLINKS`).
const MAX_SYMLINK_HOPS: usize = 40;

/// Checks that `rel` is a relative path without `..` and returns it normalized
/// (`a/./b/` -> `a/b`).
///
/// # Errors
/// [`WorkspaceError::Confinement`] saying what is wrong.
pub(crate) fn check_relative(rel: &str) -> WsResult<String> {
    normalize_relative(rel).map_err(|reason| {
        // `normalize_relative` quotes the path itself; keep the reason after the quote.
        let quoted = format!("`{rel}` ");
        let reason = reason.strip_prefix(&quoted).unwrap_or(&reason).to_string();
        WorkspaceError::confinement(rel, reason)
    })
}

/// Where the symlink at `link` (a normalized relative path) points, as a normalized relative
/// path, when the target stays inside the root; `None` when it is absolute or climbs above
/// the root. The check is lexical: `a/l -> ../b` resolves to `b`.
pub(crate) fn symlink_target_inside(link: &str, target: &Path) -> Option<String> {
    if target.is_absolute() {
        return None;
    }
    let target = target.to_str()?;
    if target.is_empty() {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// Resolves `rel` (normalized) inside `dir`, following symlinks in the parent components (and
/// in the last one when `follow_last`) without ever leaving the root.
///
/// Returns the resolved relative path (possibly empty for the root). Components that do not
/// exist are kept as they are (they will be created).
///
/// # Errors
/// [`WorkspaceError::Confinement`] when a symlink on the way is absolute or climbs above the
/// root (naming the link), or after too many hops; an I/O error while inspecting.
pub(crate) fn resolve_confined(dir: &Dir, rel: &str, follow_last: bool) -> WsResult<String> {
    let mut pending: Vec<String> = rel.split('/').rev().map(str::to_string).collect();
    let mut cur: Vec<String> = Vec::new();
    let mut hops = 0;
    let mut exists = true;
    while let Some(c) = pending.pop() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                if cur.pop().is_none() {
                    return Err(WorkspaceError::confinement(
                        rel,
                        "leads outside the workspace through a symlink",
                    ));
                }
                continue;
            }
            _ => cur.push(c),
        }
        if !exists || (pending.is_empty() && !follow_last) {
            continue;
        }
        let here = cur.join("/");
        let meta = match dir.symlink_metadata(&here) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                exists = false;
                continue;
            }
            // Not a directory on the way: the caller's operation reports it.
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
                exists = false;
                continue;
            }
            Err(e) => return Err(WorkspaceError::io("inspect", here, e)),
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        hops += 1;
        if hops > MAX_SYMLINK_HOPS {
            return Err(WorkspaceError::confinement(
                rel,
                "goes through too many symlinks (a loop?)",
            ));
        }
        let target = dir
            .read_link_contents(&here)
            .map_err(|e| WorkspaceError::io("read symlink", here.clone(), e))?;
        let Some(resolved) = symlink_target_inside(&here, &target) else {
            return Err(WorkspaceError::confinement(
                rel,
                format!(
                    "leads outside the workspace through symlink `{here}` -> `{}`",
                    target.display()
                ),
            ));
        };
        cur.clear();
        pending.extend(resolved.split('/').rev().map(str::to_string));
    }
    Ok(cur.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlink_targets_are_resolved_lexically() {
        assert_eq!(
            symlink_target_inside("a/l", Path::new("../b")).as_deref(),
            Some("b")
        );
        assert_eq!(
            symlink_target_inside("a/b/l", Path::new("./c/../d")).as_deref(),
            Some("a/b/d")
        );
        assert_eq!(symlink_target_inside("l", Path::new("../x")), None);
        assert_eq!(symlink_target_inside("a/l", Path::new("../../x")), None);
        assert_eq!(symlink_target_inside("l", Path::new("/etc/passwd")), None);
    }

    #[test]
    fn relative_paths_name_the_problem() {
        let e = check_relative("../x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "path `../x` contains `..`: paths may not leave their root"
        );
        let e = check_relative("/etc/passwd").unwrap_err();
        assert_eq!(
            e.to_string(),
            "path `/etc/passwd` is absolute: expected a relative path"
        );
        assert_eq!(check_relative("a/./b/").unwrap(), "a/b");
    }
}
