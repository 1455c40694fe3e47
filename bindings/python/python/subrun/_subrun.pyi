"""Type stubs of the extension module (see ``bindings/python/src/lib.rs``)."""

from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Mapping

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

class Runtime:
    """A spawned runtime."""

    def execute(
        self,
        command: str,
        *,
        timeout: float | None = None,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Result:
        """Runs ``command`` to its end; a failing command is a Result too."""
    def kill(self) -> None:
        """Kills every running command; returns once they have stopped."""
    @property
    def state(self) -> str:
        """``pending``, ``running``, ``exited``, ``killed`` or ``cleaned_up``."""
    @property
    def kind(self) -> str:
        """The runtime kind."""

class Session:
    """A spec, a workspace and the runtimes spawned in it; a context manager."""

    def __init__(
        self,
        spec: Spec | None = None,
        *,
        workspace: _Path | None = None,
        assets: Mapping[str, _Path] | None = None,
    ) -> None: ...
    def spawn(self, *, env: Mapping[str, str] | None = None) -> Runtime:
        """Spawns a runtime (setup commands run once, here)."""
    def get_file_contents(self, path: str) -> str | bytes:
        """A workspace file: ``str`` when it is UTF-8 text, else ``bytes``."""
    @property
    def workspace(self) -> Path:
        """The host path of the workspace."""
    def close(self) -> None:
        """Cleans up every runtime and removes the workspace. Idempotent."""
    def __enter__(self) -> Session: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...

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
