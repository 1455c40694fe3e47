"""subrun.grade: the Grader from Python, on the repository's example problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import subrun

ROOT = Path(__file__).resolve().parents[3]
PROBLEM = ROOT / "examples" / "grade" / "sum"
SUBS = ROOT / "examples" / "grade" / "submissions"


def test_grade_returns_each_verdict_and_streams_every_case() -> None:
    seen: list[dict[str, Any]] = []
    report = subrun.grade(
        PROBLEM,
        [SUBS / "correct.py", SUBS / "wrong.py", SUBS / "c" / "crash.c"],
        jobs=2,
        on_case=seen.append,
    )
    assert isinstance(report, subrun.Report)
    assert not report.all_accepted
    doc = report.to_dict()
    verdicts = {
        s["submission"]: [c["verdict"] for c in s["cases"]] for s in doc["submissions"]
    }
    assert verdicts == {
        "correct.py": ["AC", "AC", "AC"],
        "wrong.py": ["AC", "WA", "WA"],
        "crash.c": ["AC", "RE", "RE"],
    }
    assert report.scores == [
        ("correct.py", 100.0, 100.0),
        ("wrong.py", 10.0, 100.0),
        ("crash.c", 10.0, 100.0),
    ]
    # Every case reached the callback once, as a dict like a --jsonl line.
    assert sorted((c["submission"], c["case"]) for c in seen) == sorted(
        (s["submission"], c["case"]) for s in doc["submissions"] for c in s["cases"]
    )
    assert json.loads(report.to_json()) == doc
    assert "wrong.py" in report.table()
    assert "<testsuites" in report.to_junit()
    assert json.loads(report.to_ctrf(1, 2))["reportFormat"] == "CTRF"


def test_shards_of_a_run_cover_each_case_once() -> None:
    subs = [SUBS / "correct.py", SUBS / "wrong.py"]
    cases = [
        (s["submission"], c["case"])
        for i in range(2)
        for s in subrun.grade(PROBLEM, subs, shard=(i, 2)).to_dict()["submissions"]
        for c in s["cases"]
    ]
    assert sorted(cases) == sorted((s.name, c) for s in subs for c in ("small", "negative", "many"))


def test_a_bad_problem_is_a_grade_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "problem.yaml").write_text("groups: 7\n")
    with pytest.raises(subrun.GradeError, match="problem.yaml") as err:
        subrun.grade(tmp_path, [SUBS / "correct.py"])
    assert isinstance(err.value, subrun.Error)


def test_an_exception_in_on_case_is_raised_after_the_run() -> None:
    def boom(case: dict[str, Any]) -> None:
        raise RuntimeError("from the callback: " + case["case"])

    with pytest.raises(RuntimeError, match="from the callback"):
        subrun.grade(PROBLEM, [SUBS / "correct.py"], on_case=boom)
