"""The opt-in sandbox of process agents: bubblewrap (``bwrap``).

An agent whose options say ``sandbox = "bwrap"`` runs as
``bwrap OPTIONS -- ARGV``, itself started through the guard launcher
(``playbill._process``): ``bwrap`` leads the process group the guard ends,
and neither it nor the agent leaves that group (no ``--new-session``, no
PID namespace; ``--die-with-parent`` on top). Inside:

- the whole filesystem is mounted read-only (``--ro-bind / /``), the
  user's work tree, the repository's git directory and ``$HOME`` included;
- writable are only the directory the agent works in (the attempt's
  worktree), the backend's scratch directory (prompt, result and log
  files, and a private temporary directory, the agent's ``TMPDIR``), a
  fresh ``/dev``, and the paths listed in ``sandbox_writable`` (a tool's
  own state, ``~/.claude`` say), when they exist. ``/tmp`` itself is
  read-only: a tool that ignores ``TMPDIR`` gets an error, not a place
  shared with the host;
- the network is the host's unless ``sandbox_network = false``
  (``--unshare-net``: loopback only).

The worktree's git metadata lives in the repository's git directory, so
the agent's own ``git add`` or ``git commit`` fails (``git status`` and
``git diff`` work): playbill commits an attempt's work itself.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final, Literal, Protocol

SandboxKind = Literal["none", "bwrap"]
"""``none`` (the agent runs as the user, unconfined) or ``bwrap``."""

SANDBOXES: Final = ("none", "bwrap")
"""The sandboxes an agent's options may name."""

BWRAP: Final = "bwrap"
"""The program of the ``bwrap`` sandbox (Debian's ``bubblewrap`` package)."""


class Sandboxable(Protocol):
    """A backend's sandbox options (``sandbox``, ``sandbox_network``, ``sandbox_writable``)."""

    @property
    def sandbox(self) -> str:
        """``none`` or ``bwrap``."""

    @property
    def sandbox_network(self) -> bool:
        """Whether a sandboxed agent keeps the network."""

    @property
    def sandbox_writable(self) -> tuple[str, ...]:
        """Further paths a sandboxed agent may write."""


def wrap(argv: Sequence[str], options: Sandboxable, *, cwd: str, scratch: Path) -> list[str]:
    """``argv`` in the sandbox ``options`` ask for, with the scratch directory ``scratch``.

    ``scratch`` (``Scratch.io.parent``) is writable, its ``tmp`` the agent's ``TMPDIR``.
    """
    return sandboxed(
        argv,
        sandbox=options.sandbox,
        cwd=cwd,
        writable=(scratch,),
        tmp=scratch / "tmp",
        network=options.sandbox_network,
        extra_writable=options.sandbox_writable,
    )


def sandbox_program(sandbox: str) -> str | None:
    """The program a sandbox needs on ``PATH``, or ``None`` for no sandbox."""
    return BWRAP if sandbox == "bwrap" else None


def missing_sandbox(sandbox: str, path_env: str | None) -> str | None:
    """Why ``sandbox`` cannot start on ``PATH`` ``path_env``, in one line; ``None`` if it can."""
    program = sandbox_program(sandbox)
    if program is None or shutil.which(program, path=path_env or os.defpath) is not None:
        return None
    return (
        f'sandbox = "{sandbox}" needs {program}, which is not found on PATH '
        "(install the bubblewrap package: apt-get install bubblewrap)"
    )


def sandboxed(
    argv: Sequence[str],
    *,
    sandbox: str,
    cwd: str,
    writable: Iterable[str | os.PathLike[str]] = (),
    tmp: str | os.PathLike[str] | None = None,
    network: bool = True,
    extra_writable: Iterable[str] = (),
) -> list[str]:
    """``argv`` run in ``sandbox`` (unchanged for ``none``), working in ``cwd``.

    Args:
        argv: The agent's command line.
        sandbox: ``none`` or ``bwrap``.
        cwd: Where it works (its worktree): writable.
        writable: Further directories playbill gives it (its scratch
            directory): writable.
        tmp: Its private temporary directory (writable, its ``TMPDIR``).
        network: Whether it keeps the host's network.
        extra_writable: The user's ``sandbox_writable`` paths (``~``
            expanded), bound writable when they exist.
    """
    if sandbox != "bwrap":
        return list(argv)
    line = [
        BWRAP,
        "--die-with-parent",
        *("--ro-bind", "/", "/"),
        *("--dev", "/dev"),
    ]
    if tmp is not None:
        line += ["--setenv", "TMPDIR", str(Path(tmp).resolve())]
    for path in extra_writable:
        full = str(Path(path).expanduser().resolve())
        line += ["--bind-try", full, full]
    places = (*writable, *([tmp] if tmp is not None else []), cwd)
    for path in dict.fromkeys(str(Path(p).resolve()) for p in places):
        line += ["--bind", path, path]
    if not network:
        line.append("--unshare-net")
    return [*line, "--chdir", str(Path(cwd).resolve()), "--", *argv]
