"""The Python API on the wasi runtime (the default) and on local."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

import subrun


def test_run_hello_returns_its_exact_stdout(workspace: Path) -> None:
    r = subrun.run("hello.wat", workspace=workspace)
    assert r.stdout == b"hello, world\n"
    assert r.stdout_text == "hello, world\n"
    assert r.exit_code == 0
    assert r.ok and r.outcome.ok
    assert r.outcome.kind == "exited" and r.outcome.code == 0
    assert r.usage.stdout_bytes == 13
    assert r.usage.wall_time > 0


def test_a_failing_submission_is_a_result_not_an_exception(workspace: Path) -> None:
    r = subrun.run("exit3.wat", workspace=workspace)
    assert r.exit_code == 3
    assert not r.ok
    assert r.outcome.kind == "exited" and r.outcome.code == 3
    missing = subrun.run("nope.wasm", workspace=workspace)
    assert missing.exit_code == 127


def test_timeout_ends_the_guest_and_reads_as_timed_out(workspace: Path) -> None:
    start = time.monotonic()
    r = subrun.run("spin.wat", workspace=workspace, timeout=0.3)
    took = time.monotonic() - start
    assert r.timed_out
    assert r.outcome.kind == "timed_out"
    assert r.exit_code == 124
    assert r.usage.deadline == pytest.approx(0.3)
    assert took < 5, took


def test_python_submission_gets_args_stdin_and_its_files_read_back(workspace: Path) -> None:
    with subrun.Session(workspace=workspace) as s:
        rt = s.spawn()
        r = rt.execute("python main.py a b", stdin=b"1 2 3", timeout=30)
        assert r.ok, r.stderr_text
        assert r.stdout_text == "sum 6\n"
        assert s.get_file_contents("out.txt") == "args=a,b stdin=1 2 3"
        # The original directory is never modified.
        assert not (workspace / "out.txt").exists()


def test_session_closes_on_exit_and_refuses_calls_after(workspace: Path) -> None:
    with subrun.Session(workspace=workspace) as s:
        ws = s.workspace
        assert (ws / "hello.wat").is_file()
        rt = s.spawn()
        assert rt.state == "pending"
        assert rt.execute("hello.wat").ok
        assert rt.state == "exited"
    assert not ws.exists(), "the workspace is removed on close"
    with pytest.raises(subrun.CleanedUpError):
        s.spawn()
    with pytest.raises(subrun.CleanedUpError):
        rt.execute("hello.wat")
    s.close()  # idempotent


def test_spec_errors_name_the_key() -> None:
    with pytest.raises(subrun.SpecError, match=r"limits\.timeout"):
        subrun.Spec.from_yaml("type: wasi\nlimits: {timeout: soon}\n")
    unknown = subrun.Spec.from_yaml("type: nosuch\n")
    with pytest.raises(subrun.SpecError, match="nosuch"):
        subrun.Session(unknown)
    with pytest.raises(subrun.Error):
        subrun.Spec.from_path("/nonexistent/spec.yaml")
    assert issubclass(subrun.SpecError, subrun.Error)


def test_shell_syntax_on_wasi_is_a_command_error(workspace: Path) -> None:
    with pytest.raises(subrun.CommandError, match="hello.wat"):
        subrun.run("hello.wat && hello.wat", workspace=workspace)


def test_env_reaches_the_guest(workspace: Path) -> None:
    (workspace / "env.py").write_text("import os\nprint(os.environ['SEED'])\n")
    r = subrun.run("python env.py", workspace=workspace, env={"SEED": "7"}, timeout=30)
    assert r.stdout_text == "7\n", r.stderr_text


def test_local_runtime_through_a_yaml_spec(tmp_path: Path) -> None:
    spec = subrun.Spec.from_yaml("type: local\n")
    assert spec.kind == "local"
    r = subrun.run("echo hi && exit 4", spec=spec, workspace=tmp_path)
    assert r.stdout == b"hi\n"
    assert r.exit_code == 4


def test_kill_from_another_thread_stops_the_guest(workspace: Path) -> None:
    with subrun.Session(workspace=workspace) as s:
        rt = s.spawn()
        timer = threading.Timer(0.3, rt.kill)
        timer.start()
        start = time.monotonic()
        r = rt.execute("spin.wat", timeout=60)
        assert r.outcome.kind == "killed"
        assert r.exit_code == 137
        assert time.monotonic() - start < 5
        assert rt.state == "killed"


def test_threads_run_executions_in_parallel(workspace: Path) -> None:
    with subrun.Session(workspace=workspace) as s:
        rt = s.spawn()
        rt.execute("hello.wat")  # compile once
        results: list[subrun.Result] = []

        def spin() -> None:
            results.append(rt.execute("spin.wat", timeout=0.5))

        start = time.monotonic()
        threads = [threading.Thread(target=spin) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.monotonic() - start
        assert [r.outcome.kind for r in results] == ["timed_out", "timed_out"]
        # Serialised they would take 1 s; the GIL is released while guests run.
        assert took < 0.9, took


def test_ctrl_c_cancels_the_running_execution(workspace: Path) -> None:
    with subrun.Session(workspace=workspace) as s:
        rt = s.spawn()
        rt.execute("hello.wat")
        timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
        timer.start()
        start = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            rt.execute("spin.wat", timeout=60)
        assert time.monotonic() - start < 5
        assert rt.state != "running"
