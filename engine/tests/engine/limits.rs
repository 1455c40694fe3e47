//! Host-side resource bounds: what a guest leaves in a workspace (a sparse 1 TiB file, a flood
//! of files, a directory chain thousands of levels deep, a decompression bomb) never makes
//! host code read unbounded data, overflow its stack or lose the workspace. Each test is a
//! regression test named after the defect it caught.

use std::io::Write;

use cap_std::fs::Dir;
use subrun::snapshot::{Snapshot, SnapshotError};
use subrun::spec::SnapshotConfig;
use subrun::workspace::{LimitExceeded, Workspace, WorkspaceError, WorkspaceLimits};
use subrun::{Error, Mode, Session};

use crate::session::Fixture;

const TIB: u64 = 1 << 40;

/// A file of `len` bytes that takes no disk (a hole).
fn sparse(ws: &Workspace, rel: &str, len: u64) {
    let f = std::fs::File::create(ws.path().join(rel)).unwrap();
    f.set_len(len).unwrap();
}

/// The bound an error reports, whichever layer carries it.
fn limit_of(err: &Error) -> &LimitExceeded {
    err.limit_exceeded()
        .unwrap_or_else(|| panic!("expected a limit error, got {err}"))
}

fn ws_limit(err: &WorkspaceError) -> &LimitExceeded {
    match err {
        WorkspaceError::Limit(l) => l,
        other => panic!("expected a limit error, got {other}"),
    }
}

fn snap_limit(err: &SnapshotError) -> &LimitExceeded {
    match err {
        SnapshotError::Workspace(WorkspaceError::Limit(l)) => l,
        other => panic!("expected a limit error, got {other}"),
    }
}

/// A chain of `depth` directories `d/d/d/...` made one level at a time through directory
/// handles (as a guest can), with a file at the bottom.
fn chain(ws: &Workspace, depth: usize) {
    let mut d: Dir = ws.dir().try_clone().unwrap();
    for _ in 0..depth {
        d.create_dir("d").unwrap();
        d = d.open_dir("d").unwrap();
    }
    d.write("leaf.txt", b"bottom").unwrap();
}

#[test]
fn the_defaults_are_the_documented_ones() {
    let l = WorkspaceLimits::default();
    assert_eq!(l.max_entries, 100_000);
    assert_eq!(l.max_snapshot_bytes, 1 << 30);
    assert_eq!(l.max_read_bytes, 256 << 20);
    assert_eq!(l.max_depth, 128);
    assert_eq!(Workspace::create_temp().unwrap().limits(), &l);
}

/// Regression: `Snapshot::capture` sized a buffer from the file's length and read it whole,
/// so a sparse 1 TiB file (no disk used) aborted the host on a failed 1 TiB allocation.
#[test]
fn capture_refuses_a_sparse_1_tib_file_before_reading_it() {
    let ws = Workspace::create_temp().unwrap();
    ws.write_file("small.txt", "fine").unwrap();
    sparse(&ws, "huge.bin", TIB);
    let err = Snapshot::capture(&ws, &SnapshotConfig::default()).unwrap_err();
    let l = snap_limit(&err);
    assert_eq!(l.setting, "max_snapshot_bytes");
    assert_eq!(l.limit, 1 << 30);
    assert_eq!(
        err.to_string(),
        "capturing the workspace: its files reach 1.0 TiB at `huge.bin` (1.0 TiB): over the limit of 1.0 GiB set by `WorkspaceLimits::max_snapshot_bytes`"
    );
    // Under the bound the same workspace captures.
    std::fs::remove_file(ws.path().join("huge.bin")).unwrap();
    sparse(&ws, "hole.bin", 1 << 20);
    let snap = Snapshot::capture(&ws, &SnapshotConfig::default()).unwrap();
    assert_eq!(snap.entry_count(), 2);
}

/// Regression: `get_file_contents` (`read_globs`) and `read_file` read a matched file to its
/// end, so a sparse 1 TiB `out.txt` made the host read a terabyte of zeros into memory.
#[tokio::test]
async fn get_file_contents_and_read_file_refuse_a_sparse_1_tib_file() {
    let fx = Fixture::new();
    let session = Session::builder(&fx.registry, fx.spec("type: fake\n"))
        .prepare()
        .await
        .unwrap();
    let ws = session.workspace();
    ws.write_file("out/a.txt", "answer").unwrap();
    sparse(ws, "out/huge.txt", TIB);
    let err = session.get_file_contents(&["out/*.txt"]).unwrap_err();
    let l = limit_of(&err);
    assert_eq!((l.setting, l.limit), ("max_read_bytes", 256 << 20));
    assert!(
        err.to_string().contains("reading `out/huge.txt` (1.0 TiB)"),
        "{err}"
    );
    let err = ws.read_file("out/huge.txt").unwrap_err();
    assert_eq!(ws_limit(&err).setting, "max_read_bytes");
    // Files that fit are read as before.
    let files = session.get_file_contents(&["out/a.txt"]).unwrap();
    assert_eq!(files["out/a.txt"].as_text(), Some("answer"));
    session.close().await.unwrap();
}

/// One call's budget covers all its files together, and a bound set on the session applies.
#[tokio::test]
async fn the_read_bound_counts_every_file_of_one_call() {
    let fx = Fixture::new();
    let session = Session::builder(&fx.registry, fx.spec("type: fake\n"))
        .workspace_limits(WorkspaceLimits::default().with_max_read_bytes(10))
        .prepare()
        .await
        .unwrap();
    session.workspace().write_file("a.txt", "123456").unwrap();
    session.workspace().write_file("b.txt", "123456").unwrap();
    assert_eq!(session.get_file_contents(&["a.txt"]).unwrap().len(), 1);
    let err = session.get_file_contents(&["*.txt"]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("reading `b.txt` (6 B) after 6 B of other files: over the limit of 10 B"),
        "{err}"
    );
    session.close().await.unwrap();
}

/// Regression: `update_snapshot` and `finish_checkpoint` captured without bound (see above);
/// now they fail with the bound and keep the previous baseline.
#[tokio::test]
async fn update_snapshot_and_finish_checkpoint_refuse_a_sparse_file_and_keep_the_baseline() {
    let fx = Fixture::new();
    let session = Session::builder(&fx.registry, fx.spec("type: fake\n"))
        .mode(Mode::Agent)
        .prepare()
        .await
        .unwrap();
    session.workspace().write_file("kept.txt", "v1").unwrap();
    let baseline = session.update_snapshot().unwrap();
    sparse(session.workspace(), "huge.bin", TIB);
    for err in [
        session.update_snapshot().unwrap_err(),
        session.finish_checkpoint().unwrap_err(),
        session.diff_since_baseline().unwrap_err(),
    ] {
        assert_eq!(limit_of(&err).setting, "max_snapshot_bytes", "{err}");
        assert!(err.to_string().contains("`huge.bin`"), "{err}");
    }
    assert_eq!(session.baseline().checksum(), baseline.checksum());
    session.close().await.unwrap();
}

/// Regression: listing the workspace (captures, globs) collected every entry, so a flood of
/// files grew host memory without bound. The walk stops past `max_entries`.
#[test]
fn a_flood_of_files_is_refused_past_max_entries() {
    let ws = Workspace::create_temp()
        .unwrap()
        .with_limits(WorkspaceLimits::default().with_max_entries(1000));
    for i in 0..1001 {
        std::fs::write(ws.path().join(format!("f{i:04}")), "").unwrap();
    }
    let err = Snapshot::capture(&ws, &SnapshotConfig::default()).unwrap_err();
    assert_eq!(snap_limit(&err).setting, "max_entries");
    assert!(err.to_string().contains("1000 entries"), "{err}");
    let err = ws.glob(&["*"]).unwrap_err();
    assert_eq!(ws_limit(&err).setting, "max_entries");
    // Entries under an ignored directory are not visited, so they do not count.
    std::fs::create_dir(ws.path().join("cache")).unwrap();
    for i in 0..1001 {
        std::fs::rename(
            ws.path().join(format!("f{i:04}")),
            ws.path().join(format!("cache/f{i:04}")),
        )
        .unwrap();
    }
    let config = SnapshotConfig {
        ignore_globs: vec!["cache".into()],
        ..SnapshotConfig::default()
    };
    assert_eq!(Snapshot::capture(&ws, &config).unwrap().entry_count(), 0);
    // And a glob only walks the directories it can reach.
    ws.write_file("out/x.txt", "x").unwrap();
    assert_eq!(ws.glob(&["out/*.txt"]).unwrap(), ["out/x.txt"]);
}

/// Regression: the workspace walk, `Workspace::clear`, `remove` and its `Drop` recursed once
/// per directory level (the latter two through `std::fs::remove_dir_all`), so a chain of
/// directories a guest nested 20,000 levels deep overflowed the host's stack and aborted the
/// process. Listing now stops at `max_depth` with an error; removal is iterative. Run on a
/// 1 MiB stack so any recursion per level would still fail here.
#[test]
fn a_directory_chain_20000_levels_deep_neither_overflows_the_stack_nor_leaks_the_workspace() {
    let worker = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let ws = Workspace::create_temp().unwrap();
            chain(&ws, 20_000);
            let err = Snapshot::capture(&ws, &SnapshotConfig::default()).unwrap_err();
            assert_eq!(snap_limit(&err).setting, "max_depth");
            assert!(
                err.to_string().contains("is nested deeper than that"),
                "{err}"
            );
            assert!(
                err.to_string().len() < 400,
                "the message holds the whole path: {err}"
            );
            let err = ws.glob(&["**/leaf.txt"]).unwrap_err();
            assert_eq!(ws_limit(&err).setting, "max_depth");
            ws.clear().unwrap();
            assert_eq!(std::fs::read_dir(ws.path()).unwrap().count(), 0);
            chain(&ws, 20_000);
            ws.remove_path("d").unwrap();
            chain(&ws, 20_000);
            let path = ws.path().to_path_buf();
            drop(ws);
            path
        })
        .unwrap();
    let path = worker.join().expect("a deep tree overflowed a 1 MiB stack");
    assert!(
        !path.exists(),
        "the workspace was left behind at {}",
        path.display()
    );
}

#[test]
fn a_session_workspace_with_a_deep_chain_is_removed_on_close() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let fx = Fixture::new();
    let session = rt
        .block_on(Session::builder(&fx.registry, fx.spec("type: fake\n")).prepare())
        .unwrap();
    chain(session.workspace(), 5_000);
    let path = session.workspace().path().to_path_buf();
    rt.block_on(session.close()).unwrap();
    assert!(!path.exists());
}

fn gz(tar: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(tar).unwrap();
    enc.finish().unwrap()
}

fn tar_with_file(name: &str, len: usize) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(len as u64);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(
        &mut h,
        name,
        std::io::Read::take(std::io::repeat(0), len as u64),
    )
    .unwrap();
    b.into_inner().unwrap()
}

/// Regression: reading an archive unpacked the whole stream into memory first, so a small
/// gzip that unpacks to gigabytes (a decompression bomb) had no bound. Now unpacking stops
/// once the stream passes what the limits allow.
#[test]
fn a_decompression_bomb_is_refused_once_it_passes_the_bound() {
    let bomb = gz(&tar_with_file("zeros.bin", 64 << 20));
    assert!(bomb.len() < 128 << 10, "{} bytes", bomb.len());
    let limits = WorkspaceLimits::default()
        .with_max_snapshot_bytes(1 << 20)
        .with_max_entries(10);
    let err = Snapshot::from_archive_bytes_with_limits(bomb.clone(), &limits).unwrap_err();
    assert_eq!(snap_limit(&err).setting, "max_snapshot_bytes");
    assert!(
        err.to_string()
            .starts_with("unpacking the gz snapshot archive"),
        "{err}"
    );
    // Within the defaults the same archive is fine.
    let snap = Snapshot::from_archive_bytes(bomb).unwrap();
    assert_eq!(snap.entry_count(), 1);
    // A member count past the bound is refused too.
    let mut b = tar::Builder::new(Vec::new());
    for i in 0..11 {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(0);
        b.append_data(&mut h, format!("f{i}"), std::io::empty())
            .unwrap();
    }
    let err =
        Snapshot::from_archive_bytes_with_limits(b.into_inner().unwrap(), &limits).unwrap_err();
    assert_eq!(snap_limit(&err).setting, "max_entries");
    assert!(
        err.to_string()
            .contains("member `f10` is one more than that"),
        "{err}"
    );
}

/// Regression: a member header's size field sized the buffer for its content before any data
/// was read, so a 2.5 KiB archive whose header claims 1 TiB aborted the host on the
/// allocation. Now the claim is checked against the bounds and the stream's real length.
#[test]
fn a_header_that_claims_1_tib_is_refused_without_allocating_it() {
    let mut h = tar::Header::new_gnu();
    h.set_path("big.bin").unwrap();
    h.set_mode(0o644);
    h.set_size(TIB);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut bytes = h.as_bytes().to_vec();
    bytes.extend_from_slice(&[0u8; 2048]);
    let err = Snapshot::from_archive_bytes(bytes.clone()).unwrap_err();
    assert_eq!(snap_limit(&err).setting, "max_snapshot_bytes");
    assert!(
        err.to_string().contains("member `big.bin` (1.0 TiB)"),
        "{err}"
    );
    // Within limits that allow it, the cut stream is reported as truncated.
    let roomy = WorkspaceLimits::default().with_max_snapshot_bytes(u64::MAX);
    let err = Snapshot::from_archive_bytes_with_limits(bytes, &roomy).unwrap_err();
    assert!(matches!(err, SnapshotError::Truncated { .. }), "{err}");
}

/// Archives nested deeper than `max_depth` are refused when read, not when a later capture of
/// the restored workspace fails.
#[test]
fn an_archive_nested_deeper_than_max_depth_is_refused_when_read() {
    let deep = format!("{}f.txt", "d/".repeat(5));
    let tar = tar_with_file(&deep, 1);
    let limits = WorkspaceLimits::default().with_max_depth(4);
    let err = Snapshot::from_archive_bytes_with_limits(tar.clone(), &limits).unwrap_err();
    assert_eq!(snap_limit(&err).setting, "max_depth");
    assert!(err.to_string().contains("nested 5 levels deep"), "{err}");
    let snap = Snapshot::from_archive_bytes_with_limits(tar, &limits.with_max_depth(5)).unwrap();
    assert_eq!(snap.entry_count(), 6);
}

/// `from_path` refuses a file larger than any archive within the bounds before reading it.
#[test]
fn an_archive_file_past_the_bound_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.tar");
    std::fs::File::create(&path).unwrap().set_len(TIB).unwrap();
    let err = Snapshot::from_path(&path).unwrap_err();
    assert_eq!(snap_limit(&err).setting, "max_snapshot_bytes");
    assert!(err.to_string().contains("huge.tar` (1.0 TiB)"), "{err}");
}

/// Regression: `read_file` opened whatever was at the path, so a FIFO a guest left at
/// `out.txt` blocked the host forever in `open`. Anything but a regular file is now refused
/// before it is opened, and globs never list it.
#[test]
fn a_fifo_left_in_the_workspace_is_refused_without_blocking() {
    let ws = Workspace::create_temp().unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(ws.path().join("out.txt"))
        .status()
        .expect("mkfifo (coreutils)");
    assert!(status.success());
    let err = ws.read_file("out.txt").unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read `out.txt`",
        "{:?}",
        std::error::Error::source(&err)
    );
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert_eq!(source, "it is a FIFO, not a regular file");
    assert!(ws.read_globs(&["*.txt"]).unwrap().is_empty());
    let snap = Snapshot::capture(&ws, &SnapshotConfig::default()).unwrap();
    assert_eq!(snap.skipped().len(), 1, "{:?}", snap.skipped());
}
