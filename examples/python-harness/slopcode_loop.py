"""The loop a SlopCodeBench-style runner uses, in-process: spawn once per submission, then per
test write its input files, execute the entry point with its arguments, and read the results
back (exit code, stdout, the files it should have written).

A test (in a JSON list) is ``{"name", "args": [...], "files": {path: text},
"expected": {"exit_code", "stdout", "files": {path: text}}}``.

Usage: python examples/python-harness/slopcode_loop.py SUBMISSION_DIR TESTS_JSON [--entry main.py]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import subrun


@dataclass(frozen=True)
class TestResult:
    """One test's outcome: passed, and what differed when it did not."""

    name: str
    passed: bool
    problems: list[str]


def check(session: subrun.Session, result: subrun.Result, expected: dict[str, Any]) -> list[str]:
    """What differs between ``result`` (and the workspace) and ``expected``."""
    problems = []
    if result.exit_code != expected.get("exit_code", 0):
        problems.append(f"exit code {result.exit_code}, expected {expected.get('exit_code', 0)}")
    if "stdout" in expected and result.stdout_text != expected["stdout"]:
        problems.append("stdout differs")
    for path, want in expected.get("files", {}).items():
        try:
            got = session.get_file_contents(path)
        except subrun.Error:
            problems.append(f"{path}: not written")
            continue
        if got != want:
            problems.append(f"{path} differs")
    return problems


def run_tests(submission: Path, tests: list[dict[str, Any]], entry: str = "main.py") -> list[TestResult]:
    """Runs every test against ``submission`` (copied, never modified) in one spawned runtime."""
    out = []
    with subrun.Session(workspace=submission) as session:
        rt = session.spawn()
        for test in tests:
            name = test["name"]
            session.write_files(test.get("files", {}))
            command = shlex.join(["python", entry, *test.get("args", [])])
            r = rt.execute(command, timeout=float(test.get("timeout", 10)))
            problems = check(session, r, test["expected"])
            out.append(TestResult(name, not problems, problems))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description="A SlopCodeBench-style test loop on subrun.")
    ap.add_argument("submission", type=Path)
    ap.add_argument("tests", type=Path)
    ap.add_argument("--entry", default="main.py")
    args = ap.parse_args()
    tests = json.loads(args.tests.read_text())
    results = run_tests(args.submission, tests, args.entry)
    for t in results:
        print(f"{'PASS' if t.passed else 'FAIL'}  {t.name}  {'; '.join(t.problems)}")
    print(f"{sum(t.passed for t in results)}/{len(results)} passed")
    return 0 if all(t.passed for t in results) else 1


if __name__ == "__main__":
    sys.exit(main())
