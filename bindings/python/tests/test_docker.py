"""The docker runtime from Python (the image `subrun-test/busybox`, built by
scripts/build-test-images.sh). These tests fail, not skip, without a Docker engine."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import urllib.parse
from pathlib import Path

import pytest

import subrun

SPEC = subrun.Spec.from_yaml("type: docker\ndocker:\n  image: subrun-test/busybox:latest\n")


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self) -> None:
        super().__init__("localhost")

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect("/var/run/docker.sock")
        self.sock = sock


def containers_of(session_id: str) -> list[str]:
    """Ids of every container (running or not) labelled with this session."""
    filters = json.dumps({"label": [f"subrun.session={session_id}"]})
    conn = _UnixHTTP()
    conn.request("GET", "/containers/json?all=1&filters=" + urllib.parse.quote(filters))
    body = json.loads(conn.getresponse().read())
    conn.close()
    return [c["Id"] for c in body]


def test_docker_session_runs_reads_files_and_leaves_no_container(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("from the host\n")
    with subrun.Session(SPEC, workspace=tmp_path) as s:
        sid = s.id
        rt = s.spawn()
        assert rt.kind == "docker"
        assert len(containers_of(sid)) == 1
        s.write_files({"extra.txt": "written\n"})
        r = rt.execute("cat in.txt extra.txt && echo made > out.txt && exit 5")
        assert r.stdout == b"from the host\nwritten\n"
        assert r.exit_code == 5
        assert s.get_file_contents("out.txt") == "made\n"
        assert [d.path for d in s.diff_since_baseline().created] == ["extra.txt", "out.txt"]
    assert containers_of(sid) == [], "close removes the container"


def test_docker_stream_and_cancel(tmp_path: Path) -> None:
    async def main() -> str:
        async with subrun.Session(SPEC, workspace=tmp_path) as s:
            rt = await s.spawn_async()
            chunks: list[bytes] = []
            async for ev in rt.stream("echo one; sleep 0.3; echo two >&2; exit 2"):
                if isinstance(ev, subrun.Chunk):
                    chunks.append(ev.data)
                else:
                    assert ev.result.exit_code == 2
                    assert ev.result.stdout == b"one\n" and ev.result.stderr == b"two\n"
            assert b"".join(chunks) == b"one\ntwo\n"
            task = asyncio.ensure_future(rt.execute_async("sleep 1; touch marker"))
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(1.5)
            assert not (s.workspace / "marker").exists()
            assert (await rt.execute_async("echo ok")).stdout == b"ok\n"
            return s.id

    sid = asyncio.run(main())
    assert containers_of(sid) == []


def test_docker_spec_errors_name_the_key() -> None:
    bad = subrun.Spec.from_yaml("type: docker\ndocker:\n  image: x\n  colour: red\n")
    with pytest.raises(subrun.SpecError, match="colour"):
        subrun.Session(bad)
