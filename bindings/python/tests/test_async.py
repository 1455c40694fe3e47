"""asyncio: async with, execute_async, stream, cancellation and overlap, on wasi and local."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import pytest

import subrun

# Writes in three separate writes, 0.3 s apart, on stdout and stderr.
WRITER = """import sys, time
sys.stdout.write("one\\n"); sys.stdout.flush()
time.sleep(0.3)
sys.stdout.write("two\\n"); sys.stdout.flush()
sys.stderr.write("oops\\n"); sys.stderr.flush()
time.sleep(0.3)
sys.stdout.write("three\\n"); sys.stdout.flush()
"""

# Leaves `marker` only if it lives for a second.
LATE = "import time\ntime.sleep(1.0)\nopen('marker', 'w').write('x')\n"

LOCAL = subrun.Spec.from_yaml("type: local\n")


def _write(ws: Path) -> None:
    (ws / "writer.py").write_text(WRITER)
    (ws / "late.py").write_text(LATE)


def test_async_with_execute_async_and_close(workspace: Path) -> None:
    async def main() -> Path:
        async with subrun.Session(workspace=workspace) as s:
            rt = await s.spawn_async()
            r = await rt.execute_async("hello.wat")
            assert r.stdout == b"hello, world\n"
            failed = await rt.execute_async("exit3.wat")
            assert failed.exit_code == 3 and not failed.ok
            return s.workspace

    ws = asyncio.run(main())
    assert not ws.exists(), "async with removes the workspace"


def test_stream_gives_chunks_in_order_then_one_finish(workspace: Path) -> None:
    _write(workspace)

    async def main() -> None:
        async with subrun.Session(workspace=workspace) as s:
            rt = s.spawn()
            events: list[tuple[float, subrun.Event]] = []
            start = time.monotonic()
            async for ev in rt.stream("python writer.py", timeout=30):
                events.append((time.monotonic() - start, ev))
            *chunks, (finish_at, last) = events
            assert isinstance(last, subrun.Finished)
            assert all(isinstance(c, subrun.Chunk) for _, c in chunks)
            out = [c for _, c in chunks if isinstance(c, subrun.Chunk) and c.stream == "stdout"]
            err = [c for _, c in chunks if isinstance(c, subrun.Chunk) and c.stream == "stderr"]
            assert b"".join(c.data for c in out) == b"one\ntwo\nthree\n"
            assert b"".join(c.data for c in err) == b"oops\n"
            # Three writes 0.3 s apart cannot arrive as one chunk...
            assert len(out) >= 3, [c.data for c in out]
            # ...and the first arrives while the guest still runs, not with the finish.
            first_at = events[0][0]
            assert finish_at - first_at > 0.4, (first_at, finish_at)
            result = last.result
            assert result.ok, result.stderr_text
            assert result.stdout == b"one\ntwo\nthree\n" and result.stderr == b"oops\n"

    asyncio.run(main())


def test_stream_of_a_bad_command_raises_at_the_first_event(workspace: Path) -> None:
    async def main() -> None:
        async with subrun.Session(workspace=workspace) as s:
            rt = s.spawn()
            with pytest.raises(subrun.CommandError, match="hello.wat"):
                async for _ in rt.stream("hello.wat && hello.wat"):
                    pass

    asyncio.run(main())


@pytest.mark.parametrize("runtime", ["wasi", "local"])
def test_cancelling_the_task_kills_the_command(workspace: Path, runtime: str) -> None:
    _write(workspace)
    spec = LOCAL if runtime == "local" else None
    command = "sleep 1 && touch marker" if runtime == "local" else "python late.py"

    async def main() -> None:
        async with subrun.Session(spec, workspace=workspace) as s:
            rt = s.spawn()
            rt.execute("python -c pass" if runtime == "wasi" else "true", timeout=30)
            task = asyncio.ensure_future(rt.execute_async(command, timeout=30))
            await asyncio.sleep(0.3)
            assert rt.state == "running"
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(1.5)
            assert not (s.workspace / "marker").exists(), "the command ran on after cancel"
            assert rt.state != "running"
            again = await rt.execute_async("echo ok" if runtime == "local" else "hello.wat")
            assert again.ok, "the runtime stays usable"

    asyncio.run(main())


def test_a_timed_out_stream_consumer_kills_the_command(workspace: Path) -> None:
    _write(workspace)

    async def consume(stream: subrun.Stream) -> None:
        async for _ in stream:
            pass

    async def main() -> None:
        async with subrun.Session(workspace=workspace) as s:
            rt = s.spawn()
            rt.execute("python -c pass", timeout=30)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(consume(rt.stream("python late.py", timeout=30)), 0.4)
            await asyncio.sleep(1.5)
            assert not (s.workspace / "marker").exists()
            assert (await rt.execute_async("hello.wat")).ok

    asyncio.run(main())


def test_leaving_a_stream_early_kills_the_command(tmp_path: Path) -> None:
    async def main() -> None:
        async with subrun.Session(LOCAL, workspace=tmp_path) as s:
            rt = s.spawn()
            async for ev in rt.stream("echo started; sleep 1; touch marker"):
                assert isinstance(ev, subrun.Chunk) and ev.data == b"started\n"
                break
            await asyncio.sleep(1.5)
            assert not (s.workspace / "marker").exists()

    asyncio.run(main())


@pytest.mark.parametrize("runtime", ["wasi", "local"])
def test_two_async_executions_overlap_in_time(workspace: Path, runtime: str) -> None:
    (workspace / "nap.py").write_text("import time\ntime.sleep(0.6)\n")
    spec = LOCAL if runtime == "local" else None
    command = "sleep 0.6" if runtime == "local" else "python nap.py"

    async def main() -> None:
        async with subrun.Session(spec, workspace=workspace) as s:
            rt = s.spawn()
            assert (await rt.execute_async(command, timeout=30)).ok  # warm: compile the guest
            start = time.monotonic()
            results = await asyncio.gather(
                rt.execute_async(command, timeout=30), rt.execute_async(command, timeout=30)
            )
            took = time.monotonic() - start
            assert all(r.ok for r in results), [r.stderr_text for r in results]
            # One after the other they take 1.2 s; the event loop is free meanwhile.
            assert took < 1.1, took

    asyncio.run(main())


def test_kill_async_stops_a_running_execution(workspace: Path) -> None:
    async def main() -> None:
        async with subrun.Session(workspace=workspace) as s:
            rt = s.spawn()
            task = asyncio.ensure_future(rt.execute_async("spin.wat", timeout=60))
            await asyncio.sleep(0.3)
            await rt.kill_async()
            r = await task
            assert r.outcome.kind == "killed" and r.exit_code == 137
            outcome = rt.poll()
            assert outcome is not None and outcome.kind == "killed"

    asyncio.run(main())


def test_stream_kill_ends_it_killed(workspace: Path) -> None:
    async def main() -> None:
        async with subrun.Session(workspace=workspace) as s:
            rt = s.spawn()
            stream = rt.stream("spin.wat", timeout=60)
            next_event = asyncio.ensure_future(stream.__anext__())
            await asyncio.sleep(0.3)
            stream.kill()
            ev = await next_event
            assert isinstance(ev, subrun.Finished)
            assert ev.result.outcome.kind == "killed"
            with pytest.raises(StopAsyncIteration):
                await stream.__anext__()

    asyncio.run(main())


def test_ctrl_c_in_asyncio_run_kills_the_command_and_closes_the_session(workspace: Path) -> None:
    seen: dict[str, Path] = {}

    async def main() -> None:
        async with subrun.Session(workspace=workspace) as s:
            seen["ws"] = s.workspace
            rt = s.spawn()
            seen_rt.append(rt)
            await rt.execute_async("spin.wat", timeout=60)

    seen_rt: list[subrun.Runtime] = []
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(main())
    assert time.monotonic() - start < 5
    assert seen_rt[0].state == "cleaned_up"
    assert not seen["ws"].exists(), "the session was closed on the way out"
