"""Grades a directory of Python submissions against a problem's cases, in-process.

Each submission gets one session and one spawned runtime (the CPython guest is loaded once);
each case is one ``execute`` of ``python main.py`` with the case's stdin, its output compared
with the expected answer token by token (whitespace-insensitive).

The problem directory holds ``cases/NAME.in`` and ``cases/NAME.ans``.

Usage: python examples/python-harness/grade_dir.py PROBLEM_DIR SUBMISSIONS_DIR [--timeout 2]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import subrun


@dataclass(frozen=True)
class Case:
    """One test case: stdin and the expected stdout."""

    name: str
    stdin: bytes
    expected: str


@dataclass(frozen=True)
class CaseVerdict:
    """The verdict of one submission on one case: AC, WA, RE or TLE."""

    case: str
    verdict: str
    wall_ms: float


def load_cases(problem: Path) -> list[Case]:
    """The cases of ``problem`` (``cases/*.in`` with their ``.ans``), sorted by name."""
    cases = []
    for inp in sorted((problem / "cases").glob("*.in")):
        ans = inp.with_suffix(".ans")
        if not ans.is_file():
            raise SystemExit(f"grade_dir: case {inp.stem}: {ans} is missing")
        cases.append(Case(inp.stem, inp.read_bytes(), ans.read_text()))
    if not cases:
        raise SystemExit(f"grade_dir: {problem / 'cases'}: no *.in files")
    return cases


def verdict_of(result: subrun.Result, expected: str) -> str:
    """AC when it exited 0 with the expected tokens, else WA, RE or TLE."""
    if result.timed_out:
        return "TLE"
    if not result.ok:
        return "RE"
    return "AC" if result.stdout_text.split() == expected.split() else "WA"


def grade_submission(source: Path, cases: list[Case], timeout: float) -> list[CaseVerdict]:
    """Runs ``source`` (as main.py) on every case in one spawned runtime."""
    with tempfile.TemporaryDirectory(prefix="grade-dir-") as tmp:
        shutil.copyfile(source, Path(tmp) / "main.py")
        out = []
        with subrun.Session(workspace=tmp) as session:
            rt = session.spawn()
            for case in cases:
                r = rt.execute("python main.py", stdin=case.stdin, timeout=timeout)
                out.append(CaseVerdict(case.name, verdict_of(r, case.expected), r.usage.wall_time * 1e3))
    return out


def grade_dir(problem: Path, submissions: Path, timeout: float) -> dict[str, list[CaseVerdict]]:
    """Every ``*.py`` of ``submissions`` graded against ``problem``, by file name."""
    cases = load_cases(problem)
    return {p.name: grade_submission(p, cases, timeout) for p in sorted(submissions.glob("*.py"))}


def table(results: dict[str, list[CaseVerdict]]) -> str:
    """A text table: one row per submission, one column per case, then the AC count."""
    names = [v.case for v in next(iter(results.values()), [])]
    width = max([len("submission"), *(len(s) for s in results)])
    lines = [" ".join([f"{'submission':<{width}}", *(f"{n:>9}" for n in names), "   passed"])]
    for sub, verdicts in results.items():
        passed = sum(v.verdict == "AC" for v in verdicts)
        cells = [f"{v.verdict:>9}" for v in verdicts]
        lines.append(" ".join([f"{sub:<{width}}", *cells, f"{passed:>6}/{len(verdicts)}"]))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description="Grade Python submissions in-process with subrun.")
    ap.add_argument("problem", type=Path)
    ap.add_argument("submissions", type=Path)
    ap.add_argument("--timeout", type=float, default=2.0, help="seconds per case")
    args = ap.parse_args()
    results = grade_dir(args.problem, args.submissions, args.timeout)
    print(table(results))
    return 0 if all(v.verdict == "AC" for vs in results.values() for v in vs) else 1


if __name__ == "__main__":
    sys.exit(main())
