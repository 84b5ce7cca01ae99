"""Views: a copy of the repository at one commit, for agents that only read it.

A planner plans on the repository as the run found it (its base commit); a
verifier step checks the integration branch as the steps it depends on left
it. Neither may change what it looks at, and neither gets a branch: a view
is an export of the commit's tree (``git archive``) into a directory of its
own among the run's worktrees, with no ``.git``, so nothing done there can
be committed. A read-only view has its files and directories made
read-only as well (a planner has no reason to write); a verifier's view
stays writable, because test runners write caches where they run.

A view is made afresh for each attempt and removed when the attempt ends
(and with the run's worktrees, ``Workspaces.cleanup``).
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
from pathlib import Path
from typing import Final

from . import _git
from ._workspaces import Workspaces

VIEWS_DIR: Final = ".views"
"""The directory of a run's views, in the run's directory of worktrees."""


def view_dir(ws: Workspaces, step: str, attempt: int) -> Path:
    """Where the view of one attempt is."""
    _git.check_attempt(attempt)
    return ws.root / VIEWS_DIR / f"{_git.safe_step(step)}-{attempt}"


def make_view(ws: Workspaces, step: str, attempt: int, commit: str, *, read_only: bool) -> Path:
    """Export ``commit`` into the attempt's view directory, replacing what was there.

    Args:
        ws: The run's workspaces.
        step: The step.
        attempt: The attempt.
        commit: The commit to export (a commit of the repository).
        read_only: Whether to make every file and directory read-only.

    Returns:
        The view's directory.

    Raises:
        UnknownCommit: ``commit`` is not a commit of the repository.
        GitFailed: ``git archive`` failed.
    """
    top = ws.repo_path
    sha = _git.require_commit(top, commit, repo=top)
    path = view_dir(ws, step, attempt)
    remove_view(path)
    path.mkdir(parents=True)
    tar = _git.run_git(top, "archive", "--format=tar", sha, repo=top)
    with tarfile.open(fileobj=io.BytesIO(tar.out), mode="r:") as archive:
        archive.extractall(path, filter=_inside)
    if read_only:
        _walk_chmod(path, files=0o444, dirs=0o555)
    return path


def _inside(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """The ``data`` filter, leaving out what it refuses (a link that leads out of the view).

    The repository's content is not trusted: a link to ``/etc`` is left out
    of the view rather than followed, and does not stop the planner.
    """
    try:
        return tarfile.data_filter(member, dest)
    except tarfile.FilterError:
        return None


def remove_view(path: Path) -> None:
    """Remove a view, read-only or not (nothing happens when it is gone)."""
    if not path.exists():
        return
    _walk_chmod(path, files=0o644, dirs=0o755)
    shutil.rmtree(path)


def remove_views(ws: Workspaces) -> None:
    """Remove every view of the run."""
    remove_view(ws.root / VIEWS_DIR)


def _walk_chmod(path: Path, *, files: int, dirs: int) -> None:
    """Set the mode of everything under ``path``.

    Directories are changed first when they become writable, last when they
    become read-only, so that the walk can always go on.
    """
    unlocking = bool(dirs & stat.S_IWUSR)
    for here, _subdirs, names in os.walk(path, topdown=unlocking):
        if unlocking:
            Path(here).chmod(dirs)
        for name in names:
            target = Path(here, name)
            if not target.is_symlink():
                target.chmod(files)
        if not unlocking:
            Path(here).chmod(dirs)
