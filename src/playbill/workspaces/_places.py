"""Where attempts' worktrees live: outside the repository, one directory per repository.

Coding-agent CLIs refuse to edit files under a ``.git`` directory (Claude
Code does), and a worktree inside the user's work tree would make it dirty.
So worktrees live in a directory of their own, by default
``${XDG_DATA_HOME:-~/.local/share}/playbill/worktrees`` (the XDG base
directory for data a program keeps for its user), chosen otherwise with
``playbill run --worktrees DIR`` or ``[run] worktrees`` in the plan. In it,
each repository has its own directory, named after the repository and a
short hash of its git common dir (``calc-3f2a9c1e0b7d``): one directory may
serve many repositories, and each repository's worktrees are found again
(stale ones too) from the repository alone. A run's worktrees are in
``<that>/<run>/<step>-<attempt>`` and ``<that>/<run>/integration``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from . import _git
from ._errors import WorktreesRefused

DATA_HOME_ENV = "XDG_DATA_HOME"
"""The environment variable naming the user's data directory (the XDG base directory spec)."""


def default_worktrees() -> Path:
    """The default directory for worktrees: ``${XDG_DATA_HOME:-~/.local/share}/playbill/worktrees``.

    A relative ``XDG_DATA_HOME`` is ignored, as the XDG specification says.
    """
    data = os.environ.get(DATA_HOME_ENV, "")
    home = Path(data) if data and Path(data).is_absolute() else Path.home() / ".local" / "share"
    return home / "playbill" / "worktrees"


def repo_key(common: Path) -> str:
    """A repository's directory name among others': ``<name>-<12 hex digits>``.

    The name is the repository's (the directory that holds ``.git``, or the
    git dir's own name without ``.git``); the digits hash its git common dir,
    which every work tree of the repository shares, as its branches are.
    """
    name = common.parent.name if common.name == ".git" else common.name.removesuffix(".git")
    digest = hashlib.sha256(os.fsencode(common)).hexdigest()[:12]
    return f"{_git.safe_id(name or 'repo')}-{digest}"


def worktrees_root(top: Path, common: Path, worktrees: str | os.PathLike[str] | None) -> Path:
    """The directory of one repository's worktrees, in ``worktrees`` (``default_worktrees()``).

    Args:
        top: The top of the repository's work tree.
        common: Its git common dir.
        worktrees: The directory that holds the worktrees of repositories;
            ``~`` is expanded, a relative path is taken from the current
            directory.

    Raises:
        WorktreesRefused: The directory would put worktrees under a ``.git``
            directory (or the repository's git directory), or inside the
            repository's work tree.
    """
    base = default_worktrees() if worktrees is None else Path(worktrees).expanduser()
    resolved = base.resolve()
    if ".git" in resolved.parts or resolved.is_relative_to(common):
        raise WorktreesRefused(str(top), str(base), "it is inside a .git directory")
    if resolved == top or resolved.is_relative_to(top):
        raise WorktreesRefused(str(top), str(base), "it is inside the repository's work tree")
    return resolved / repo_key(common)


def worktrees_dir(
    repo_path: str | os.PathLike[str], worktrees: str | os.PathLike[str] | None = None
) -> Path:
    """The directory of worktrees a run on the repository would use, checked.

    Args:
        repo_path: The top directory of the repository's work tree.
        worktrees: The directory chosen (``~`` is expanded, a relative path
            is taken from the current directory); ``None`` for
            ``default_worktrees()``.

    Returns:
        The directory, absolute (the repository's own directory is in it).

    Raises:
        NotARepository: ``repo_path`` is not the top of a git work tree.
        WorktreesRefused: The directory is inside the work tree or a ``.git``
            directory.
    """
    top, common = _git.open_repo(repo_path)
    return worktrees_root(top, common, worktrees).parent
