//! Workspace confinement, globs, imports and removal.

use std::os::unix::fs::PermissionsExt;

use subrun::FileContent;
use subrun::workspace::{Workspace, WorkspaceError};

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

/// Regression (hardening round 2): the import checked a symlink's target lexically only, so
/// `sneaky -> sub/up/../secret` was copied although `sub/up -> ../..` makes it resolve
/// outside the imported tree.
#[test]
fn import_leaves_out_a_symlink_that_resolves_outside_through_another_symlink() {
    let host = tempfile::tempdir().unwrap();
    let root = host.path().join("initial");
    host_file(&root, "sub/real/f.txt", b"inside", 0o644);
    host_symlink(&root, "sub/up", "../..");
    host_symlink(&root, "sneaky", "sub/up/../secret");
    host_symlink(&root, "fine", "sub/real/../real/f.txt");
    host_symlink(&root, "dangling", "sub/missing/f.txt");
    std::fs::write(host.path().join("secret"), SECRET).unwrap();

    let ws = Workspace::create_temp().unwrap();
    let summary = ws.import_host_dir(&root).unwrap();
    let skipped: Vec<(&str, &str)> = summary
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            (
                "sneaky",
                "symlink to `sub/up/../secret` resolves outside the workspace through another symlink"
            ),
            ("sub/up", "symlink to `../..` leads outside the workspace"),
        ]
    );
    let l = listing(ws.path());
    assert!(!l.contains_key("sneaky"), "{l:?}");
    assert_eq!(
        ws.read_file("fine").unwrap(),
        b"inside",
        "a link through `..` that stays inside is kept"
    );
    assert!(
        l.contains_key("dangling"),
        "a dangling link inside is kept: {l:?}"
    );
}

/// Regression (hardening round 2): a 2 GiB sparse file in a submission was copied byte by
/// byte (holes written as zeros) until the workspace copy had filled 921 MiB of the host's
/// disk. The import now adds up the files' lengths first and refuses before writing.
#[test]
fn import_of_a_sparse_file_past_the_bound_is_refused_before_anything_is_written() {
    let host = tempfile::tempdir().unwrap();
    let root = host.path().join("submission");
    host_file(&root, "main.py", b"print('hi')\n", 0o644);
    let holes = std::fs::File::create(root.join("holes.bin")).unwrap();
    holes.set_len(2 << 30).unwrap();
    drop(holes);

    let ws = Workspace::create_temp().unwrap();
    let err = ws.import_host_dir(&root).unwrap_err();
    let WorkspaceError::Limit(limit) = &err else {
        panic!("not a limit error: {err}");
    };
    assert_eq!(limit.setting, "max_import_bytes", "{err}");
    assert!(err.to_string().contains("2147483660 bytes"), "{err}");
    assert!(listing(ws.path()).is_empty(), "the import wrote something");

    // The same bound holds for one file and for a tree given by path (agent-mode assets).
    let err = ws
        .copy_host_path(root.join("holes.bin"), "static/holes.bin")
        .unwrap_err();
    assert!(matches!(err, WorkspaceError::Limit(_)), "{err}");
    let err = ws.copy_host_path(&root, "static/sub").unwrap_err();
    assert!(matches!(err, WorkspaceError::Limit(_)), "{err}");
    assert!(listing(ws.path()).is_empty(), "a copy wrote something");

    // Under a larger bound the same import goes through.
    let ws = Workspace::create_temp()
        .unwrap()
        .with_limits(subrun::workspace::WorkspaceLimits::default().with_max_import_bytes(3 << 30));
    let big = tempfile::tempdir().unwrap();
    host_file(big.path(), "a.txt", b"12345", 0o644);
    ws.import_host_dir(big.path()).unwrap();
    assert_eq!(ws.read_file("a.txt").unwrap(), b"12345");
}

/// Regression (hardening round 2): temporary workspaces were created mode 0755 straight in
/// the temporary directory, so any host user could read what a guest wrote, or run a setuid
/// file a container's root left there. They now live in a private 0700 parent named after
/// their owner.
#[test]
fn a_temporary_workspace_lives_in_a_private_parent_named_after_its_owner() {
    let ws = Workspace::create_temp().unwrap();
    let parent = ws.path().parent().unwrap().to_path_buf();
    let mode = std::fs::metadata(&parent).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o700, "{}", parent.display());
    let name = parent.file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.starts_with(&format!("subrun-ws-{}-", std::process::id())),
        "{name}"
    );
    assert!(subrun::tempdirs::is_private_name(
        parent.file_name().unwrap()
    ));
    ws.write_file("f.txt", "x").unwrap();
    drop(ws);
    assert!(!parent.exists(), "the private parent was left behind");
}
