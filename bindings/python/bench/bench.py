"""Side-by-side benchmark of the Python package (issue 14), in one run.

Measures, on the wasi runtime:
  - warm ``Runtime.execute`` of hello.wasm and of ``python main.py`` from Python;
  - the same through the Rust API (the ``hello`` and ``guests`` sections of
    ``cargo bench -p subrun-tests --bench runtimes``, read back from its ``--json`` file);
  - ``subprocess.run(['subrun', 'run', ...])`` of the same hello.wasm;
  - throughput of hello.wasm executes from 1 and from 2 Python threads.
and prints PASS/MISS for the goals: Python adds <= 25 us over Rust's warm execute, >= 50x faster
than the subprocess path, 2 threads >= 1.6x one thread.

Usage (from the repository root, after ``cargo build --release --workspace --all-targets`` and
the package installed or staged on PYTHONPATH):
  python3 bindings/python/bench/bench.py [--rust-json FILE] [--n 2000]
Without ``--rust-json`` it runs the workspace's ``runtimes`` bench binary with
``--only hello,guests`` in the same run, after the Python rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import subrun

ROOT = Path(__file__).resolve().parents[3]
HELLO_DIR = ROOT / "examples" / "python-harness" / "hello"
SUBRUN = ROOT / "target" / "release" / "subrun"
PY_MAIN = 'print("hello, world")\n'  # the Rust bench's main.py (tests/benches/runtimes/guests.rs)


def warm(workspace: Path, command: str, expect: bytes, warmup: int, n: int) -> list[float]:
    """Per-call seconds of ``n`` warm executes of ``command`` in one spawned runtime."""
    samples = []
    with subrun.Session(workspace=workspace) as session:
        rt = session.spawn()
        for i in range(warmup + n):
            t0 = time.perf_counter()
            r = rt.execute(command)
            took = time.perf_counter() - t0
            if r.stdout != expect:
                sys.exit(f"bench: {command} printed {r.stdout!r}, expected {expect!r}")
            if i >= warmup:
                samples.append(took)
    return samples


def subprocess_hello(n: int) -> list[float]:
    """Per-call seconds of ``subrun run`` of hello.wasm as a child process."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        p = subprocess.run(
            [str(SUBRUN), "run", "--workspace", str(HELLO_DIR), "--", "hello.wasm"],
            capture_output=True,
            check=True,
        )
        samples.append(time.perf_counter() - t0)
        if p.stdout != b"hello, world\n":
            sys.exit(f"bench: subrun run printed {p.stdout!r}")
    return samples


def throughput(threads: int, seconds: float) -> float:
    """hello.wasm executes per second from ``threads`` threads, each with its own runtime."""
    with subrun.Session(workspace=HELLO_DIR) as session:
        runtimes = [session.spawn() for _ in range(threads)]
        for rt in runtimes:
            rt.execute("hello.wasm")
        counts = [0] * threads
        stop = time.perf_counter() + seconds

        def loop(i: int) -> None:
            while time.perf_counter() < stop:
                runtimes[i].execute("hello.wasm")
                counts[i] += 1

        ts = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    return sum(counts) / seconds


def rust_bench_binary() -> Path:
    """The Rust ``runtimes`` bench as built by the workspace's release build.

    ``cargo bench -p subrun-tests`` would unify features for that package alone and rebuild
    wasmtime; the workspace build (a no-op when up to date) names the binary it already has.
    """
    out = subprocess.run(
        ["cargo", "build", "--release", "--workspace", "--all-targets", "--message-format", "json"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "runtimes":
            if msg.get("executable"):
                return Path(msg["executable"])
    sys.exit("bench: cargo did not name the runtimes bench binary")


def rust_rows(json_path: Path | None) -> list[dict[str, object]]:
    """The Rust bench's rows of the hello and guests sections."""
    if json_path is None:
        json_path = Path(tempfile.mkdtemp()) / "rust.json"
        subprocess.run(
            [str(rust_bench_binary()), "--only", "hello,guests", "--json", str(json_path)],
            cwd=ROOT / "tests",
            check=True,
            stdout=subprocess.DEVNULL,
        )
    rows: list[dict[str, object]] = json.loads(json_path.read_text())["rows"]
    return [r for r in rows if r.get("section") in ("hello", "guests")]


def rust_median(rows: list[dict[str, object]], row_id: str) -> float | None:
    """The median (seconds) of the Rust bench's row ``row_id``, when it was measured."""
    for r in rows:
        if r.get("id") == row_id and r.get("status") == "measured":
            m = r.get("median")
            return float(m) if isinstance(m, (int, float)) else None
    return None


def us(s: float) -> str:
    return f"{s * 1e6:,.1f} µs"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rust-json", type=Path, help="a --json file of the Rust runtimes bench")
    ap.add_argument("--n", type=int, default=2000, help="timed hello.wasm executes")
    args = ap.parse_args()

    py_hello = statistics.median(warm(HELLO_DIR, "hello.wasm", b"hello, world\n", 50, args.n))
    with tempfile.TemporaryDirectory() as d:
        Path(d, "main.py").write_text(PY_MAIN)
        py_main = statistics.median(warm(Path(d), "python main.py", b"hello, world\n", 2, 20))
    sub = statistics.median(subprocess_hello(50))
    one = throughput(1, 3.0)
    two = throughput(2, 3.0)
    rows = rust_rows(args.rust_json)
    rust_hello = rust_median(rows, "hello.wasi.execute")
    rust_main = rust_median(rows, "guests.python.wasi.warm")

    print(f"{'what':<44} {'median':>14}")
    print(f"{'Rust API warm execute, hello.wasm':<44} {us(rust_hello) if rust_hello else 'n/a':>14}")
    print(f"{'Python warm execute, hello.wasm':<44} {us(py_hello):>14}")
    print(f"{'subprocess.run subrun run, hello.wasm':<44} {us(sub):>14}")
    print(f"{'Rust API warm execute, python main.py':<44} {us(rust_main) if rust_main else 'n/a':>14}")
    print(f"{'Python warm execute, python main.py':<44} {us(py_main):>14}")
    print(f"{'hello.wasm executes/s, 1 Python thread':<44} {one:>14,.0f}")
    print(f"{'hello.wasm executes/s, 2 Python threads':<44} {two:>14,.0f}")
    print(f"(machine: {os.cpu_count()} CPUs)")
    if rust_hello is not None:
        over = py_hello - rust_hello
        print(f"Python over Rust on hello.wasm: {us(over)} (goal <= 25 µs): {'PASS' if over <= 25e-6 else 'MISS'}")
    if rust_main is not None:
        print(f"Python over Rust on python main.py: {us(py_main - rust_main)}")
    print(f"subprocess / Python on hello.wasm: {sub / py_hello:,.0f}x (goal >= 50x): {'PASS' if sub / py_hello >= 50 else 'MISS'}")
    print(f"2 threads / 1 thread: {two / one:.2f}x (goal >= 1.6x): {'PASS' if two / one >= 1.6 else 'MISS'}")


if __name__ == "__main__":
    main()
