"""Type stubs of the extension module (see ``bindings/python/src/lib.rs``)."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, overload

_Path = str | PathLike[str]

class Error(Exception):
    """The engine could not do its job; the base of every subrun exception."""

class SpecError(Error):
    """An invalid environment spec; the message names the key."""

class WorkspaceError(Error):
    """A workspace, snapshot or input-file operation failed; the message names the path."""

class SetupError(Error):
    """A setup command failed, so the runtime was not spawned."""

class CommandError(Error):
    """The command cannot be run as written (for example shell syntax on wasi)."""

class CleanedUpError(Error):
    """The session or runtime was closed or cleaned up."""

class BackendError(Error):
    """The runtime's backend failed (wasmtime, the OS, the Docker engine)."""

class GradeError(Error):
    """Grading could not be done (an invalid problem, an unreadable submission...)."""

class Spec:
    """An environment spec: which runtime, its limits, assets, setup commands."""

    @staticmethod
    def from_yaml(text: str, base_dir: _Path | None = None) -> Spec:
        """Parses a YAML document; relative paths resolve against ``base_dir``."""
    @staticmethod
    def from_path(path: _Path) -> Spec:
        """Reads a spec file (YAML, or JSON when the name ends in ``.json``)."""
    @staticmethod
    def default() -> Spec:
        """The spec ``subrun run`` uses without ``--spec`` (wasi, installed guests)."""
    @property
    def kind(self) -> str:
        """The runtime kind: ``wasi``, ``local`` or ``docker``."""

class Outcome:
    """How an execution ended."""

    @property
    def kind(self) -> str:
        """``exited``, ``signaled``, ``timed_out``, ``resource_exceeded``, ``trapped`` or ``killed``."""
    @property
    def code(self) -> int | None:
        """The exit status, for ``exited``."""
    @property
    def signal(self) -> int | None:
        """The signal number, for ``signaled``."""
    @property
    def resource(self) -> str | None:
        """Which limit, for ``resource_exceeded``."""
    @property
    def trap(self) -> str | None:
        """What kind of trap, for ``trapped``."""
    @property
    def ok(self) -> bool:
        """True for ``exited`` with status 0."""

class Usage:
    """What an execution used."""

    wall_time: float
    cpu_time: float | None
    fuel_consumed: int | None
    peak_memory: int | None
    stdout_bytes: int
    stderr_bytes: int
    deadline: float | None

class Result:
    """The result of one execution."""

    @property
    def outcome(self) -> Outcome:
        """How it ended."""
    @property
    def exit_code(self) -> int:
        """The exit code, the same on every runtime (124 timeout, 127 not found, 137 killed)."""
    @property
    def stdout(self) -> bytes:
        """The exact bytes written on stdout, up to ``limits.output``."""
    @property
    def stderr(self) -> bytes:
        """The exact bytes written on stderr, up to ``limits.output``."""
    @property
    def stdout_text(self) -> str:
        """stdout decoded as UTF-8 (invalid bytes replaced)."""
    @property
    def stderr_text(self) -> str:
        """stderr decoded as UTF-8 (invalid bytes replaced)."""
    @property
    def stdout_truncated(self) -> bool:
        """True when stdout reached the cap."""
    @property
    def stderr_truncated(self) -> bool:
        """True when stderr reached the cap."""
    @property
    def timed_out(self) -> bool:
        """True when the deadline ended it."""
    @property
    def ok(self) -> bool:
        """True when it exited with status 0."""
    @property
    def usage(self) -> Usage:
        """What it used."""

class Chunk:
    """A chunk of output, in the order the command wrote it."""

    @property
    def stream(self) -> Literal["stdout", "stderr"]:
        """Which stream it was written on."""
    @property
    def data(self) -> bytes:
        """The bytes, exactly as written."""

class Finished:
    """The last event of a stream: the execution ended."""

    @property
    def result(self) -> Result:
        """The whole Result; its stdout and stderr are the concatenation of the chunks."""

class Stream:
    """An async iterator of ``Chunk``s, then one ``Finished`` (``async for ev in rt.stream(...)``).

    The command starts at the first ``__anext__``. Leaving the loop early (the stream is
    dropped), ``kill()`` or cancelling the awaiting task kills the command.
    """

    def __aiter__(self) -> Stream: ...
    def __anext__(self) -> Awaitable[Chunk | Finished]:
        """The next event; ``StopAsyncIteration`` after ``Finished``."""
    def kill(self) -> None:
        """Kills the command (it ends ``killed``; the remaining events still arrive)."""

class Runtime:
    """A spawned runtime: run commands in it, kill them, clean it up."""

    def execute(
        self,
        command: str,
        *,
        timeout: float | None = None,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Result:
        """Runs ``command`` to its end; a failing command is a Result too.

        ``stdin`` is fed then closed; ``timeout`` in seconds replaces ``limits.timeout``.
        """
    def execute_async(
        self,
        command: str,
        *,
        timeout: float | None = None,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Awaitable[Result]:
        """As ``execute``, awaitable; cancelling the awaiting task kills the command."""
    def stream(
        self,
        command: str,
        *,
        timeout: float | None = None,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Stream:
        """Starts ``command``; an async iterator of its ``Chunk``s and one ``Finished``."""
    def kill(self) -> None:
        """Kills every running command; returns once they have stopped."""
    def kill_async(self) -> Awaitable[None]:
        """As ``kill``, awaitable."""
    def poll(self) -> Outcome | None:
        """The last execution's outcome once it finished; ``None`` while one runs or before."""
    def cleanup(self) -> None:
        """Kills everything and releases the runtime. Idempotent."""
    @property
    def state(self) -> str:
        """``pending``, ``running``, ``exited``, ``killed`` or ``cleaned_up``."""
    @property
    def kind(self) -> str:
        """The runtime kind."""
    @property
    def id(self) -> str:
        """This runtime's id."""

class InputFile:
    """A file to write into the workspace.

    ``content`` is ``str`` (UTF-8), ``bytes`` (as given) or JSON-like data serialized by
    ``file_type`` (json, jsonl, csv, tsv, yaml; default from the extension). ``compression``
    (``gz``, ``bz2``) is applied after; default from the extension (``data.jsonl.gz``).
    """

    def __init__(
        self,
        path: str,
        content: str | bytes | Any,
        *,
        file_type: Literal["text", "json", "jsonl", "csv", "tsv", "yaml", "binary"] | None = None,
        compression: Literal["none", "gz", "bz2"] | None = None,
    ) -> None: ...
    @property
    def path(self) -> str:
        """The relative path in the workspace."""
    def encode(self) -> bytes:
        """The bytes as they will be written (serialized, compressed)."""

class Snapshot:
    """A workspace archived: a canonical tar, its listing and a content checksum."""

    @staticmethod
    def from_path(path: _Path) -> Snapshot:
        """Reads an archive file (tar, tar.gz, tar.bz2, tar.xz); every member is checked."""
    @staticmethod
    def from_bytes(data: bytes) -> Snapshot:
        """Decodes archive bytes; every member is checked."""
    @property
    def checksum(self) -> str:
        """The sha256 (hex) of the uncompressed canonical tar: equal content, equal checksum."""
    @property
    def archive(self) -> bytes:
        """The archive's bytes."""
    @property
    def paths(self) -> list[str]:
        """Every member's path, sorted (directories included)."""
    @property
    def skipped(self) -> list[tuple[str, str]]:
        """``(path, reason)`` of each entry left out (symlinks leading outside...)."""
    def read(self, path: str) -> bytes | None:
        """The content of the file at ``path``; ``None`` when it is not a file of it."""
    def write_to_dir(self, dir: _Path) -> Path:
        """Writes the archive into ``dir`` as ``snapshot-<16 hex>.tar.gz`` (or .tar...)."""
    def diff(self, new: Snapshot) -> WorkspaceDiff:
        """What changed from this snapshot to ``new``."""
    def __len__(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class FileDiff:
    """How one entry changed."""

    @property
    def path(self) -> str:
        """The entry's path relative to the workspace."""
    @property
    def change(self) -> Literal["created", "deleted", "modified"]:
        """Which list it is in."""
    @property
    def kind(self) -> Literal["text", "binary", "none"]:
        """``text`` (a unified diff), ``binary`` (sizes) or ``none`` (directories, symlinks)."""
    @property
    def unified(self) -> str | None:
        """The unified diff (``--- a/path``, ``+++ b/path``, hunks), for text files."""
    @property
    def added(self) -> int:
        """Lines added (text files; else 0)."""
    @property
    def removed(self) -> int:
        """Lines removed (text files; else 0)."""
    @property
    def old_type(self) -> str | None:
        """``file``, ``directory`` or ``symlink`` before; ``None`` when created."""
    @property
    def new_type(self) -> str | None:
        """The entry type after; ``None`` when deleted."""
    @property
    def modes(self) -> tuple[str | None, str | None]:
        """The permission bits before and after, as four octal digits (``0644``)."""

class WorkspaceDiff:
    """The changes between two snapshots (or a snapshot and the workspace)."""

    @property
    def created(self) -> list[FileDiff]:
        """Entries only in the new side, sorted by path."""
    @property
    def deleted(self) -> list[FileDiff]:
        """Entries only in the old side."""
    @property
    def modified(self) -> list[FileDiff]:
        """Entries on both sides whose content, mode, target or type differ."""
    @property
    def lines_added(self) -> int:
        """Lines added over every text file."""
    @property
    def lines_removed(self) -> int:
        """Lines removed over every text file."""
    def to_json(self) -> str:
        """The diff as JSON."""
    def __bool__(self) -> bool:
        """False when nothing changed."""

class Checkpoint:
    """What ``Session.finish_checkpoint()`` produced (agent mode)."""

    snapshot: Snapshot
    archive_path: Path | None
    diff: WorkspaceDiff

def diff_snapshots(old: Snapshot, new: Snapshot) -> WorkspaceDiff:
    """What changed from ``old`` to ``new``."""

class Session:
    """A spec, a workspace and the runtimes spawned in it; ``with`` or ``async with`` it."""

    def __init__(
        self,
        spec: Spec | None = None,
        *,
        workspace: _Path | None = None,
        assets: Mapping[str, _Path] | None = None,
        mode: Literal["evaluation", "agent"] = "evaluation",
        snapshot: Snapshot | None = None,
    ) -> None:
        """A session on ``spec`` (default ``Spec.default()``).

        The workspace starts as ``snapshot`` restored, then a copy of ``workspace`` over it
        (the original is never modified); ``assets`` (name -> host path) are shown read-only
        at ``/static/NAME``.
        """
    def spawn(self, *, env: Mapping[str, str] | None = None) -> Runtime:
        """Spawns a runtime (setup commands run once, here)."""
    def spawn_async(self, *, env: Mapping[str, str] | None = None) -> Awaitable[Runtime]:
        """As ``spawn``, awaitable."""
    def materialize_input_files(
        self, files: Sequence[InputFile] | Mapping[str, str | bytes | Any]
    ) -> list[str]:
        """Writes files (all validated before any is written); returns their paths."""
    def write_files(self, files: Mapping[str, str | bytes]) -> list[str]:
        """Writes ``files`` (relative path -> content); returns their paths."""
    @overload
    def get_file_contents(self, paths: str) -> str | bytes:
        """One workspace file: ``str`` when it is UTF-8 text, else ``bytes``."""
    @overload
    def get_file_contents(self, paths: list[str] | tuple[str, ...]) -> dict[str, str | bytes]:
        """Every regular file matching the paths or globs, by path."""
    def snapshot(self) -> Snapshot:
        """Captures the workspace; the baseline is kept."""
    def update_snapshot(self) -> Snapshot:
        """Captures the workspace and makes it the new baseline."""
    def restore_snapshot(self, snapshot: Snapshot) -> None:
        """Makes the workspace hold exactly ``snapshot``."""
    @property
    def baseline(self) -> Snapshot:
        """The snapshot diffs compare against (prepare, then ``update_snapshot``)."""
    def diff_since_baseline(self) -> WorkspaceDiff:
        """What changed in the workspace since the baseline."""
    def diff(self, old: Snapshot | None = None, new: Snapshot | None = None) -> WorkspaceDiff:
        """From ``old`` (default: the baseline) to ``new`` (default: the workspace now)."""
    def finish_checkpoint(self) -> Checkpoint:
        """Agent mode: snapshot, export, diff against the baseline, new baseline."""
    @property
    def asset_paths(self) -> dict[str, str]:
        """Static asset name -> the path the runtimes show it at."""
    def render(self, text: str) -> str:
        """Renders ``{{static:NAME}}`` placeholders; an unknown name is a ``SpecError``."""
    @property
    def workspace(self) -> Path:
        """The host path of the workspace."""
    @property
    def mode(self) -> Literal["evaluation", "agent"]:
        """The session's mode."""
    @property
    def id(self) -> str:
        """The session id (docker containers carry it in their ``subrun.session`` label)."""
    def close(self) -> None:
        """Cleans up every runtime and removes the workspace. Idempotent."""
    def close_async(self) -> Awaitable[None]:
        """As ``close``, awaitable."""
    def __enter__(self) -> Session: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...
    def __aenter__(self) -> Awaitable[Session]: ...
    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Awaitable[None]: ...

def run(
    command: str,
    *,
    workspace: _Path | None = None,
    spec: Spec | None = None,
    timeout: float | None = None,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    assets: Mapping[str, _Path] | None = None,
) -> Result:
    """Runs one command in a fresh session and returns its Result."""

class Report:
    """The report of a grading run; ``to_dict()`` is the ``subrun grade --json`` document."""

    @property
    def problem(self) -> str:
        """The problem's name."""
    @property
    def all_accepted(self) -> bool:
        """True when every case of every submission is AC."""
    @property
    def scores(self) -> list[tuple[str, float, float]]:
        """Each submission's ``(name, score, max_score)``."""
    def to_dict(self) -> dict[str, Any]:
        """The report as the ``--json`` document."""
    def to_json(self) -> str:
        """The report as JSON text."""
    def table(self) -> str:
        """The table ``subrun grade`` prints (names and messages escaped)."""
    def to_junit(self) -> str:
        """The report as JUnit XML."""
    def to_ctrf(self, start_ms: int, stop_ms: int) -> str:
        """The report as CTRF JSON; the run's bounds in Unix milliseconds."""

def grade(
    problem: _Path,
    submissions: Sequence[_Path],
    *,
    spec: Spec | None = None,
    jobs: int | None = None,
    fail_fast: bool = False,
    shard: tuple[int, int] | None = None,
    on_case: Callable[[dict[str, Any]], object] | None = None,
) -> Report:
    """Grades ``submissions`` against every case of the problem directory ``problem``.

    ``on_case`` is called with each case's result (the ``--jsonl`` line as a dict) as it
    finishes; an exception it raises is raised after the run. ``shard=(i, n)`` grades shard
    ``i`` of ``n``. A failing submission is a verdict; ``GradeError`` means subrun could not
    grade.
    """
