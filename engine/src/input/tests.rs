use std::io::Read;

use serde_json::json;

use super::*;

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

#[test]
fn type_and_compression_come_from_the_extension() {
    let f = InputFile::data("dir/data.jsonl.gz", json!([1]));
    assert_eq!(
        f.effective_format().unwrap(),
        (FileType::Jsonl, InputCompression::Gz)
    );
    let f = InputFile::data("t.TSV.bz2", json!([]));
    assert_eq!(
        f.effective_format().unwrap(),
        (FileType::Tsv, InputCompression::Bz2)
    );
    let f = InputFile::text("notes", "x");
    assert_eq!(
        f.effective_format().unwrap(),
        (FileType::Text, InputCompression::None)
    );
    let f = InputFile::bytes("blob.dat", vec![0]);
    assert_eq!(f.effective_format().unwrap().0, FileType::Binary);
    let f = InputFile::data("x.json", json!(1))
        .with_type(FileType::Yaml)
        .with_compression(InputCompression::None);
    assert_eq!(
        f.effective_format().unwrap(),
        (FileType::Yaml, InputCompression::None)
    );
}

#[test]
fn data_is_serialized_per_type() {
    let enc = |path: &str, v| InputFile::data(path, v).encode().unwrap();
    assert_eq!(text(&enc("a.json", json!({"a": 1}))), "{\n  \"a\": 1\n}\n");
    assert_eq!(
        text(&enc("a.jsonl", json!([{"a": 1}, 2, "x"]))),
        "{\"a\":1}\n2\n\"x\"\n"
    );
    assert_eq!(
        text(&enc("a.csv", json!([["a", "b"], [1, "x,y"], [true, null]]))),
        "a,b\n1,\"x,y\"\ntrue,\n"
    );
    assert_eq!(
        text(&enc(
            "a.csv",
            json!([{"n": 1, "s": "a"}, {"s": "b", "extra": 3}])
        )),
        "n,s,extra\n1,a,\n,b,3\n"
    );
    assert_eq!(
        text(&enc("a.tsv", json!([["a", "b c"], ["1", "2"]]))),
        "a\tb c\n1\t2\n"
    );
    assert_eq!(text(&enc("a.yaml", json!({"k": [1, 2]}))), "k:\n- 1\n- 2\n");
}

#[test]
fn text_and_bytes_are_written_verbatim_then_compressed() {
    let raw = InputFile::text("a.json", "{not json").encode().unwrap();
    assert_eq!(raw, b"{not json");
    let gz = InputFile::text("a.txt.gz", "hello\n").encode().unwrap();
    let mut out = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "hello\n");
    let bz = InputFile::bytes("a.bin.bz2", vec![0, 1, 2])
        .encode()
        .unwrap();
    let mut out = Vec::new();
    bzip2::read::BzDecoder::new(&bz[..])
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, [0, 1, 2]);
}

#[test]
fn mismatched_content_names_the_file() {
    let e = InputFile::data("img.bin", json!({"a": 1}))
        .encode()
        .unwrap_err();
    assert!(
        e.to_string().starts_with(
            "input file `img.bin`: structured data cannot be written as a binary file"
        ),
        "{e}"
    );
    let e = InputFile::data("rows.jsonl", json!({"a": 1}))
        .encode()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "input file `rows.jsonl`: jsonl content must be a list of values, found a mapping"
    );
    let e = InputFile::data("t.csv", json!([["a"], {"b": 1}]))
        .encode()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "input file `t.csv`: row 1 is a mapping but row 0 is a list"
    );
    let e = InputFile::data("t.csv", json!([[[1]]]))
        .encode()
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("row 0, column 0: a list cannot be written as a cell"),
        "{e}"
    );
    let e = InputFile::data("noext", json!([1])).encode().unwrap_err();
    assert!(e.to_string().contains("needs a file type"), "{e}");
}

#[test]
fn input_files_round_trip_through_serde() {
    let f = InputFile::bytes("a.bin", vec![0xff]).with_compression(InputCompression::Gz);
    let json = serde_json::to_value(&f).unwrap();
    assert_eq!(
        json,
        json!({"path": "a.bin", "content": {"base64": "/w=="}, "compression": "gz"})
    );
    assert_eq!(serde_json::from_value::<InputFile>(json).unwrap(), f);
    let e = serde_json::from_value::<InputFile>(
        json!({"path": "a", "content": {"text": "x"}, "mode": 1}),
    )
    .unwrap_err();
    assert!(e.to_string().contains("unknown field `mode`"), "{e}");
}
