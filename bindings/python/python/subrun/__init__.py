"""subrun: run untrusted code submissions in-process, for graders and evaluation harnesses.

A failing submission is a :class:`Result`, never an exception; exceptions (all under
:class:`Error`) mean the engine itself could not do its job. The GIL is released while a
guest runs, so threads run executions in parallel; Ctrl-C cancels the running execution.

:func:`grade` grades submissions against a problem's cases (what ``subrun grade`` does) and
returns a :class:`Report`; a failing submission is a verdict in it.

Every blocking call has an awaitable twin for asyncio (``execute_async``, ``spawn_async``,
``kill_async``, ``close_async``, ``async with Session(...)``), and ``Runtime.stream`` is an
async iterator of :class:`Chunk` events and one :class:`Finished`. Cancelling the task that
awaits one kills the command it runs.

Interpreter guests (``python``, ``node``) are installed apart from the wheel, by
``scripts/fetch-guests.sh`` of the subrun repository, into ``$SUBRUN_GUEST_DIR`` or
``~/.local/share/subrun/guests``.
"""

from typing import Union

from ._subrun import (
    BackendError,
    Checkpoint,
    Chunk,
    CleanedUpError,
    CommandError,
    Error,
    FileDiff,
    Finished,
    GradeError,
    InputFile,
    Outcome,
    Report,
    Result,
    Runtime,
    Session,
    SetupError,
    Snapshot,
    Spec,
    SpecError,
    Stream,
    Usage,
    WorkspaceDiff,
    WorkspaceError,
    diff_snapshots,
    grade,
    run,
)

Event = Union[Chunk, Finished]
"""What ``Runtime.stream`` yields: output chunks, then one ``Finished``."""

__all__ = [
    "BackendError",
    "Checkpoint",
    "Chunk",
    "CleanedUpError",
    "CommandError",
    "Error",
    "Event",
    "FileDiff",
    "Finished",
    "GradeError",
    "InputFile",
    "Outcome",
    "Report",
    "Result",
    "Runtime",
    "Session",
    "SetupError",
    "Snapshot",
    "Spec",
    "SpecError",
    "Stream",
    "Usage",
    "WorkspaceDiff",
    "WorkspaceError",
    "diff_snapshots",
    "grade",
    "run",
]
