"""What a validator runs against: the worktree, the changes, the environment.

Paths that come from a plan (a validator's ``cwd``, an artifact's ``path``)
are confined to the worktree here: absolute paths, ``..`` segments and
symlinks that resolve outside the worktree are refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import TypeAlias, final

import attrs

from playbill._process import BASE_ENV, base_env
from playbill._redact import Redactor
from playbill.runtime import PlaybillError, ProcessInfo

ProcessHook: TypeAlias = Callable[[ProcessInfo], Awaitable[None]]
"""Told of every process a validator starts, as soon as it runs (to journal it)."""

ENV_ALLOWLIST: tuple[str, ...] = BASE_ENV
"""Environment variables a validator's command always gets, when they are set."""


def command_env(
    allow: Iterable[str] = (), environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for validator commands: only allowlisted variables.

    Commands run code from the attempt's worktree, which an agent wrote; they
    get ``ENV_ALLOWLIST`` and the names in ``allow``, never the whole
    environment (API keys and tokens stay out of reach).

    Args:
        allow: Further variable names to pass on.
        environ: The environment to pick from (``os.environ`` when ``None``).

    Returns:
        The allowlisted variables that are set in ``environ``.
    """
    return base_env(allow, environ=environ)


def _paths(paths: Iterable[str]) -> tuple[str, ...]:
    return tuple(paths)


def _frozen_env(env: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(env))


@final
@attrs.frozen
class ValidationContext:
    """The attempt that validators check, and how to run their commands.

    Attributes:
        worktree: The attempt's worktree root; commands run inside it and
            plan paths are confined to it.
        changed_files: Repository-relative paths (``/``-separated) the attempt
            changed; ``file_changed`` validators match them.
        redactor: Removes secret values from captured output and details.
        env: The whole environment commands get (build it with
            ``command_env``); read-only.
        output_limit: Characters of output kept in a result's ``output_tail``
            (at least 1).
        on_start: Told of every command's process as soon as it runs (the
            checks backend journals it, see ``Reporter.process_started``).
    """

    worktree: Path = attrs.field(converter=Path)
    changed_files: tuple[str, ...] = attrs.field(default=(), converter=_paths)
    redactor: Redactor = attrs.field(factory=Redactor)
    env: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_env)
    output_limit: int = attrs.field(default=4000, validator=attrs.validators.ge(1))
    on_start: ProcessHook | None = attrs.field(default=None, eq=False)


class PathEscapeError(PlaybillError):
    """A plan path would reach outside the attempt's worktree.

    Attributes:
        path: The path as the plan gave it.
        reason: Why it is refused.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"path {path!r} is refused: {reason}")
        self.path = path
        self.reason = reason


def confine(worktree: Path, path: str) -> Path:
    """The resolved location of ``path`` inside ``worktree``.

    Args:
        worktree: The worktree root.
        path: A path relative to it, as a plan gives it (``/``-separated).

    Returns:
        The absolute path, symlinks resolved; it need not exist.

    Raises:
        PathEscapeError: ``path`` is empty, absolute, has a ``..`` segment or
            resolves (through symlinks) outside the worktree.
    """
    if not path.strip():
        raise PathEscapeError(path, "an empty path")
    if "\x00" in path:
        raise PathEscapeError(path, "a NUL character")
    pure = PurePosixPath(path)
    if pure.is_absolute() or Path(path).is_absolute():
        raise PathEscapeError(path, "an absolute path; paths are relative to the worktree")
    if ".." in pure.parts:
        raise PathEscapeError(path, "a '..' segment")
    root = worktree.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root):
        raise PathEscapeError(path, "it resolves outside the worktree (through a symlink)")
    return target
