//! Bad input gets a precise error that names the file, the key or the path, and changes
//! nothing on disk: malformed YAML and JSON, unknown runtime types and keys, invalid assets,
//! truncated and corrupt snapshots restored over a workspace.

use std::path::Path;

use subrun::snapshot::{Snapshot, SnapshotError};
use subrun::spec::Compression;
use subrun::spec::{EnvironmentSpec, SnapshotConfig};
use subrun::workspace::Workspace;
use subrun::{Error, Mode, Registry, Session};

use crate::common::{host_file, listing};
use crate::session::Fixture;

/// Loads `text` written to `name` in a fresh directory; returns the error's text and checks
/// the directory is unchanged.
fn load_error(name: &str, text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = host_file(dir.path(), name, text.as_bytes(), 0o644);
    let before = listing(dir.path());
    let err = EnvironmentSpec::from_path(&path).unwrap_err();
    assert_eq!(listing(dir.path()), before, "loading changed the directory");
    let msg = err.to_string();
    let shown = path.display().to_string();
    assert!(
        msg.starts_with(&format!("{shown}: ")),
        "{msg} does not name {shown}"
    );
    msg[shown.len() + 2..].to_string()
}

#[test]
fn malformed_yaml_and_json_name_the_file_line_and_column() {
    let msg = load_error("env.yaml", "type: local\nlimits: { timeout: 1s\nname: x\n");
    assert!(msg.starts_with("invalid YAML: "), "{msg}");
    assert!(msg.contains("line 3"), "{msg}");
    let msg = load_error("env.yaml", "type: local\n  name: [unclosed\n");
    assert!(msg.starts_with("invalid YAML: "), "{msg}");
    let msg = load_error("env.json", "{\"type\": \"local\", }");
    assert!(msg.starts_with("invalid JSON: "), "{msg}");
    assert!(msg.contains("line 1 column 19"), "{msg}");
    let msg = load_error("env.yaml", "- a list\n- not a mapping\n");
    assert_eq!(msg, "expected a mapping of sections, found a list");
    let msg = load_error("env.yaml", "");
    assert!(msg.contains("found null"), "{msg}");
}

#[test]
fn unknown_keys_and_bad_values_name_the_key_path() {
    for (text, key, says) in [
        (
            "type: local\nlimits: { tiemout: 2s }\n",
            "limits.tiemout",
            "unknown field `tiemout`",
        ),
        (
            "type: local\nsnapshot: { compression: zip }\n",
            "snapshot.compression",
            "unknown variant `zip`",
        ),
        (
            "type: local\nsetup: { commands: [ok, [2]] }\n",
            "setup.commands[1]",
            "expected a string",
        ),
        (
            "type: local\nlimits: { timeout: soon }\n",
            "limits.timeout",
            "soon",
        ),
        (
            "type: local\nlimits: { memory: 0B }\n",
            "limits.memory",
            "must be positive",
        ),
        (
            "type: local\nsnapshot: { keep_globs: [\"../*\"] }\n",
            "snapshot.keep_globs[0]",
            "`..`",
        ),
        (
            "type: local\ndocker: { image: x }\n",
            "docker",
            "unknown section `docker`",
        ),
        ("type: [wasi]\n", "type", "expected a runtime name"),
    ] {
        let msg = load_error("env.yaml", text);
        assert!(msg.starts_with(&format!("{key}: ")), "{text:?}: {msg}");
        assert!(msg.contains(says), "{text:?}: {msg}");
    }
}

#[tokio::test]
async fn an_unknown_runtime_type_names_the_file_and_lists_the_registered_ones() {
    let fx = Fixture::new();
    let spec = EnvironmentSpec::from_yaml_str("type: wasm\n", "env.yaml", ".").unwrap();
    let err = Session::builder(&fx.registry, spec)
        .prepare()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "env.yaml: type: unknown runtime type `wasm`: registered runtimes are `fake`"
    );
    let err = Session::builder(&Registry::new(), fx.spec("type: fake\n"))
        .prepare()
        .await
        .unwrap_err();
    assert!(
        err.to_string().ends_with("registered runtimes are none"),
        "{err}"
    );
}

#[tokio::test]
async fn invalid_assets_name_the_key_and_path_and_leave_the_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    host_file(dir.path(), "data/a.txt", b"a", 0o644);
    let before = listing(dir.path());
    let spec = |yaml: &str| EnvironmentSpec::from_yaml_str(yaml, "env.yaml", dir.path());
    // Refused when the spec is read.
    for (yaml, key, says) in [
        (
            "type: fake\nstatic_assets: { d: { path: data, save_path: ../up } }\n",
            "static_assets.d.save_path",
            "contains `..`",
        ),
        (
            "type: fake\nstatic_assets: { d: { path: data, save_path: /abs } }\n",
            "static_assets.d.save_path",
            "is absolute",
        ),
        (
            "type: fake\nstatic_assets: { \"bad name\": { path: data } }\n",
            "static_assets.bad name",
            "",
        ),
        (
            "type: fake\nstatic_assets: { d: { path: data, extra: 1 } }\n",
            "static_assets.d",
            "unknown field `extra`",
        ),
    ] {
        let err = spec(yaml).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("env.yaml: {key}")),
            "{yaml:?}: {msg}"
        );
        assert!(msg.contains(says), "{yaml:?}: {msg}");
    }
    // Refused when the session resolves them.
    let fx = Fixture::new();
    let missing = spec("type: fake\nstatic_assets: { d: { path: nope/missing.txt } }\n").unwrap();
    let err = Session::builder(&fx.registry, missing)
        .mode(Mode::Agent)
        .prepare()
        .await
        .unwrap_err();
    let Error::Assets(issues) = &err else {
        panic!("expected asset errors, got {err}");
    };
    assert_eq!(issues.len(), 1, "{err}");
    assert_eq!(issues[0].key, "static_assets.d.path");
    assert!(issues[0].message.contains("nope/missing.txt"), "{err}");
    let clash = spec(
        "type: fake\nstatic_assets: { a: { path: data, save_path: x }, b: { path: data/a.txt, save_path: x/y } }\n",
    )
    .unwrap();
    let err = Session::builder(&fx.registry, clash)
        .prepare()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("save paths may not be equal or nested"),
        "{err}"
    );
    assert_eq!(listing(dir.path()), before, "the asset directory changed");
}

/// Everything in `ws` as `path -> description`, to compare before and after.
fn state(ws: &Workspace) -> std::collections::BTreeMap<String, String> {
    listing(ws.path())
}

fn sample(ws: &Workspace) {
    ws.write_file("src/main.py", "print('hi')\n").unwrap();
    ws.write_file("data/in.txt", "1 2 3\n").unwrap();
    ws.create_dir_all("empty").unwrap();
}

/// Truncated and corrupt archives of every compression: the error names what is wrong, and
/// the workspace the restore was aimed at holds exactly what it held.
#[test]
fn truncated_or_corrupt_snapshots_leave_the_target_workspace_exactly_as_it_was() {
    let src = Workspace::create_temp().unwrap();
    sample(&src);
    src.write_file("big.bin", vec![7u8; 20_000]).unwrap();
    let target = Workspace::create_temp().unwrap();
    target.write_file("mine/keep.txt", "mine").unwrap();
    let before = state(&target);
    for compression in [
        Compression::None,
        Compression::Gz,
        Compression::Bz2,
        Compression::Xz,
    ] {
        let config = SnapshotConfig {
            compression,
            ..SnapshotConfig::default()
        };
        let archive = Snapshot::capture(&src, &config).unwrap().archive().to_vec();
        let mut flipped = archive.clone();
        // A plain tar has no checksum over file content: flip a byte of the first header's
        // checksum field instead. Compressed streams carry a CRC over everything.
        let at = if compression == Compression::None {
            150
        } else {
            flipped.len() / 2
        };
        flipped[at] ^= 0xff;
        let cases = [
            ("cut in half", archive[..archive.len() / 2].to_vec()),
            ("cut by one byte", archive[..archive.len() - 1].to_vec()),
            ("a flipped byte", flipped),
            ("empty", Vec::new()),
        ];
        for (what, bytes) in cases {
            let err = Snapshot::from_archive_bytes(bytes)
                .and_then(|s| s.restore_into(&target))
                .unwrap_err();
            let msg = err.to_string();
            let precise = matches!(
                err,
                SnapshotError::Truncated { .. }
                    | SnapshotError::Corrupt { .. }
                    | SnapshotError::Decompress { .. }
                    | SnapshotError::UnknownFormat { .. }
            );
            assert!(precise, "{compression} {what}: {msg}");
            assert_eq!(
                state(&target),
                before,
                "{compression} {what} changed the workspace"
            );
        }
    }
}

/// A snapshot file on disk that is cut short: `from_path` names the file's problem before
/// any session exists, and the file itself is not touched.
#[test]
fn a_truncated_snapshot_file_is_refused_and_left_alone() {
    let src = Workspace::create_temp().unwrap();
    sample(&src);
    let snap = Snapshot::capture(&src, &SnapshotConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = snap.write_to_dir(dir.path()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 8]).unwrap();
    let before = listing(dir.path());
    let err = Snapshot::from_path(&path).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot decompress the gz snapshot archive (truncated or corrupt)"),
        "{err}"
    );
    assert_eq!(listing(dir.path()), before);
    assert!(!Path::new(&path).with_extension("partial").exists());
}
