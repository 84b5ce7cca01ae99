"""Worktrees a killed run left behind: found, reported, removed (their branches stay)."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import final

import attrs

from . import _git
from ._errors import PathEscapes


@final
@attrs.frozen
class StaleWorktree:
    """A playbill worktree of a run that is not live.

    Attributes:
        run: The run it belongs to.
        step: The step, or None for the run's integration worktree.
        attempt: The attempt number, or None for the integration worktree.
        path: The worktree directory.
        branch: The branch it holds (kept when the worktree is removed).
    """

    run: str
    step: str | None
    attempt: int | None
    path: Path
    branch: str


def find_stale(
    repo_path: str | os.PathLike[str], live_runs: Collection[str] = ()
) -> list[StaleWorktree]:
    """The worktrees under ``playbill-worktrees`` whose run is not live.

    Reads directories only (no git command runs). Directories whose names
    playbill would not have made are left out.

    Args:
        repo_path: The top directory of the repository's work tree.
        live_runs: Runs still going, whose worktrees are not stale.

    Returns:
        The stale worktrees, by run, then step and attempt directory name.

    Raises:
        NotARepository: ``repo_path`` is not the top of a git work tree.
    """
    _top, common = _git.open_repo(repo_path)
    live = set(live_runs)
    stale: list[StaleWorktree] = []
    for run_dir in _git.subdirs(common / _git.ROOT_DIR):
        run = _git.unsafe_id(run_dir.name)
        if run in live or _git.safe_id(run) != run_dir.name:
            continue
        for path in _git.subdirs(run_dir):
            if path.name == _git.INTEGRATION:
                branch = _git.integration_branch(run)
                stale.append(StaleWorktree(run, None, None, path, branch))
            elif (parsed := _git.parse_attempt_dir(path.name)) is not None:
                step, attempt = parsed
                branch = _git.attempt_branch(run, step, attempt)
                stale.append(StaleWorktree(run, step, attempt, path, branch))
    return stale


def remove_stale(repo_path: str | os.PathLike[str], stale: Iterable[StaleWorktree]) -> int:
    """Remove stale worktrees (as ``find_stale`` found them), keeping their branches.

    Idempotent; git's records of removed worktrees are pruned.

    Args:
        repo_path: The top directory of the repository's work tree.
        stale: The worktrees to remove.

    Returns:
        How many directories were removed.

    Raises:
        NotARepository: ``repo_path`` is not the top of a git work tree.
        PathEscapes: A worktree's path is not under this repository's
            ``playbill-worktrees`` (nothing is removed then).
    """
    top, common = _git.open_repo(repo_path)
    root = common / _git.ROOT_DIR
    paths = [Path(s.path) for s in stale]
    for path in paths:
        resolved = path.resolve()
        if resolved.parent.parent != root:
            raise PathEscapes(str(top), str(path), f"is not a worktree under {root}")
    removed = 0
    with _git.repo_lock(common):
        for path in paths:
            removed += _git.remove_worktree(top, path.resolve())
        _git.prune(top)
        for run_dir in {p.resolve().parent for p in paths}:
            _git.remove_empty_dir(run_dir)
    return removed
