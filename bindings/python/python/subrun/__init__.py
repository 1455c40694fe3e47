"""subrun: run untrusted code submissions in-process, for graders and evaluation harnesses.

A failing submission is a :class:`Result`, never an exception; exceptions (all under
:class:`Error`) mean the engine itself could not do its job. The GIL is released while a
guest runs, so threads run executions in parallel; Ctrl-C cancels the running execution.

Interpreter guests (``python``, ``node``) are installed apart from the wheel, by
``scripts/fetch-guests.sh`` of the subrun repository, into ``$SUBRUN_GUEST_DIR`` or
``~/.local/share/subrun/guests``.
"""

from ._subrun import (
    BackendError,
    CleanedUpError,
    CommandError,
    Error,
    Outcome,
    Result,
    Runtime,
    Session,
    SetupError,
    Spec,
    SpecError,
    Usage,
    WorkspaceError,
    run,
)

__all__ = [
    "BackendError",
    "CleanedUpError",
    "CommandError",
    "Error",
    "Outcome",
    "Result",
    "Runtime",
    "Session",
    "SetupError",
    "Spec",
    "SpecError",
    "Usage",
    "WorkspaceError",
    "run",
]
