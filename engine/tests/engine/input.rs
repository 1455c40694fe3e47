//! Input files written into the workspace.

use std::io::Read;

use serde_json::json;
use subrun::InputFile;
use subrun::input::{InputCompression, InputError, write_input_files};
use subrun::workspace::{Workspace, WorkspaceError};

use crate::common::{Sandbox, host_symlink, listing};

#[test]
fn files_of_every_type_are_written() {
    let ws = Workspace::create_temp().unwrap();
    let written = write_input_files(
        &ws,
        &[
            InputFile::text("input.txt", "1 2 3\n"),
            InputFile::data("cases/data.json", json!({"n": 3})),
            InputFile::data("cases/rows.jsonl.gz", json!([{"a": 1}, {"a": 2}])),
            InputFile::data("table.csv", json!([{"x": 1, "y": "two"}])),
            InputFile::bytes("blob", vec![0u8, 159, 146, 150]),
            InputFile::text("./nested/../flat.txt", "x").with_compression(InputCompression::None),
        ],
    );
    // `..` is refused even when it would stay inside.
    assert!(matches!(
        written.unwrap_err(),
        InputError::Workspace(WorkspaceError::Confinement { .. })
    ));
    assert!(listing(ws.path()).is_empty(), "nothing may be written");

    let written = write_input_files(
        &ws,
        &[
            InputFile::text("input.txt", "1 2 3\n"),
            InputFile::data("cases/data.json", json!({"n": 3})),
            InputFile::data("cases/rows.jsonl.gz", json!([{"a": 1}, {"a": 2}])),
            InputFile::data("table.csv", json!([{"x": 1, "y": "two"}])),
            InputFile::bytes("blob", vec![0u8, 159, 146, 150]),
            InputFile::text("./sub//x.txt", "x"),
        ],
    )
    .unwrap();
    assert_eq!(
        written,
        [
            "input.txt",
            "cases/data.json",
            "cases/rows.jsonl.gz",
            "table.csv",
            "blob",
            "sub/x.txt"
        ]
    );
    assert_eq!(ws.read_file("input.txt").unwrap(), b"1 2 3\n");
    assert_eq!(
        ws.read_file("cases/data.json").unwrap(),
        b"{\n  \"n\": 3\n}\n"
    );
    let gz = ws.read_file("cases/rows.jsonl.gz").unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "{\"a\":1}\n{\"a\":2}\n");
    assert_eq!(ws.read_file("table.csv").unwrap(), b"x,y\n1,two\n");
    assert_eq!(ws.read_file("blob").unwrap(), [0u8, 159, 146, 150]);
}

#[test]
fn escaping_paths_write_nothing_anywhere() {
    let sb = Sandbox::new();
    host_symlink(sb.ws.path(), "link", "../outside_dir");
    host_symlink(sb.ws.path(), "secret_link", "../secret");
    let before_out = sb.outside_listing();
    let before_ws = listing(sb.ws.path());
    let abs = sb.outer().join("outside_dir/abs.txt");
    for bad in [
        "../pwned.txt",
        "a/../../pwned.txt",
        abs.to_str().unwrap(),
        "link/pwned.txt",
        "secret_link",
    ] {
        let files = [
            InputFile::text("good.txt", "would be fine alone"),
            InputFile::text(bad, "pwned"),
        ];
        let err = write_input_files(&sb.ws, &files).unwrap_err();
        assert!(
            matches!(err, InputError::Workspace(WorkspaceError::Confinement { ref path, .. }) if path == bad),
            "{bad}: {err}"
        );
        assert_eq!(sb.outside_listing(), before_out, "{bad}");
        assert_eq!(listing(sb.ws.path()), before_ws, "{bad}");
    }
}

#[test]
fn bad_content_and_duplicates_write_nothing() {
    let ws = Workspace::create_temp().unwrap();
    ws.create_dir_all("adir").unwrap();
    let cases: Vec<(Vec<InputFile>, &str)> = vec![
        (
            vec![
                InputFile::text("a.txt", "a"),
                InputFile::data("b.jsonl", json!({"not": "a list"})),
            ],
            "input file `b.jsonl`: jsonl content must be a list of values, found a mapping",
        ),
        (
            vec![
                InputFile::text("a.txt", "a"),
                InputFile::text("./a.txt", "b"),
            ],
            "input file `./a.txt` is given twice (also as `a.txt`)",
        ),
        (
            vec![InputFile::text("a.txt", "a"), InputFile::text("adir", "b")],
            "path `adir` is an existing directory: expected a file path",
        ),
    ];
    for (files, expected) in cases {
        let err = write_input_files(&ws, &files).unwrap_err();
        assert_eq!(err.to_string(), expected);
        assert_eq!(ws.glob(&["**"]).unwrap(), Vec::<String>::new());
    }
}
