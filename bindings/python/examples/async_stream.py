"""Runs a Python submission's cases concurrently from asyncio, then streams one run.

Usage: python async_stream.py SUBMISSION_DIR [CASE_STDIN...]
(the directory holds main.py; each case is fed on stdin).
"""

from __future__ import annotations

import asyncio
import sys

import subrun


async def grade(submission: str, cases: list[str]) -> list[subrun.Result]:
    """Every case at once in one runtime, then one streamed run of the first case."""
    async with subrun.Session(workspace=submission) as s:
        rt = await s.spawn_async()
        results = await asyncio.gather(
            *(rt.execute_async("python main.py", stdin=c.encode(), timeout=10) for c in cases)
        )
        async for ev in rt.stream("python main.py", stdin=cases[0].encode(), timeout=10):
            if isinstance(ev, subrun.Chunk):
                print(f"{ev.stream}: {ev.data!r}")
            else:
                print(f"finished: {ev.result.outcome}")
        return list(results)


def main() -> int:
    """Prints each case's outcome and stdout; exits 1 when any case failed."""
    submission, *cases = sys.argv[1:] or ["."]
    results = asyncio.run(grade(submission, cases or [""]))
    for case, r in zip(cases, results):
        print(f"{case!r}: {r.outcome} {r.stdout_text!r}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
