"""Grades a submission's `solution.py` against the cases in /static/cases.

Each case is a JSON file {"input": [...], "expected": ...}; the submission defines
`solve(numbers) -> int` (the length of the longest strictly increasing run). The grader
imports it from the workspace, runs every case (an exception fails that case only), prints one
line per case, writes grade.json into the workspace and exits 0 when every case passed, 1
otherwise.
"""
import json
import os
import sys
import traceback

CASES = "/static/cases"


def main():
    sys.path.insert(0, os.getcwd())  # the workspace: the submission's directory
    try:
        import solution
    except Exception:
        print("the submission does not import:", file=sys.stderr)
        traceback.print_exc()
        return 2
    results = []
    for name in sorted(os.listdir(CASES)):
        with open(os.path.join(CASES, name), encoding="utf-8") as f:
            case = json.load(f)
        try:
            got = solution.solve(list(case["input"]))
            verdict = "pass" if got == case["expected"] else "fail"
            detail = "" if verdict == "pass" else f"expected {case['expected']!r}, got {got!r}"
        except Exception as e:
            verdict, detail = "error", f"{type(e).__name__}: {e}"
        results.append({"case": name, "verdict": verdict, "detail": detail})
        print(f"{name:<20} {verdict:<5} {detail}".rstrip())
    passed = sum(r["verdict"] == "pass" for r in results)
    score = {"passed": passed, "total": len(results), "results": results}
    with open("grade.json", "w", encoding="utf-8") as f:
        json.dump(score, f, indent=2)
        f.write("\n")
    print(f"score: {passed}/{len(results)}")
    return 0 if passed == len(results) else 1


sys.exit(main())
