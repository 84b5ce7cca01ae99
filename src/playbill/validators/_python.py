"""Which Python runs a ``tests_pass`` command: the target project's, never playbill's.

A test command that starts with the bare word ``python`` or ``python3``
(the default ``python -m pytest``) runs with the interpreter of the project
under test, found in this order:

1. ``.venv/bin/python`` in the attempt's worktree;
2. ``.venv/bin/python`` in the repository's main checkout (a worktree's
   ``.git`` file leads to it; a virtual environment is not committed, so an
   attempt's worktree rarely has one of its own);
3. ``python3``, then ``python``, on the command's ``PATH`` (the allowlisted
   environment's, which is playbill's own ``PATH``).

Any other first word is run as written: a plan that names its interpreter
(``argv = [".venv-3.12/bin/python", "-m", "pytest"]``,
``["uv", "run", "pytest"]``) chooses it itself. playbill's own interpreter
(``sys.executable``) is never chosen as such (only as the first ``python3``
on ``PATH``, in an activated virtual environment), so playbill needs no
pytest of its own.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

BARE_PYTHONS = ("python", "python3")
"""First words of a command that mean "the project's interpreter"."""

VENV_PYTHON = Path(".venv", "bin", "python")
"""A project's virtual environment's interpreter, relative to its checkout."""


def main_checkout(worktree: Path) -> Path | None:
    """The main checkout of the repository whose linked worktree ``worktree`` is.

    Reads the worktree's ``.git`` file (``gitdir: <repo>/.git/worktrees/<name>``)
    and that directory's ``commondir``; runs no git. ``None`` for a main
    checkout itself (``.git`` is a directory), a bare repository or anything
    unreadable.
    """
    try:
        text = (worktree / ".git").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("gitdir:"):
        return None
    gitdir = Path(text.removeprefix("gitdir:").strip())
    if not gitdir.is_absolute():
        gitdir = worktree / gitdir
    try:
        common = (gitdir / "commondir").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    common_dir = Path(common) if Path(common).is_absolute() else gitdir / common
    common_dir = common_dir.resolve()
    if common_dir.name != ".git":
        return None  # a bare repository: no checkout, no virtual environment
    return common_dir.parent


def project_python(worktree: Path, env: Mapping[str, str]) -> str | None:
    """The interpreter of the project checked out at ``worktree`` (see the module).

    Args:
        worktree: The attempt's worktree.
        env: The environment its commands get; its ``PATH`` is searched last.

    Returns:
        The interpreter's path, or ``None`` when there is none at all.
    """
    places = [worktree]
    main = main_checkout(worktree)
    if main is not None:
        places.append(main)
    for place in places:
        candidate = place / VENV_PYTHON
        if candidate.is_file():
            return str(candidate)
    path = env.get("PATH", "")
    for name in BARE_PYTHONS[::-1]:  # python3 first: Debian has no plain python
        found = shutil.which(name, path=path)
        if found is not None:
            return found
    return None


def with_project_python(
    argv: Sequence[str], worktree: Path, env: Mapping[str, str]
) -> tuple[str, ...]:
    """``argv`` with a bare ``python``/``python3`` first word replaced by ``project_python``.

    Any other ``argv`` is returned as it is, and so is a bare one when no
    interpreter is found at all (starting it then fails with a clear error).
    """
    if not argv or argv[0] not in BARE_PYTHONS:
        return tuple(argv)
    python = project_python(worktree, env)
    if python is None:
        return tuple(argv)
    return (python, *argv[1:])
