//! Workspace diffs.

use std::os::unix::fs::PermissionsExt;

use subrun::snapshot::{ContentDiff, EntryType, Snapshot, diff_snapshots};
use subrun::spec::SnapshotConfig;
use subrun::workspace::Workspace;

use crate::common::host_symlink;

fn snap(ws: &Workspace) -> Snapshot {
    Snapshot::capture(ws, &SnapshotConfig::default()).unwrap()
}

fn chmod(ws: &Workspace, rel: &str, mode: u32) {
    std::fs::set_permissions(ws.path().join(rel), std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A workspace before and after an agent's turn, touching every kind of change.
fn before_and_after() -> (Snapshot, Snapshot) {
    let ws = Workspace::create_temp().unwrap();
    ws.write_file(
        "main.py",
        "import sys\n\ndef main():\n    print('hello')\n\nmain()\n",
    )
    .unwrap();
    ws.write_file("notes.txt", "remove me\n").unwrap();
    ws.write_file("data.bin", [0u8, 1, 2, 3]).unwrap();
    ws.write_file("run.sh", "#!/bin/sh\n").unwrap();
    chmod(&ws, "run.sh", 0o644);
    host_symlink(ws.path(), "current", "main.py");
    for f in ["main.py", "notes.txt", "data.bin"] {
        chmod(&ws, f, 0o644);
    }
    let old = snap(&ws);

    ws.write_file(
        "main.py",
        "import sys\n\ndef main():\n    print('hello, world')\n    return 0\n\nmain()\n",
    )
    .unwrap();
    ws.remove_path("notes.txt").unwrap();
    ws.write_file("data.bin", [0u8, 1, 2, 3, 4, 5, 6, 7])
        .unwrap();
    chmod(&ws, "run.sh", 0o755);
    ws.remove_path("current").unwrap();
    host_symlink(ws.path(), "current", "run.sh");
    ws.write_file("out/result.txt", "42\n").unwrap();
    ws.write_file("out/image.bin", [0xffu8, 0xd8, 0xff])
        .unwrap();
    chmod(&ws, "out", 0o755);
    chmod(&ws, "out/result.txt", 0o644);
    chmod(&ws, "out/image.bin", 0o600);
    (old, snap(&ws))
}

#[test]
fn created_deleted_and_modified_entries_are_listed() {
    let (old, new) = before_and_after();
    let d = diff_snapshots(&old, &new);
    let names =
        |v: &[subrun::snapshot::FileDiff]| v.iter().map(|f| f.path.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&d.created),
        ["out", "out/image.bin", "out/result.txt"]
    );
    assert_eq!(names(&d.deleted), ["notes.txt"]);
    assert_eq!(
        names(&d.modified),
        ["current", "data.bin", "main.py", "run.sh"]
    );

    let main = d.modified.iter().find(|f| f.path == "main.py").unwrap();
    let ContentDiff::Text {
        unified,
        added,
        removed,
    } = &main.content
    else {
        panic!("main.py should be a text diff: {main:?}");
    };
    assert_eq!((*added, *removed), (2, 1));
    assert!(
        unified.starts_with("--- a/main.py\n+++ b/main.py\n@@"),
        "{unified}"
    );
    assert!(unified.contains("-    print('hello')\n+    print('hello, world')\n+    return 0\n"));

    let bin = d.modified.iter().find(|f| f.path == "data.bin").unwrap();
    assert_eq!(
        bin.content,
        ContentDiff::Binary {
            old_size: Some(4),
            new_size: Some(8)
        }
    );

    let run = d.modified.iter().find(|f| f.path == "run.sh").unwrap();
    assert_eq!(run.old.as_ref().unwrap().mode.as_deref(), Some("0644"));
    assert_eq!(run.new.as_ref().unwrap().mode.as_deref(), Some("0755"));
    assert!(matches!(
        run.content,
        ContentDiff::Text {
            added: 0,
            removed: 0,
            ..
        }
    ));

    let link = d.modified.iter().find(|f| f.path == "current").unwrap();
    assert_eq!(link.new.as_ref().unwrap().entry_type, EntryType::Symlink);
    assert_eq!(link.new.as_ref().unwrap().target.as_deref(), Some("run.sh"));
    assert_eq!(link.content, ContentDiff::None);

    let created = d
        .created
        .iter()
        .find(|f| f.path == "out/result.txt")
        .unwrap();
    let ContentDiff::Text { unified, added, .. } = &created.content else {
        panic!("{created:?}");
    };
    assert_eq!(*added, 1);
    assert!(unified.starts_with("--- /dev/null\n+++ b/out/result.txt\n"));

    let deleted = &d.deleted[0];
    assert!(matches!(
        deleted.content,
        ContentDiff::Text {
            added: 0,
            removed: 1,
            ..
        }
    ));
    assert_eq!((d.lines_added(), d.lines_removed()), (3, 2));
}

#[test]
fn nothing_changed_is_an_empty_diff() {
    let (old, _) = before_and_after();
    let d = diff_snapshots(&old, &old);
    assert!(d.is_empty());
    assert_eq!(d.to_string(), "");
}

#[test]
fn text_with_nul_bytes_counts_as_binary() {
    let ws = Workspace::create_temp().unwrap();
    ws.write_file("a", "plain\n").unwrap();
    let old = snap(&ws);
    ws.write_file("a", "plain\0\n").unwrap();
    let d = diff_snapshots(&old, &snap(&ws));
    assert_eq!(
        d.modified[0].content,
        ContentDiff::Binary {
            old_size: Some(6),
            new_size: Some(7)
        }
    );
}

#[test]
fn the_diff_serializes_to_json() {
    let (old, new) = before_and_after();
    let d = diff_snapshots(&old, &new);
    let json = serde_json::to_value(&d).unwrap();
    let bin = json["modified"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "data.bin")
        .unwrap();
    assert_eq!(
        bin["content"],
        serde_json::json!({"kind": "binary", "old_size": 4, "new_size": 8})
    );
    assert_eq!(
        bin["old"],
        serde_json::json!({"type": "file", "mode": "0644", "size": 4})
    );
    let back: subrun::snapshot::WorkspaceDiff = serde_json::from_value(json).unwrap();
    assert_eq!(back, d);
}

#[test]
fn rendered_diff() {
    let (old, new) = before_and_after();
    insta::assert_snapshot!(diff_snapshots(&old, &new).to_string());
}
