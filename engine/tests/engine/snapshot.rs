//! Snapshots: canonical checksums, exact restore, confinement of archives.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;

use proptest::prelude::*;
use sha2::Digest;
use subrun::snapshot::{EntryKind, Snapshot, SnapshotError};
use subrun::spec::Compression;
use subrun::spec::SnapshotConfig;
use subrun::workspace::Workspace;

use crate::common::{SECRET, Sandbox, host_file, host_symlink, listing};

const ALL: [Compression; 4] = [
    Compression::None,
    Compression::Gz,
    Compression::Bz2,
    Compression::Xz,
];

fn config(compression: Compression) -> SnapshotConfig {
    SnapshotConfig {
        compression,
        ..SnapshotConfig::default()
    }
}

fn globs(keep: &[&str], ignore: &[&str]) -> SnapshotConfig {
    SnapshotConfig {
        keep_globs: keep.iter().map(ToString::to_string).collect(),
        ignore_globs: ignore.iter().map(ToString::to_string).collect(),
        ..SnapshotConfig::default()
    }
}

fn sample_tree(ws: &Workspace) {
    let root = ws.path();
    host_file(root, "main.py", b"print('hi')\n", 0o644);
    host_file(root, "run.sh", b"#!/bin/sh\n", 0o755);
    host_file(root, "data/blob.bin", &[0, 1, 2, 255], 0o600);
    host_file(root, "data/ro.txt", b"read only", 0o444);
    std::fs::create_dir_all(root.join("empty/nested")).unwrap();
    std::fs::set_permissions(root.join("empty"), std::fs::Permissions::from_mode(0o700)).unwrap();
    host_symlink(root, "data/link", "ro.txt");
    host_symlink(root, "up", "data/../main.py");
}

fn paths(s: &Snapshot) -> Vec<&str> {
    s.entries().iter().map(|e| e.path.as_str()).collect()
}

fn untar(s: &Snapshot) -> Vec<u8> {
    let mut out = Vec::new();
    let bytes = s.archive();
    match s.compression() {
        Compression::None => out = bytes.to_vec(),
        Compression::Gz => {
            flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut out)
                .unwrap();
        }
        Compression::Bz2 => {
            bzip2::read::BzDecoder::new(bytes)
                .read_to_end(&mut out)
                .unwrap();
        }
        Compression::Xz => {
            xz2::read::XzDecoder::new(bytes)
                .read_to_end(&mut out)
                .unwrap();
        }
    }
    out
}

#[test]
fn restore_is_exact_in_every_compression() {
    let src = Workspace::create_temp().unwrap();
    sample_tree(&src);
    for c in ALL {
        let snap = Snapshot::capture(&src, &config(c)).unwrap();
        assert_eq!(snap.compression(), c);
        assert!(snap.skipped().is_empty(), "{:?}", snap.skipped());
        let dst = Workspace::create_temp().unwrap();
        snap.restore_into(&dst).unwrap();
        assert_eq!(listing(dst.path()), listing(src.path()), "{c}");
        let again = Snapshot::capture(&dst, &config(c)).unwrap();
        assert_eq!(again.checksum(), snap.checksum(), "{c}");
        assert_eq!(again.archive(), snap.archive(), "{c}");
    }
}

#[test]
fn identical_content_has_one_checksum_whenever_and_however_it_is_captured() {
    let a = Workspace::create_temp().unwrap();
    sample_tree(&a);
    let first = Snapshot::capture(&a, &config(Compression::Gz)).unwrap();

    // The same content built again elsewhere, later, with other timestamps.
    let b = Workspace::create_temp().unwrap();
    sample_tree(&b);
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    std::fs::File::options()
        .write(true)
        .open(b.path().join("main.py"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let mut checksums = Vec::new();
    for c in ALL {
        let snap = Snapshot::capture(&b, &config(c)).unwrap();
        checksums.push(snap.checksum().to_string());
        let reread = Snapshot::from_archive_bytes(snap.archive().to_vec()).unwrap();
        assert_eq!(reread.compression(), c);
        assert_eq!(reread.checksum(), snap.checksum());
        assert_eq!(reread.entries(), snap.entries());
    }
    assert!(
        checksums.iter().all(|c| c == first.checksum()),
        "{checksums:?}"
    );

    // The checksum is the sha256 of the uncompressed canonical tar.
    let plain = Snapshot::capture(&b, &config(Compression::None)).unwrap();
    assert_eq!(
        hex::encode(sha2::Sha256::digest(plain.archive())),
        plain.checksum()
    );
    // Changing one byte changes it.
    b.write_file("main.py", "print('ho')\n").unwrap();
    let changed = Snapshot::capture(&b, &config(Compression::Gz)).unwrap();
    assert_ne!(changed.checksum(), first.checksum());
}

#[test]
fn the_tar_is_canonical() {
    let ws = Workspace::create_temp().unwrap();
    sample_tree(&ws);
    let long = format!("{}/file.txt", "d".repeat(120));
    ws.write_file(&long, "long name").unwrap();
    let snap = Snapshot::capture(&ws, &config(Compression::Xz)).unwrap();
    let tar = untar(&snap);
    let mut archive = tar::Archive::new(&tar[..]);
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let h = entry.header();
        assert_eq!(h.mtime().unwrap(), 0);
        assert_eq!(h.uid().unwrap(), 0);
        assert_eq!(h.gid().unwrap(), 0);
        assert_eq!(h.username().unwrap(), Some(""));
        assert_eq!(h.groupname().unwrap(), Some(""));
        names.push(
            String::from_utf8(entry.path_bytes().into_owned())
                .unwrap()
                .trim_end_matches('/')
                .to_string(),
        );
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(names.contains(&long));
    assert_eq!(snap.entry_count(), names.len());
}

#[test]
fn symlinks_leading_outside_are_skipped_never_followed() {
    let sb = Sandbox::new();
    sb.ws.write_file("ok.txt", "ok").unwrap();
    host_symlink(sb.ws.path(), "out.txt", "../../secret");
    host_symlink(
        sb.ws.path(),
        "abs",
        sb.outer().join("secret").to_str().unwrap(),
    );
    host_symlink(sb.ws.path(), "dir/escape", "../../outside_dir");
    let snap = Snapshot::capture(&sb.ws, &config(Compression::None)).unwrap();
    assert_eq!(paths(&snap), ["dir", "ok.txt"]);
    let skipped: Vec<&str> = snap.skipped().iter().map(|s| s.path.as_str()).collect();
    assert_eq!(skipped, ["abs", "dir/escape", "out.txt"]);
    assert!(
        snap.skipped()[2]
            .reason
            .contains("leads outside the workspace")
    );
    let tar = String::from_utf8_lossy(snap.archive()).into_owned();
    assert!(!tar.contains(SECRET));
}

#[test]
fn keep_and_ignore_globs_filter_entries() {
    let ws = Workspace::create_temp().unwrap();
    ws.write_file("main.py", "x").unwrap();
    ws.write_file("notes.txt", "x").unwrap();
    ws.write_file("pkg/mod.py", "x").unwrap();
    ws.write_file("pkg/__pycache__/mod.pyc", "x").unwrap();
    ws.write_file("build/out.o", "x").unwrap();
    ws.create_dir_all("empty").unwrap();

    let all = Snapshot::capture(&ws, &SnapshotConfig::default()).unwrap();
    assert_eq!(all.entry_count(), 9);

    let keep = Snapshot::capture(&ws, &globs(&["**/*.py"], &[])).unwrap();
    assert_eq!(paths(&keep), ["main.py", "pkg", "pkg/mod.py"]);

    let ignore = Snapshot::capture(&ws, &globs(&[], &["build", "**/*.pyc"])).unwrap();
    assert_eq!(
        paths(&ignore),
        ["empty", "main.py", "notes.txt", "pkg", "pkg/mod.py"]
    );

    let both = Snapshot::capture(&ws, &globs(&["pkg/**"], &["**/__pycache__"])).unwrap();
    assert_eq!(paths(&both), ["pkg", "pkg/mod.py"]);

    let err = Snapshot::capture(&ws, &globs(&["../*"], &[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "snapshot.keep_globs[0]: glob `../*` contains `..`: globs may not leave the workspace"
    );
}

#[test]
fn restore_into_replaces_everything_and_extract_into_overlays() {
    let src = Workspace::create_temp().unwrap();
    src.write_file("a.txt", "from snapshot").unwrap();
    let snap = Snapshot::capture(&src, &SnapshotConfig::default()).unwrap();

    let sb = Sandbox::new();
    sb.ws.write_file("stray.txt", "old").unwrap();
    // A guest left `a.txt` as a symlink to a file outside: restoring must replace the link,
    // not write through it.
    host_symlink(sb.ws.path(), "a.txt", "../secret");
    snap.extract_into(&sb.ws).unwrap();
    let l = listing(sb.ws.path());
    assert_eq!(l["a.txt"], "file 644 from snapshot");
    assert_eq!(l["stray.txt"], "file 644 old");
    assert_eq!(
        std::fs::read_to_string(sb.outer().join("secret")).unwrap(),
        SECRET
    );

    snap.restore_into(&sb.ws).unwrap();
    assert_eq!(listing(sb.ws.path()), listing(src.path()));
}

#[test]
fn archives_are_written_and_read_back_from_disk() {
    let ws = Workspace::create_temp().unwrap();
    sample_tree(&ws);
    let snap = Snapshot::capture(&ws, &config(Compression::Bz2)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = snap.write_to_dir(out.path().join("exports")).unwrap();
    assert_eq!(
        path.file_name().unwrap().to_str().unwrap(),
        format!("snapshot-{}.tar.bz2", &snap.checksum()[..16])
    );
    let back = Snapshot::from_path(&path).unwrap();
    assert_eq!(back.checksum(), snap.checksum());
    assert_eq!(back.compression(), Compression::Bz2);
    let err = Snapshot::from_path(out.path().join("missing.tar")).unwrap_err();
    assert!(matches!(err, SnapshotError::Io { .. }), "{err}");
}

// ---- hostile and broken archives ----

/// A tar member with raw name, type, link name and data, bypassing the tar crate's checks.
fn raw_member(
    builder: &mut tar::Builder<Vec<u8>>,
    name: &str,
    kind: tar::EntryType,
    link: &str,
    data: &[u8],
) {
    let mut h = tar::Header::new_gnu();
    {
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_cksum();
    builder.append(&h, data).unwrap();
}

fn hostile(members: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    raw_member(&mut b, "fine.txt", tar::EntryType::Regular, "", b"fine");
    for (name, kind, link) in members {
        let data: &[u8] = if *kind == tar::EntryType::Regular {
            b"pwned"
        } else {
            b""
        };
        raw_member(&mut b, name, *kind, link, data);
    }
    b.into_inner().unwrap()
}

#[test]
fn escaping_members_are_refused_before_anything_is_written() {
    use tar::EntryType::{Block, Fifo, Link, Regular, Symlink};
    type Members<'a> = &'a [(&'a str, tar::EntryType, &'a str)];
    let cases: &[(Members<'_>, &str)] = &[
        (&[("../evil.txt", Regular, "")], "contains `..`"),
        (&[("a/../../evil.txt", Regular, "")], "contains `..`"),
        (&[("/tmp/evil.txt", Regular, "")], "is absolute"),
        (
            &[("link", Symlink, "../../secret")],
            "leads outside the workspace",
        ),
        (
            &[("link", Symlink, "/etc/passwd")],
            "leads outside the workspace",
        ),
        (
            &[("hard", Link, "../secret")],
            "is a hard link to `../secret`",
        ),
        (
            &[("hard", Link, "/etc/passwd")],
            "is a hard link to `/etc/passwd`",
        ),
        (
            &[("dir", Symlink, "sub"), ("dir/x.txt", Regular, "")],
            "lies under the symlink member `dir`",
        ),
        (&[("dev", Block, "")], "is a block device"),
        (&[("fifo", Fifo, "")], "is a FIFO"),
    ];
    for (members, expected) in cases {
        let sb = Sandbox::new();
        sb.ws.write_file("existing.txt", "keep").unwrap();
        let before_ws = listing(sb.ws.path());
        let before_out = sb.outside_listing();
        let err = Snapshot::from_archive_bytes(hostile(members)).unwrap_err();
        assert!(
            matches!(
                err,
                SnapshotError::UnsafeMember { .. } | SnapshotError::UnsupportedMember { .. }
            ),
            "{members:?}: {err}"
        );
        assert!(err.to_string().contains(expected), "{members:?}: {err}");
        assert_eq!(listing(sb.ws.path()), before_ws);
        assert_eq!(sb.outside_listing(), before_out);
    }
    // A hard link to an earlier file inside is restored as a copy.
    let ok = Snapshot::from_archive_bytes(hostile(&[("copy.txt", Link, "fine.txt")])).unwrap();
    let copy = ok.entry("copy.txt").unwrap();
    assert!(matches!(&copy.kind, EntryKind::File { content, .. } if &content[..] == b"fine"));
}

#[test]
fn truncated_or_corrupt_archives_give_precise_errors() {
    let ws = Workspace::create_temp().unwrap();
    sample_tree(&ws);
    ws.write_file("big.txt", "x".repeat(5000)).unwrap();
    for c in ALL {
        let snap = Snapshot::capture(&ws, &config(c)).unwrap();
        let bytes = snap.archive();
        for cut in [bytes.len() / 2, bytes.len() - 10] {
            let err = Snapshot::from_archive_bytes(bytes[..cut].to_vec()).unwrap_err();
            let ok = matches!(
                (&err, c),
                (
                    SnapshotError::Truncated { .. } | SnapshotError::Corrupt { .. },
                    Compression::None
                ) | (SnapshotError::Decompress { .. }, _)
            );
            assert!(ok, "{c} cut at {cut}: {err}");
        }
    }
    // A plain tar cut exactly between members (no end-of-archive block).
    let snap = Snapshot::capture(&ws, &config(Compression::None)).unwrap();
    let tar = snap.archive();
    let err = Snapshot::from_archive_bytes(tar[..tar.len() - 1024].to_vec()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("truncated snapshot archive: the stream stops at byte"),
        "{err}"
    );
    // A member cut inside its data.
    let err = Snapshot::from_archive_bytes(tar[..1024 + 700].to_vec()).unwrap_err();
    assert!(matches!(err, SnapshotError::Truncated { .. }), "{err}");
    // A flipped byte in a header.
    let mut bad = tar.to_vec();
    bad[10] ^= 0x55;
    let err = Snapshot::from_archive_bytes(bad).unwrap_err();
    assert!(matches!(err, SnapshotError::Corrupt { .. }), "{err}");
    // Not an archive at all.
    let err = Snapshot::from_archive_bytes(b"hello".to_vec()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unrecognized snapshot archive: expected tar, tar.gz, tar.bz2 or tar.xz, found 5 bytes (a tar archive is at least 512 bytes)"
    );
}

#[test]
fn a_failed_read_leaves_the_target_workspace_unchanged() {
    let src = Workspace::create_temp().unwrap();
    sample_tree(&src);
    let snap = Snapshot::capture(&src, &config(Compression::Gz)).unwrap();
    let target = Workspace::create_temp().unwrap();
    target.write_file("mine.txt", "mine").unwrap();
    let before = listing(target.path());
    let cut = &snap.archive()[..snap.archive().len() - 20];
    let result = Snapshot::from_archive_bytes(cut.to_vec()).and_then(|s| s.restore_into(&target));
    assert!(result.is_err());
    assert_eq!(listing(target.path()), before);
}

/// An archive with one regular member `name` holding `data` (GNU long names as needed).
fn archive_with(name: &str, data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, name, data).unwrap();
    b.into_inner().unwrap()
}

/// Regression: reading an archive accepted member names no filesystem stores, and
/// `restore_into` emptied the workspace before writing, so an archive with a 300-byte name
/// component wiped everything the target workspace held and then failed. Such names are now
/// refused when the archive is read, naming the member; and a restore writes into a staging
/// directory before it touches the workspace (see `snapshot::restore` unit tests).
#[test]
fn restore_of_a_member_name_too_long_for_the_filesystem_is_refused_and_wipes_nothing() {
    let target = Workspace::create_temp().unwrap();
    target.write_file("precious.txt", "keep me").unwrap();
    target.write_file("dir/nested.txt", "me too").unwrap();
    let before = listing(target.path());
    let long_component = format!("{}/x.txt", "n".repeat(300));
    let long_path = format!("{}x.txt", "d/".repeat(2100));
    for (name, expected) in [
        (
            long_component.as_str(),
            "has a name component of 300 bytes: filesystems allow at most 255",
        ),
        (
            long_path.as_str(),
            "is 4205 bytes long: paths in a snapshot are at most 4000 bytes",
        ),
    ] {
        for bytes in [archive_with(name, b"hi"), gz(&archive_with(name, b"hi"))] {
            let err = Snapshot::from_archive_bytes(bytes)
                .and_then(|s| s.restore_into(&target))
                .unwrap_err();
            assert!(matches!(err, SnapshotError::PathTooLong { .. }), "{err}");
            let msg = err.to_string();
            assert!(msg.starts_with("snapshot member `"), "{msg}");
            assert!(msg.ends_with(expected), "{msg}");
            assert!(
                msg.len() < 300,
                "the message should shorten the name: {msg}"
            );
        }
        assert_eq!(listing(target.path()), before, "the workspace changed");
    }
}

/// A capture refuses a path no restore could write, naming it, instead of producing a
/// snapshot that cannot be restored.
#[test]
fn capture_refuses_a_path_longer_than_a_restore_can_write() {
    let ws = Workspace::create_temp().unwrap();
    let mut d = ws.dir().try_clone().unwrap();
    for _ in 0..20 {
        let name = "n".repeat(250);
        d.create_dir(&name).unwrap();
        d = d.open_dir(&name).unwrap();
    }
    let err = Snapshot::capture(&ws, &config(Compression::Gz)).unwrap_err();
    assert!(matches!(err, SnapshotError::PathTooLong { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("paths in a snapshot are at most 4000 bytes"),
        "{err}"
    );
}

fn gz(tar: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(tar).unwrap();
    enc.finish().unwrap()
}

// ---- property: random trees round-trip exactly ----

#[derive(Clone, Debug)]
enum Node {
    Dir {
        parent: usize,
        name: String,
        mode: u32,
    },
    File {
        parent: usize,
        name: String,
        mode: u32,
        content: Vec<u8>,
    },
    Link {
        parent: usize,
        name: String,
        target: usize,
    },
}

fn node() -> impl Strategy<Value = Node> {
    let name = "[a-c]{1,2}(\\.txt)?";
    prop_oneof![
        (
            any::<usize>(),
            name,
            prop::sample::select(vec![0o755u32, 0o700, 0o750, 0o555])
        )
            .prop_map(|(parent, name, mode)| Node::Dir { parent, name, mode }),
        (
            any::<usize>(),
            name,
            prop::sample::select(vec![0o644u32, 0o600, 0o755, 0o444, 0o640]),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(parent, name, mode, content)| Node::File {
                parent,
                name,
                mode,
                content
            }),
        (any::<usize>(), name, any::<usize>()).prop_map(|(parent, name, target)| Node::Link {
            parent,
            name,
            target
        }),
    ]
}

/// Builds the random tree in `ws`: every parent index picks an already created directory
/// (or the root), names that collide are dropped, symlinks point (relatively) at an
/// already created entry. Directory modes are set last.
fn build(ws: &Workspace, nodes: &[Node]) {
    let root = ws.path();
    let mut dirs: Vec<String> = vec![String::new()];
    let mut made: Vec<String> = Vec::new();
    let mut modes = Vec::new();
    let join = |d: &str, n: &str| {
        if d.is_empty() {
            n.to_string()
        } else {
            format!("{d}/{n}")
        }
    };
    for n in nodes {
        let (parent, name) = match n {
            Node::Dir { parent, name, .. }
            | Node::File { parent, name, .. }
            | Node::Link { parent, name, .. } => (parent, name),
        };
        let dir = dirs[parent % dirs.len()].clone();
        let path = join(&dir, name);
        if root.join(&path).symlink_metadata().is_ok() {
            continue;
        }
        match n {
            Node::Dir { mode, .. } => {
                std::fs::create_dir(root.join(&path)).unwrap();
                modes.push((path.clone(), *mode));
                dirs.push(path.clone());
            }
            Node::File { mode, content, .. } => {
                host_file(root, &path, content, *mode);
            }
            Node::Link { target, .. } => {
                let t = if made.is_empty() {
                    "missing".to_string()
                } else {
                    made[target % made.len()].clone()
                };
                let depth = dir.split('/').filter(|s| !s.is_empty()).count();
                let rel = format!("{}{t}", "../".repeat(depth));
                host_symlink(root, &path, &rel);
            }
        }
        made.push(path);
    }
    modes.sort_by(|a, b| b.0.cmp(&a.0));
    for (p, m) in modes {
        std::fs::set_permissions(root.join(p), std::fs::Permissions::from_mode(m)).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// capture -> restore into a fresh workspace -> capture gives the same checksum, the same
    /// archive bytes and the same tree on disk.
    #[test]
    fn random_trees_round_trip(nodes in prop::collection::vec(node(), 0..24), c in prop::sample::select(ALL.to_vec())) {
        let src = Workspace::create_temp().unwrap();
        build(&src, &nodes);
        let snap = Snapshot::capture(&src, &config(c)).unwrap();
        prop_assert!(snap.skipped().is_empty());
        let dst = Workspace::create_temp().unwrap();
        let reread = Snapshot::from_archive_bytes(snap.archive().to_vec()).unwrap();
        reread.restore_into(&dst).unwrap();
        let again = Snapshot::capture(&dst, &config(c)).unwrap();
        prop_assert_eq!(again.checksum(), snap.checksum());
        prop_assert_eq!(again.archive(), snap.archive());
        prop_assert_eq!(listing(dst.path()), listing(src.path()));
    }
}

#[test]
fn archives_from_other_tools_root_entries_and_implied_dirs_are_accepted() {
    // As `tar czf x.tgz -C dir .` writes it: a `./` root member, `./`-prefixed names, and
    // a file whose parent directory has no member of its own.
    let mut b = tar::Builder::new(Vec::new());
    raw_member(&mut b, "./", tar::EntryType::Directory, "", b"");
    raw_member(&mut b, "./a/b/c.txt", tar::EntryType::Regular, "", b"deep");
    raw_member(&mut b, "./top.txt", tar::EntryType::Regular, "", b"top");
    let snap = Snapshot::from_archive_bytes(b.into_inner().unwrap()).unwrap();
    assert_eq!(paths(&snap), ["a", "a/b", "a/b/c.txt", "top.txt"]);
    let ws = Workspace::create_temp().unwrap();
    snap.restore_into(&ws).unwrap();
    assert_eq!(ws.read_file("a/b/c.txt").unwrap(), b"deep");
    let again = Snapshot::capture(&ws, &SnapshotConfig::default()).unwrap();
    assert_eq!(again.checksum(), snap.checksum());
}
