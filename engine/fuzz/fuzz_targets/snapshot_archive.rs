//! Snapshot archives: `Snapshot::from_archive_bytes` on arbitrary bytes never panics; an
//! archive it accepts restores inside the workspace only (the parent directory is listed
//! before and after), and capturing the restored workspace gives the archive's checksum.

#![no_main]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[path = "common/scratch.rs"]
mod scratch;

use libfuzzer_sys::fuzz_target;
use subrun::spec::SnapshotConfig;
use subrun::snapshot::Snapshot;
use subrun::workspace::Workspace;

struct Sandbox {
    _outer: tempfile::TempDir,
    outer: PathBuf,
    ws: Workspace,
    baseline: BTreeMap<String, String>,
}

fn outside_listing(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(root).expect("list") {
        let path = entry.expect("list").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name == "ws" {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).expect("inspect");
        out.insert(name, format!("{:?} {}", meta.file_type(), meta.len()));
    }
    out
}

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let dir = scratch::scratch_dir();
        let outer = dir.path().canonicalize().expect("canonical");
        std::fs::create_dir(outer.join("ws")).expect("ws");
        std::fs::write(outer.join("secret"), "secret").expect("secret");
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

fuzz_target!(|data: &[u8]| {
    let Ok(snapshot) = Snapshot::from_archive_bytes(data.to_vec()) else {
        return;
    };
    let sb = sandbox();
    snapshot
        .restore_into(&sb.ws)
        .expect("an accepted archive restores");
    assert_eq!(
        outside_listing(&sb.outer),
        sb.baseline,
        "restore wrote outside"
    );
    let config = SnapshotConfig {
        compression: subrun::spec::Compression::None,
        ..SnapshotConfig::default()
    };
    let again = Snapshot::capture(&sb.ws, &config).expect("capture the restored workspace");
    assert_eq!(
        again.checksum(),
        snapshot.checksum(),
        "restore is not exact"
    );
    assert!(
        again.skipped().is_empty(),
        "restore left out {:?}",
        again.skipped()
    );
    sb.ws.clear().expect("clear");
});
