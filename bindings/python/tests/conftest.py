"""Fixtures: WebAssembly guests written as WAT into a fresh workspace directory."""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

HELLO = """(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello, world\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 13))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""

SPIN = """(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $l (br $l))))
"""

EXIT3 = """(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 3))))
"""

PY_MAIN = """import sys
data = sys.stdin.read()
with open("out.txt", "w") as f:
    f.write("args=" + ",".join(sys.argv[1:]) + " stdin=" + data)
print("sum", sum(int(x) for x in data.split()))
"""


def _dirs() -> set[str]:
    """This process's subrun temporary directories (named `subrun-<kind>-<pid>-...`)."""
    root = tempfile.gettempdir()
    return set(glob.glob(os.path.join(root, f"subrun-*-{os.getpid()}-*")))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A directory with hello.wat, spin.wat, exit3.wat and main.py."""
    (tmp_path / "hello.wat").write_text(HELLO)
    (tmp_path / "spin.wat").write_text(SPIN)
    (tmp_path / "exit3.wat").write_text(EXIT3)
    (tmp_path / "main.py").write_text(PY_MAIN)
    return tmp_path


@pytest.fixture(autouse=True)
def no_leaked_dirs() -> Iterator[None]:
    """Every test leaves no subrun temporary directory behind."""
    before = _dirs()
    yield
    leaked = _dirs() - before
    assert not leaked, f"leaked temporary directories: {sorted(leaked)}"
