"""One git worktree and branch per attempt, outside the user's work tree."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, final

import attrs

from playbill.runtime import WorkspaceCreated

from . import _git
from ._errors import DirtyTree, ScopeViolation, UnknownCommit
from ._scope import check_scope

if TYPE_CHECKING:
    from ._integrate import Integrator


@final
@attrs.frozen
class Worktree:
    """An attempt's worktree: where its agent works, and the branch that keeps its work.

    Attributes:
        path: The worktree directory, under
            ``<git common dir>/playbill-worktrees/<run>/<step>-<attempt>``.
        branch: The attempt's branch, ``playbill/<run>/<step>/<attempt>``.
        base_commit: The commit the attempt started from.
        step: The step id.
        attempt: The attempt number.
    """

    path: Path
    branch: str
    base_commit: str
    step: str
    attempt: int

    def to_message(self) -> WorkspaceCreated:
        """The journal message that records this worktree."""
        return WorkspaceCreated(
            step=self.step,
            attempt=self.attempt,
            path=str(self.path),
            branch=self.branch,
            base_commit=self.base_commit,
        )


@final
@attrs.frozen
class AttemptCommit:
    """What an attempt's work came to, committed on its branch.

    Attributes:
        path: The attempt's worktree directory.
        branch: The attempt's branch.
        base_commit: The commit the attempt started from.
        commit: The branch's tip after the commit; ``base_commit`` when the
            attempt changed nothing.
        changed: Paths relative to the repository that differ between
            ``base_commit`` and ``commit``, sorted; a rename gives both its
            paths, a deletion its old path.
    """

    path: Path
    branch: str
    base_commit: str
    commit: str
    changed: tuple[str, ...]


@final
@attrs.define(eq=False, init=False)
class Workspaces:
    """The git workspaces of one run in one repository.

    Safe to use from several threads: changes to worktrees and branches are
    serialized per repository; committing in different worktrees is not.

    Attributes:
        repo_path: The top directory of the repository's work tree.
        run_id: The run.
        base_commit: The commit the run started from (HEAD when the object was
            made, unless given).
    """

    repo_path: Path
    run_id: str
    base_commit: str
    _common: Path
    _lock: threading.RLock

    def __init__(
        self, repo_path: str | os.PathLike[str], run_id: str, *, base_commit: str | None = None
    ) -> None:
        """Open the workspaces of a run.

        Args:
            repo_path: The top directory of a git work tree.
            run_id: The run; its worktrees and branches are named after it.
            base_commit: The run's base commit, when resuming a run that
                journaled it; by default the commit HEAD names now.

        Raises:
            NotARepository: ``repo_path`` is not the top of a git work tree.
            NoCommits: The repository has no commits yet.
            UnknownCommit: ``base_commit`` is not a commit of the repository.
        """
        _git.safe_id(run_id)
        top, common = _git.open_repo(repo_path)
        if base_commit is None:
            base = _git.head_commit(top)
        else:
            base = _git.require_commit(top, base_commit, repo=top)
        self.__attrs_init__(top, run_id, base, common, _git.repo_lock(common))

    @property
    def root(self) -> Path:
        """The directory that holds this run's worktrees."""
        return _git.run_dir(self._common, self.run_id)

    def check_clean(self, allow_dirty: bool = False) -> tuple[str, ...]:
        """Check that the user's work tree has no uncommitted changes.

        Files that ``.gitignore`` ignores do not count.

        Args:
            allow_dirty: Return the dirty paths instead of raising.

        Returns:
            The dirty paths, sorted (empty for a clean tree).

        Raises:
            DirtyTree: There are modified, staged or untracked files, and
                ``allow_dirty`` is false.
        """
        dirty = _git.dirty_paths(self.repo_path, repo=self.repo_path)
        if dirty and not allow_dirty:
            raise DirtyTree(str(self.repo_path), dirty)
        return dirty

    def acquire(self, step: str, attempt: int, base: str | None = None) -> Worktree:
        """The worktree of an attempt, made if needed.

        Idempotent: an attempt's existing worktree is returned as it is, files
        included (a resumed run picks up where it was killed); when only its
        branch is left, the worktree is checked out again from the branch.

        Args:
            step: The step id.
            attempt: The attempt number (from 0).
            base: The commit to start from; by default the run's base commit.
                A resumed run must pass the base it journaled.

        Returns:
            The attempt's worktree.

        Raises:
            ValueError: ``step`` is empty or ``attempt`` negative.
            UnknownCommit: ``base`` is not a commit, or an existing branch of
                the attempt does not descend from it.
            WorktreeConflict: Something that is not this attempt's worktree
                is in its place.
        """
        _git.check_attempt(attempt)
        top = self.repo_path
        base_sha = (
            self.base_commit
            if base is None or base == self.base_commit
            else _git.require_commit(top, base, repo=top)
        )
        path = _git.attempt_dir(self._common, self.run_id, step, attempt)
        branch = _git.attempt_branch(self.run_id, step, attempt)
        with self._lock:
            existed = _git.branch_exists(top, branch)
            _git.add_worktree(top, path, branch, base_sha)
        if existed and not _git.is_ancestor(top, base_sha, f"refs/heads/{branch}", repo=top):
            raise UnknownCommit(str(top), base_sha, f"the commit branch {branch!r} was made from")
        return Worktree(path=path, branch=branch, base_commit=base_sha, step=step, attempt=attempt)

    def commit_attempt(self, wt: Worktree, message: str) -> AttemptCommit:
        """Commit everything in an attempt's worktree on its branch.

        Stages every change (``.gitignore`` respected) and commits with the
        fixed playbill identity, so it works where git has no ``user.name``.
        Nothing to commit makes no commit.

        Args:
            wt: The attempt's worktree.
            message: The commit message.

        Returns:
            The branch's tip and every path changed since the attempt's base.
        """
        top = self.repo_path
        _git.run_git(wt.path, "add", "--all", repo=top)
        staged = _git.run_git(wt.path, "diff", "--cached", "--quiet", repo=top, ok=(0, 1))
        if staged.status == 1:
            _git.run_git(
                wt.path,
                *("commit", "--quiet", "--no-verify", "--allow-empty-message", "-m", message),
                repo=top,
            )
        tip = _git.require_commit(wt.path, "HEAD", repo=top)
        changed: tuple[str, ...] = ()
        if tip != wt.base_commit:
            got = _git.run_git(
                wt.path,
                *("diff", "--name-only", "-z", "--no-renames", "--no-relative"),
                *(wt.base_commit, tip),
                repo=top,
            )
            changed = tuple(sorted(_git.nul_split(got.out)))
        return AttemptCommit(
            path=wt.path, branch=wt.branch, base_commit=wt.base_commit, commit=tip, changed=changed
        )

    def changed_paths(self, wt: Worktree) -> tuple[str, ...]:
        """Every path an attempt changed since its base, committed or not.

        Args:
            wt: The attempt's worktree.

        Returns:
            Paths relative to the repository, sorted: changes committed on the
            branch, staged, unstaged and untracked (not ignored) files.
        """
        top = self.repo_path
        tracked = _git.run_git(
            wt.path,
            *("diff", "--name-only", "-z", "--no-renames", "--no-relative", wt.base_commit),
            repo=top,
        )
        untracked = _git.run_git(
            wt.path, "ls-files", "-z", "--others", "--exclude-standard", repo=top
        )
        return tuple(sorted({*_git.nul_split(tracked.out), *_git.nul_split(untracked.out)}))

    def restore(self, wt: Worktree, commit: str) -> tuple[str, ...]:
        """Put an attempt's worktree back exactly at ``commit`` (its committed work).

        Whatever was written there since (a reviewer that edits, a stray
        build artefact not ignored) is thrown away, so a verification checks
        the very tree that integration applies.

        Args:
            wt: The attempt's worktree.
            commit: The attempt's commit (``AttemptCommit.commit``).

        Returns:
            The paths that were changed and are now restored, sorted.

        Raises:
            UnknownCommit: ``commit`` is not a commit of the repository.
        """
        top = self.repo_path
        sha = _git.require_commit(top, commit, repo=top)
        with self._lock:
            head = _git.require_commit(wt.path, "HEAD", repo=top)
            dirty = _git.dirty_paths(wt.path, repo=top)
            if head == sha and not dirty:
                return ()
            _git.run_git(wt.path, "reset", "--quiet", "--hard", sha, repo=top)
            _git.run_git(wt.path, "clean", "--quiet", "-d", "--force", repo=top)
        return dirty

    def check_attempt_scope(
        self, wt: Worktree, scope: Sequence[str], changed: Iterable[str] | None = None
    ) -> None:
        """Check that an attempt changed only what its step's scope allows.

        Args:
            wt: The attempt's worktree.
            scope: The step's globs; empty means read-only.
            changed: The changed paths (``AttemptCommit.changed``); by default
                ``changed_paths(wt)``.

        Raises:
            ScopeViolation: Some changed paths are outside the scope; its
                ``failure`` is the attempt's typed failure.
        """
        outside = check_scope(self.changed_paths(wt) if changed is None else changed, scope)
        if outside:
            raise ScopeViolation(str(self.repo_path), wt.step, wt.attempt, outside)

    def release(self, wt: Worktree) -> None:
        """Remove an attempt's worktree directory; its branch stays as evidence. Idempotent."""
        with self._lock:
            if not _git.remove_worktree(self.repo_path, wt.path):
                _git.prune(self.repo_path)

    def cleanup(self) -> None:
        """Remove every worktree of this run, the integration one included. Idempotent.

        Branches stay. Git's records of worktrees that are gone are pruned.
        """
        with self._lock:
            for path in _git.subdirs(self.root):
                _git.remove_worktree(self.repo_path, path)
            _git.prune(self.repo_path)
            _git.remove_empty_dir(self.root)

    def integrator(self) -> Integrator:
        """The run's integrator, starting from the same base commit."""
        from ._integrate import Integrator

        return Integrator(self.repo_path, self.run_id, base_commit=self.base_commit)
