"""Worktrees a killed run left behind: found, reported, removed (their branches stay)."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import final

import attrs

from . import _git, _places
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
    repo_path: str | os.PathLike[str],
    live_runs: Collection[str] = (),
    *,
    worktrees: str | os.PathLike[str] | None = None,
) -> list[StaleWorktree]:
    """The playbill worktrees of the repository whose run is not live.

    Found in three places: the repository's directory in ``worktrees``
    (where runs make them), ``<git common dir>/playbill-worktrees`` (where
    older playbill versions made them), and git's own record of the
    repository's worktrees (which knows those made in another directory,
    with another ``--worktrees``). Directories whose names playbill would
    not have made are left out, and so are records whose directory is gone
    (``git worktree prune`` forgets those).

    Args:
        repo_path: The top directory of the repository's work tree.
        live_runs: Runs still going, whose worktrees are not stale.
        worktrees: The directory that holds worktrees, as for
            ``Workspaces`` (``default_worktrees()`` by default).

    Returns:
        The stale worktrees, by run, then step and attempt directory name
        (the integration worktree last), each once.

    Raises:
        NotARepository: ``repo_path`` is not the top of a git work tree.
        WorktreesRefused: ``worktrees`` is inside the work tree or a
            ``.git`` directory.
    """
    top, common = _git.open_repo(repo_path)
    live = set(live_runs)
    found: dict[Path, StaleWorktree] = {}
    for root in (_places.worktrees_root(top, common, worktrees), _git.legacy_root(common)):
        for run_dir in _git.subdirs(root):
            run = _git.unsafe_id(run_dir.name)
            if run in live or _git.safe_id(run) != run_dir.name:
                continue
            for path in _git.subdirs(run_dir):
                if path.name == _git.INTEGRATION:
                    branch = _git.integration_branch(run)
                    found.setdefault(path.resolve(), StaleWorktree(run, None, None, path, branch))
                elif (parsed := _git.parse_attempt_dir(path.name)) is not None:
                    step, attempt = parsed
                    branch = _git.attempt_branch(run, step, attempt)
                    item = StaleWorktree(run, step, attempt, path, branch)
                    found.setdefault(path.resolve(), item)
    for path, branch in _git.registered(top):
        named = _git.parse_branch(branch)
        if named is None or named[0] in live or not path.is_dir():
            continue
        found.setdefault(path.resolve(), StaleWorktree(named[0], named[1], named[2], path, branch))
    return sorted(found.values(), key=_order)


def _order(stale: StaleWorktree) -> tuple[str, bool, str]:
    return (stale.run, stale.step is None, stale.path.name)


def remove_stale(
    repo_path: str | os.PathLike[str],
    stale: Iterable[StaleWorktree],
    *,
    worktrees: str | os.PathLike[str] | None = None,
) -> int:
    """Remove stale worktrees (as ``find_stale`` found them), keeping their branches.

    Idempotent; git's records of removed worktrees are pruned.

    Args:
        repo_path: The top directory of the repository's work tree.
        stale: The worktrees to remove.
        worktrees: The directory that holds worktrees, as given to
            ``find_stale``.

    Returns:
        How many directories were removed.

    Raises:
        NotARepository: ``repo_path`` is not the top of a git work tree.
        PathEscapes: A worktree that is still there is neither a run's
            directory in the repository's worktree directories nor a
            worktree git has on record for its branch (nothing is removed
            then).
    """
    top, common = _git.open_repo(repo_path)
    roots = (_places.worktrees_root(top, common, worktrees), _git.legacy_root(common))
    known = {(path.resolve(), branch) for path, branch in _git.registered(top)}
    # One that is gone already is left alone: nothing of it can be removed.
    items = [s for s in stale if Path(s.path).exists()]
    for item in items:
        resolved = Path(item.path).resolve()
        if resolved.parent.parent not in roots and (resolved, item.branch) not in known:
            where = " or ".join(str(r) for r in roots)
            raise PathEscapes(
                str(top), str(item.path), f"is not a worktree under {where} nor one git knows"
            )
    removed = 0
    with _git.repo_lock(common):
        for item in items:
            removed += _git.remove_worktree(top, Path(item.path).resolve())
        _git.prune(top)
        for run_dir in {Path(s.path).resolve().parent for s in items}:
            if run_dir.parent in roots:
                _git.remove_empty_dir(run_dir)
    return removed
