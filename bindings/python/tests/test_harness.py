"""The examples in examples/python-harness: the directory grader and the SlopCodeBench-style loop."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[3] / "examples" / "python-harness"
sys.path.insert(0, str(HARNESS))

import grade_dir  # noqa: E402
import slopcode_loop  # noqa: E402


def test_grade_dir_gives_each_submission_its_verdicts() -> None:
    results = grade_dir.grade_dir(HARNESS / "problem", HARNESS / "submissions", timeout=1.0)
    verdicts = {sub: {v.case: v.verdict for v in vs} for sub, vs in results.items()}
    assert verdicts == {
        "correct.py": {"negative": "AC", "small": "AC"},
        "wrong.py": {"negative": "WA", "small": "AC"},
        "crash.py": {"negative": "RE", "small": "RE"},
        "slow.py": {"negative": "TLE", "small": "TLE"},
    }
    table = grade_dir.table(results)
    assert "correct.py" in table and "2/2" in table and "0/2" in table


def test_slopcode_loop_passes_and_fails_the_right_tests() -> None:
    tests = json.loads((HARNESS / "slopcode" / "tests.json").read_text())
    results = slopcode_loop.run_tests(HARNESS / "slopcode" / "submission", tests)
    assert [(t.name, t.passed, t.problems) for t in results] == [
        ("two_words", True, []),
        ("empty", True, []),
        ("usage", True, []),
        ("wrong_expectation", False, ["out.txt differs"]),
    ]
    # The submission directory itself is never written to.
    assert sorted(p.name for p in (HARNESS / "slopcode" / "submission").iterdir()) == ["main.py"]
