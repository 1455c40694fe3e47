"""Files in and out of a session: input files, reads, snapshots, diffs, static assets."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

import subrun

READER = """import gzip, json
print(open("a.txt").read())
print(json.load(open("data.json"))["k"])
print(open("rows.csv").read().strip().replace("\\r", ""))
print(gzip.open("notes.txt.gz").read().decode())
"""


def test_input_files_are_written_and_read_back(tmp_path: Path) -> None:
    with subrun.Session(workspace=tmp_path) as s:
        written = s.write_files({"a.txt": "alpha", "bin/b.dat": b"\x00\xff"})
        assert written == ["a.txt", "bin/b.dat"]
        s.materialize_input_files(
            [
                subrun.InputFile("data.json", {"k": [1, 2]}),
                subrun.InputFile("rows.csv", [{"x": 1, "y": "two"}]),
                subrun.InputFile("notes.txt.gz", "zipped"),
                subrun.InputFile("reader.py", READER),
            ]
        )
        r = s.spawn().execute("python reader.py", timeout=30)
        assert r.ok, r.stderr_text
        assert r.stdout_text == "alpha\n[1, 2]\nx,y\n1,two\nzipped\n"
        files = s.get_file_contents(["*.txt", "bin/*", "*.json"])
        assert files["a.txt"] == "alpha"
        assert files["bin/b.dat"] == b"\x00\xff"
        assert json.loads(str(files["data.json"])) == {"k": [1, 2]}
        assert set(files) == {"a.txt", "bin/b.dat", "data.json"}
        assert s.get_file_contents("a.txt") == "alpha"
        assert gzip.decompress(subrun.InputFile("n.txt.gz", "z").encode()) == b"z"


def test_a_bad_input_file_writes_nothing_and_names_the_path(tmp_path: Path) -> None:
    with subrun.Session(workspace=tmp_path) as s:
        with pytest.raises(subrun.WorkspaceError, match=r"\.\./escape\.txt"):
            s.materialize_input_files(
                [subrun.InputFile("good.txt", "x"), subrun.InputFile("../escape.txt", "y")]
            )
        assert not (s.workspace / "good.txt").exists(), "one bad file writes nothing"
        with pytest.raises(TypeError, match="odd.json"):
            subrun.InputFile("odd.json", object())
        with pytest.raises(subrun.WorkspaceError, match="file_type"):
            subrun.InputFile("a.txt", "x", file_type="nope")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="InputFile"):
            s.materialize_input_files(["not an input file"])  # type: ignore[list-item]


def test_reading_files_errors_name_the_path(tmp_path: Path) -> None:
    with subrun.Session(workspace=tmp_path) as s:
        with pytest.raises(subrun.WorkspaceError, match="missing.txt"):
            s.get_file_contents("missing.txt")
        with pytest.raises(subrun.WorkspaceError, match="/etc"):
            s.get_file_contents(["/etc/*"])
        with pytest.raises(subrun.WorkspaceError, match=r"\.\."):
            s.get_file_contents(["../*"])
        assert s.get_file_contents(["nothing-*"]) == {}


CHANGE = """import os
open("keep.txt", "w").write("line 1\\nline two\\n")
os.remove("gone.txt")
os.mkdir("out")
open("out/result.txt", "w").write("42\\n")
"""


def test_snapshots_diffs_and_restore(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("line 1\nline 2\n")
    (tmp_path / "gone.txt").write_text("bye\n")
    (tmp_path / "change.py").write_text(CHANGE)
    with subrun.Session(workspace=tmp_path) as s:
        before = s.snapshot()
        assert before == s.baseline
        assert before.paths == ["change.py", "gone.txt", "keep.txt"]
        assert not s.diff_since_baseline()
        r = s.spawn().execute("python change.py", timeout=30)
        assert r.ok, r.stderr_text

        diff = s.diff_since_baseline()
        assert [d.path for d in diff.created] == ["out", "out/result.txt"]
        assert [d.path for d in diff.deleted] == ["gone.txt"]
        (keep,) = diff.modified
        assert keep.path == "keep.txt" and keep.kind == "text" and keep.change == "modified"
        assert keep.unified is not None
        assert "-line 2\n+line two\n" in keep.unified
        assert (keep.added, keep.removed) == (1, 1)
        assert diff.created[0].new_type == "directory" and diff.created[0].kind == "none"
        assert "deleted file gone.txt" in str(diff)
        assert json.loads(diff.to_json())["deleted"][0]["path"] == "gone.txt"

        after = s.update_snapshot()
        assert after == s.baseline and after != before
        assert not s.diff_since_baseline(), "update_snapshot moves the baseline"
        between = subrun.diff_snapshots(before, after)
        assert [d.path for d in between.created] == ["out", "out/result.txt"]
        assert before.diff(after).lines_added == between.lines_added == 2
        assert after.read("out/result.txt") == b"42\n"
        assert after.read("out") is None and after.read("gone.txt") is None

        s.restore_snapshot(before)
        assert (s.workspace / "gone.txt").read_text() == "bye\n"
        assert not (s.workspace / "out").exists()
        assert not s.diff(before), "the workspace holds exactly the snapshot again"
        assert [d.path for d in s.diff(before, after).deleted] == ["gone.txt"]
        assert s.diff(after).created[0].path == "gone.txt"

        saved = after.write_to_dir(tmp_path / "exports")
        assert saved.name.startswith("snapshot-") and saved.name.endswith(".tar.gz")
        assert subrun.Snapshot.from_path(saved) == after
        assert subrun.Snapshot.from_bytes(after.archive).checksum == after.checksum

    with subrun.Session(snapshot=after) as restored:
        assert restored.get_file_contents("out/result.txt") == "42\n"


def test_a_bad_archive_is_refused_naming_the_problem(tmp_path: Path) -> None:
    with pytest.raises(subrun.WorkspaceError):
        subrun.Snapshot.from_bytes(b"not an archive at all")
    with pytest.raises(subrun.WorkspaceError, match="nope.tar"):
        subrun.Snapshot.from_path(tmp_path / "nope.tar")


def test_agent_mode_checkpoints_and_evaluation_refuses(tmp_path: Path) -> None:
    with subrun.Session(workspace=tmp_path, mode="agent") as s:
        assert s.mode == "agent"
        s.write_files({"step1.txt": "a"})
        cp = s.finish_checkpoint()
        assert [d.path for d in cp.diff.created] == ["step1.txt"]
        assert cp.snapshot == s.baseline and cp.archive_path is None
    with subrun.Session(workspace=tmp_path) as s:
        with pytest.raises(subrun.WorkspaceError, match="agent"):
            s.finish_checkpoint()
    with pytest.raises(subrun.SpecError, match="mode"):
        subrun.Session(mode="bogus")  # type: ignore[arg-type]


ASSET_READER = """import sys
print(open(sys.argv[1]).read(), end="")
try:
    open(sys.argv[1], "w").write("changed")
    print("wrote")
except OSError:
    print("read-only")
"""


def test_static_assets_are_shown_read_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "table.txt").write_text("1 2 3\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "read.py").write_text(ASSET_READER)
    with subrun.Session(workspace=sub, assets={"data": data}) as s:
        assert s.asset_paths == {"data": "/static/data"}
        path = s.render("{{static:data}}/table.txt")
        assert path == "/static/data/table.txt"
        r = s.spawn().execute("python read.py {{static:data}}/table.txt", timeout=30)
        assert r.stdout_text == "1 2 3\nread-only\n", r.stderr_text
        with pytest.raises(subrun.SpecError, match="nope"):
            s.render("{{static:nope}}")
    assert (data / "table.txt").read_text() == "1 2 3\n"
    with pytest.raises(subrun.SpecError, match="missing"):
        subrun.Session(workspace=sub, assets={"missing": tmp_path / "missing"})


def test_static_assets_on_local_are_host_paths(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "t.txt").write_text("local asset\n")
    spec = subrun.Spec.from_yaml("type: local\n")
    with subrun.Session(spec, assets={"data": data}) as s:
        assert Path(s.asset_paths["data"]).resolve() == data.resolve()
        r = s.spawn().execute("cat {{static:data}}/t.txt")
        assert r.stdout == b"local asset\n"
