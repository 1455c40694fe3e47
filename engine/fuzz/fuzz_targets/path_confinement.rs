//! Workspace path confinement: arbitrary paths given to `normalize_relative` and to a
//! workspace's `write_file`, `create_dir_all`, `read_file`, `glob`, `read_globs` and
//! `remove_path` never panic, never create, change or remove anything outside the workspace's
//! directory (the parent directory is listed before and after), never read the secret that
//! sits beside the workspace, and an accepted path normalizes to one without `..`.
//!
//! Input: up to eight lines, one path (or glob) each. The workspace is rebuilt before every
//! input with symlinks that lead outside (`up -> ..`, `abs -> <parent>`, `sub/out ->
//! ../../outside`), ones that stay inside (`sub/self -> ../sub`) and a loop.

#![no_main]

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[path = "common/scratch.rs"]
mod scratch;

use libfuzzer_sys::fuzz_target;
use subrun::workspace::Workspace;
use subrun::assets::normalize_relative;

const SECRET: &str = "fuzz-secret-6b1f0c: never read me";

struct Sandbox {
    _outer: tempfile::TempDir,
    outer: PathBuf,
    ws: Workspace,
    baseline: BTreeMap<String, String>,
}

/// `path -> kind, mode, size, content` for everything under `root` except the workspace.
fn outside_listing(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("list the sandbox") {
            let path = entry.expect("list the sandbox").path();
            let rel = path
                .strip_prefix(root)
                .expect("inside")
                .to_string_lossy()
                .into_owned();
            if rel == "ws" {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).expect("inspect");
            let desc = if meta.file_type().is_symlink() {
                format!(
                    "symlink -> {}",
                    std::fs::read_link(&path).expect("readlink").display()
                )
            } else if meta.is_dir() {
                stack.push(path.clone());
                format!("dir {:o}", meta.mode())
            } else {
                let content = std::fs::read(&path).expect("read");
                format!(
                    "file {:o} {}",
                    meta.mode(),
                    String::from_utf8_lossy(&content)
                )
            };
            out.insert(rel, desc);
        }
    }
    out
}

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let dir = scratch::scratch_dir();
        let outer = dir.path().canonicalize().expect("canonical");
        std::fs::create_dir(outer.join("ws")).expect("ws");
        std::fs::create_dir(outer.join("outside")).expect("outside");
        std::fs::write(outer.join("secret"), SECRET).expect("secret");
        std::fs::write(outer.join("outside/secret"), SECRET).expect("secret");
        let ws = Workspace::open_ambient(outer.join("ws")).expect("workspace");
        let baseline = outside_listing(&outer);
        Sandbox {
            _outer: dir,
            outer,
            ws,
            baseline,
        }
    })
}

fn reset(sb: &Sandbox) {
    sb.ws.clear().expect("clear the workspace");
    let ws = sb.ws.path();
    std::fs::create_dir_all(ws.join("sub/dir")).expect("sub");
    std::fs::write(ws.join("sub/file.txt"), "inside").expect("file");
    symlink("..", ws.join("up")).expect("symlink");
    symlink(&sb.outer, ws.join("abs")).expect("symlink");
    symlink("../../outside", ws.join("sub/out")).expect("symlink");
    symlink("../secret", ws.join("secret-link")).expect("symlink");
    symlink("../sub", ws.join("sub/self")).expect("symlink");
    symlink("loop", ws.join("loop")).expect("symlink");
}

fn check_normalized(path: &str) {
    if let Ok(n) = normalize_relative(path) {
        assert!(!n.is_empty(), "{path:?} normalized to an empty path");
        assert!(!n.starts_with('/'), "{path:?} normalized to absolute {n:?}");
        for c in n.split('/') {
            assert!(
                !matches!(c, "" | "." | ".."),
                "{path:?} normalized to {n:?}"
            );
        }
        assert_eq!(
            normalize_relative(&n).as_deref(),
            Ok(n.as_str()),
            "not idempotent"
        );
    }
}

fn no_secret(bytes: &[u8], what: &str) {
    let secret = SECRET.as_bytes();
    assert!(
        !bytes.windows(secret.len()).any(|w| w == secret),
        "{what} read the secret outside the workspace"
    );
}

fuzz_target!(|data: &[u8]| {
    let sb = sandbox();
    reset(sb);
    let text = String::from_utf8_lossy(data);
    let paths: Vec<&str> = text.split('\n').take(8).collect();
    for p in &paths {
        check_normalized(p);
        if sb.ws.write_file(p, b"fuzz").is_ok() {
            let resolved = sb.ws.check_writable(p).expect("a written path is writable");
            let host = sb.ws.path().join(&resolved);
            let meta = std::fs::symlink_metadata(&host).expect("the written file exists");
            assert!(
                meta.is_file(),
                "{p:?} wrote something that is not a file at {resolved}"
            );
        }
        let _ = sb.ws.create_dir_all(p);
        if let Ok(bytes) = sb.ws.read_file(p) {
            no_secret(&bytes, "read_file");
        }
        if let Ok(found) = sb.ws.glob(&[p]) {
            for f in &found {
                check_normalized(f);
                assert_eq!(normalize_relative(f).as_deref(), Ok(f.as_str()));
            }
        }
        if let Ok(files) = sb.ws.read_globs(&[p]) {
            for content in files.values() {
                no_secret(content.as_bytes(), "read_globs");
            }
        }
    }
    // Removal last: it may take the fixture's symlinks away.
    for p in &paths {
        let _ = sb.ws.remove_path(p);
    }
    let now = outside_listing(&sb.outer);
    assert_eq!(
        now, sb.baseline,
        "something outside the workspace changed for {paths:?}"
    );
});
