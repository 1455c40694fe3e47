//! Workspace confinement, globs, imports and removal.

use std::os::unix::fs::PermissionsExt;

use subrun::{FileContent, Workspace, WorkspaceError};

use crate::common::{SECRET, Sandbox, host_file, host_symlink, listing};

#[test]
fn files_are_written_and_read_with_parents_created() {
    let ws = Workspace::create_temp().unwrap();
    ws.write_file("a/b/c.txt", "hello").unwrap();
    assert_eq!(ws.read_file("a/b/c.txt").unwrap(), b"hello");
    assert_eq!(ws.read_file("./a//b/c.txt").unwrap(), b"hello");
    assert_eq!(
        std::fs::read_to_string(ws.path().join("a/b/c.txt")).unwrap(),
        "hello"
    );
}

#[test]
fn dotdot_and_absolute_paths_are_refused_and_touch_nothing_outside() {
    let sb = Sandbox::new();
    let before = sb.outside_listing();
    for bad in ["../secret", "a/../../secret", "/etc/passwd", "", "."] {
        let err = sb.ws.write_file(bad, "pwned").unwrap_err();
        assert!(
            matches!(err, WorkspaceError::Confinement { ref path, .. } if path == bad),
            "{bad}: {err}"
        );
        let err = sb.ws.read_file(bad).unwrap_err();
        assert!(
            matches!(err, WorkspaceError::Confinement { .. }),
            "{bad}: {err}"
        );
    }
    let abs = sb.outer().join("secret");
    let err = sb
        .ws
        .write_file(abs.to_str().unwrap(), "pwned")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "path `{}` is absolute: expected a relative path",
            abs.display()
        )
    );
    assert_eq!(sb.outside_listing(), before);
}

#[test]
fn symlinks_leading_outside_are_refused_for_reads_and_writes() {
    let sb = Sandbox::new();
    host_symlink(sb.ws.path(), "out.txt", "../secret");
    host_symlink(sb.ws.path(), "escape", "../outside_dir");
    host_symlink(sb.ws.path(), "abs", sb.outer().to_str().unwrap());
    host_symlink(sb.ws.path(), "sub/up", "../..");
    let before = sb.outside_listing();

    let err = sb.ws.read_file("out.txt").unwrap_err();
    assert_eq!(
        err.to_string(),
        "path `out.txt` leads outside the workspace through symlink `out.txt` -> `../secret`"
    );
    for path in ["escape/new.txt", "abs/secret", "sub/up/secret", "out.txt"] {
        let err = sb.ws.write_file(path, "pwned").unwrap_err();
        assert!(
            matches!(err, WorkspaceError::Confinement { .. }),
            "{path}: {err}"
        );
        assert!(sb.ws.read_file(path).is_err(), "{path} was read");
    }
    assert_eq!(sb.outside_listing(), before);
    assert_eq!(
        std::fs::read_to_string(sb.outer().join("secret")).unwrap(),
        SECRET
    );
}

#[test]
fn symlinks_inside_are_followed_within_the_workspace() {
    let ws = Workspace::create_temp().unwrap();
    ws.create_dir_all("real").unwrap();
    host_symlink(ws.path(), "link", "real");
    host_symlink(ws.path(), "deep/up", "../real");
    ws.write_file("link/a.txt", "via link").unwrap();
    assert_eq!(
        std::fs::read_to_string(ws.path().join("real/a.txt")).unwrap(),
        "via link"
    );
    assert_eq!(ws.read_file("deep/up/a.txt").unwrap(), b"via link");
}

#[test]
fn globs_list_regular_files_only_sorted_and_never_follow_symlinks() {
    let sb = Sandbox::new();
    let ws = &sb.ws;
    ws.write_file("b.txt", "b").unwrap();
    ws.write_file("a.txt", "a").unwrap();
    ws.write_file("dir/c.txt", "c").unwrap();
    ws.write_file("dir/d.bin", [0xffu8, 0xfe]).unwrap();
    host_symlink(ws.path(), "out.txt", "../../secret");
    host_symlink(ws.path(), "inside.txt", "a.txt");
    host_symlink(ws.path(), "linkdir", "../outside_dir");
    host_file(sb.outer(), "outside_dir/x.txt", b"outside", 0o644);

    assert_eq!(ws.glob(&["*.txt"]).unwrap(), ["a.txt", "b.txt"]);
    assert_eq!(
        ws.glob(&["**/*.txt"]).unwrap(),
        ["a.txt", "b.txt", "dir/c.txt"]
    );
    assert_eq!(ws.glob(&["**"]).unwrap().len(), 4);
    let files = ws.read_globs(&["**"]).unwrap();
    assert_eq!(files["dir/c.txt"], FileContent::Text("c".into()));
    assert_eq!(files["dir/d.bin"], FileContent::Bytes(vec![0xff, 0xfe]));
    for (path, content) in &files {
        let text = String::from_utf8_lossy(content.as_bytes());
        assert!(
            !text.contains("secret") && !text.contains("outside"),
            "{path}"
        );
    }
    assert!(!files.contains_key("out.txt"));

    for bad in ["../*", "/etc/*", "a/../../*", "[", ""] {
        let err = ws.glob(&[bad]).unwrap_err();
        assert!(matches!(err, WorkspaceError::Glob { .. }), "{bad}: {err}");
    }
    assert_eq!(
        ws.glob(&["../*"]).unwrap_err().to_string(),
        "glob `../*` contains `..`: globs may not leave the workspace"
    );
}

#[test]
fn import_copies_modes_dirs_and_inside_symlinks_and_leaves_the_original_alone() {
    let host = tempfile::tempdir().unwrap();
    let root = host.path().join("initial");
    host_file(&root, "run.sh", b"#!/bin/sh\necho hi\n", 0o755);
    host_file(&root, "data/readonly.txt", b"ro", 0o444);
    std::fs::create_dir_all(root.join("empty/nested")).unwrap();
    host_symlink(&root, "data/link", "readonly.txt");
    host_symlink(&root, "escape", "../secret");
    host_symlink(&root, "absolute", "/etc/passwd");
    std::fs::write(host.path().join("secret"), SECRET).unwrap();
    let before = listing(&root);

    let ws = Workspace::create_temp().unwrap();
    let summary = ws.import_host_dir(&root).unwrap();
    assert_eq!(listing(&root), before, "the original changed");
    assert_eq!((summary.files, summary.dirs, summary.symlinks), (2, 3, 1));
    let skipped: Vec<&str> = summary.skipped.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(skipped, ["absolute", "escape"]);

    let mut expected = before;
    expected.remove("escape");
    expected.remove("absolute");
    assert_eq!(listing(ws.path()), expected);
}

#[test]
fn copy_host_path_copies_a_file_or_a_tree_to_a_relative_path() {
    let host = tempfile::tempdir().unwrap();
    let file = host_file(host.path(), "fixture.csv", b"a,b\n", 0o640);
    host_file(host.path(), "tree/x/y.txt", b"y", 0o644);
    let ws = Workspace::create_temp().unwrap();
    ws.copy_host_path(&file, "static/fixture.csv").unwrap();
    ws.copy_host_path(host.path().join("tree"), "static/tree")
        .unwrap();
    let l = listing(ws.path());
    assert_eq!(l["static/fixture.csv"], "file 640 a,b\n");
    assert_eq!(l["static/tree/x/y.txt"], "file 644 y");
    assert!(matches!(
        ws.copy_host_path(&file, "../x").unwrap_err(),
        WorkspaceError::Confinement { .. }
    ));
}

#[test]
fn a_temporary_workspace_is_removed_on_drop_even_with_read_only_dirs() {
    let ws = Workspace::create_temp().unwrap();
    let path = ws.path().to_path_buf();
    ws.write_file("ro/inner/f.txt", "x").unwrap();
    for d in ["ro/inner", "ro"] {
        std::fs::set_permissions(path.join(d), std::fs::Permissions::from_mode(0o500)).unwrap();
    }
    host_symlink(&path, "out", "/");
    assert!(ws.is_temporary());
    drop(ws);
    assert!(!path.exists(), "{} still exists", path.display());
}

#[test]
fn an_ambient_workspace_is_kept_on_drop_and_clear_empties_it() {
    let sb = Sandbox::new();
    sb.ws.write_file("a/b.txt", "x").unwrap();
    host_symlink(sb.ws.path(), "out", "../outside_dir");
    host_file(sb.outer(), "outside_dir/keep.txt", b"keep", 0o644);
    sb.ws.clear().unwrap();
    assert!(listing(sb.ws.path()).is_empty());
    assert_eq!(
        std::fs::read_to_string(sb.outer().join("outside_dir/keep.txt")).unwrap(),
        "keep"
    );
    let path = sb.ws.path().to_path_buf();
    drop(sb.ws);
    assert!(path.is_dir());
}
