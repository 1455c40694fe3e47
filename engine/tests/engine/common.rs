//! Helpers: building trees on the host, listing them, and a host directory that surrounds a
//! workspace so escapes can be checked from outside.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use subrun::workspace::Workspace;

/// A host directory holding a workspace at `<outer>/ws` and a secret at `<outer>/secret`,
/// so `../secret` from the workspace names a real file.
pub struct Sandbox {
    pub outer: tempfile::TempDir,
    pub ws: Workspace,
}

pub const SECRET: &str = "top secret: never read me";

impl Sandbox {
    pub fn new() -> Self {
        let outer = tempfile::tempdir().unwrap();
        std::fs::create_dir(outer.path().join("ws")).unwrap();
        std::fs::write(outer.path().join("secret"), SECRET).unwrap();
        std::fs::create_dir(outer.path().join("outside_dir")).unwrap();
        let ws = Workspace::open_ambient(outer.path().join("ws")).unwrap();
        Self { outer, ws }
    }

    pub fn outer(&self) -> &Path {
        self.outer.path()
    }

    /// Everything outside the workspace, so a test can assert it did not change.
    pub fn outside_listing(&self) -> BTreeMap<String, String> {
        let mut all = listing(self.outer());
        all.retain(|k, _| k != "ws" && !k.starts_with("ws/"));
        all
    }
}

/// `path -> description` for every entry under `root` (files with mode and content,
/// directories with mode, symlinks with target), never following symlinks.
pub fn listing(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            out.insert(rel, format!("symlink -> {}", target.display()));
        } else if meta.is_dir() {
            out.insert(rel, format!("dir {mode:o}"));
            walk(root, &path, out);
        } else {
            let content = std::fs::read(&path).unwrap();
            out.insert(
                rel,
                format!("file {mode:o} {}", String::from_utf8_lossy(&content)),
            );
        }
    }
}

/// Writes `content` at `root/rel` with `mode`, creating parents.
pub fn host_file(root: &Path, rel: &str, content: &[u8], mode: u32) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, content).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// Creates a symlink `root/rel -> target`.
pub fn host_symlink(root: &Path, rel: &str, target: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, path).unwrap();
}
