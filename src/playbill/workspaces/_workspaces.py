"""One git worktree and branch per attempt, outside the user's work tree."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, final

import attrs

from playbill.runtime import WorkspaceCreated

from . import _excludes, _git, _places, _tamper
from ._errors import DirtyTree, ScopeViolation, UnknownCommit
from ._scope import check_scope

if TYPE_CHECKING:
    from ._integrate import Integrator


@final
@attrs.frozen
class Worktree:
    """An attempt's worktree: where its agent works, and the branch that keeps its work.

    Attributes:
        path: The worktree directory, ``<worktrees>/<run>/<step>-<attempt>``
            (see ``Workspaces.worktrees``), or where the attempt's branch was
            already checked out (a run made by an older playbill, under
            ``<git common dir>/playbill-worktrees``).
        branch: The attempt's branch, ``playbill/<run>/<step>/<attempt>``.
        base_commit: The commit the attempt started from.
        step: The step id.
        attempt: The attempt number.
        ignore: Gitignore patterns of the files the agent's tool writes for
            itself, ignored in this worktree on top of editors' files and the
            user's own excludes (see ``playbill.workspaces.EDITOR_FILES``).
    """

    path: Path
    branch: str
    base_commit: str
    step: str
    attempt: int
    ignore: tuple[str, ...] = ()

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
        worktrees: The directory of this repository's worktrees,
            ``<worktrees dir>/<repository>-<hash>`` (see ``default_worktrees``).
        worktrees_dir: The directory of worktrees it is in, as chosen
            (``~`` expanded and made absolute; ``default_worktrees()`` when
            none was).
    """

    repo_path: Path
    run_id: str
    base_commit: str
    worktrees: Path
    worktrees_dir: Path
    _common: Path
    _lock: threading.RLock
    _per_worktree: bool | None = None
    _user_excludes: bytes = b""

    def __init__(
        self,
        repo_path: str | os.PathLike[str],
        run_id: str,
        *,
        base_commit: str | None = None,
        worktrees: str | os.PathLike[str] | None = None,
    ) -> None:
        """Open the workspaces of a run.

        Args:
            repo_path: The top directory of a git work tree.
            run_id: The run; its worktrees and branches are named after it.
            base_commit: The run's base commit, when resuming a run that
                journaled it; by default the commit HEAD names now.
            worktrees: The directory that holds worktrees (of this and other
                repositories); by default ``default_worktrees()``,
                ``${XDG_DATA_HOME:-~/.local/share}/playbill/worktrees``.

        Raises:
            NotARepository: ``repo_path`` is not the top of a git work tree.
            NoCommits: The repository has no commits yet.
            UnknownCommit: ``base_commit`` is not a commit of the repository.
            WorktreesRefused: ``worktrees`` is inside the work tree or a
                ``.git`` directory.
        """
        _git.safe_id(run_id)
        top, common = _git.open_repo(repo_path)
        root = _places.worktrees_root(top, common, worktrees)
        if base_commit is None:
            base = _git.head_commit(top)
        else:
            base = _git.require_commit(top, base_commit, repo=top)
        lock = _git.repo_lock(common)
        _tamper.guard(top, common)
        self.__attrs_init__(top, run_id, base, root, root.parent, common, lock)

    @property
    def root(self) -> Path:
        """The directory that holds this run's worktrees."""
        return _git.run_dir(self.worktrees, self.run_id)

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

    def acquire(
        self,
        step: str,
        attempt: int,
        base: str | None = None,
        *,
        ignore: Iterable[str] = (),
        start: str | None = None,
    ) -> Worktree:
        """The worktree of an attempt, made if needed, its tool's files ignored.

        Idempotent: an attempt's existing worktree is returned as it is, files
        included (a resumed run picks up where it was killed), wherever git
        has its branch checked out — in ``worktrees``, or where an older
        playbill made it; when only its branch is left, the worktree is
        checked out again from the branch, in ``worktrees``.

        Every time, the worktree's exclude file is written (the user's own
        excludes, ``EDITOR_FILES`` and ``ignore``) and made its
        ``core.excludesFile``, for it alone (see ``playbill.workspaces``).

        Args:
            step: The step id.
            attempt: The attempt number (from 0).
            base: The commit to start from; by default the run's base commit.
                A resumed run must pass the base it journaled.
            ignore: Gitignore patterns of the files the agent's tool writes
                for itself (``Capabilities.tool_files``).
            start: Where a new branch starts when not at ``base``: a commit
                that descends from it (the work of the attempt a step was
                handed on from). Its changes since ``base`` count as this
                attempt's own (scope, integration).

        Returns:
            The attempt's worktree.

        Raises:
            ValueError: ``step`` is empty, ``attempt`` negative, or a pattern
                of ``ignore`` is not one (``pattern_problem``).
            UnknownCommit: ``base`` is not a commit, or an existing branch of
                the attempt does not descend from it.
            WorktreeConflict: Something that is not this attempt's worktree
                is in its place.
        """
        _git.check_attempt(attempt)
        patterns = tuple(dict.fromkeys(ignore))
        for pattern in patterns:
            if (problem := _excludes.pattern_problem(pattern)) is not None:
                raise ValueError(problem)
        top = self.repo_path
        base_sha = (
            self.base_commit
            if base is None or base == self.base_commit
            else _git.require_commit(top, base, repo=top)
        )
        start_sha = base_sha
        if start is not None and start != base_sha:
            start_sha = _git.require_commit(top, start, repo=top)
            if not _git.is_ancestor(top, base_sha, start_sha, repo=top):
                raise UnknownCommit(str(top), start_sha, f"a descendant of {base_sha}")
        path = _git.attempt_dir(self.worktrees, self.run_id, step, attempt)
        branch = _git.attempt_branch(self.run_id, step, attempt)
        with self._lock:
            existed = _git.branch_exists(top, branch)
            found = _git.checkout_of(top, branch) if existed else None
            if found is not None:
                path = found
            else:
                _git.add_worktree(top, path, branch, start_sha)
        shared = self._worktree_config()
        if existed and not _git.is_ancestor(top, base_sha, f"refs/heads/{branch}", repo=top):
            raise UnknownCommit(str(top), base_sha, f"the commit branch {branch!r} was made from")
        wt = Worktree(
            path=path,
            branch=branch,
            base_commit=base_sha,
            step=step,
            attempt=attempt,
            ignore=patterns,
        )
        file = self._excludes(wt)
        if shared and file is not None:
            _excludes.use_excludes(top, wt.path, file)
        return wt

    def commit_attempt(self, wt: Worktree, message: str) -> AttemptCommit:
        """Commit everything in an attempt's worktree on its branch.

        Stages every change (``.gitignore``, the user's excludes and the
        worktree's ignored tool files respected; files the repository tracks
        are staged whatever the patterns say) and commits with the fixed
        playbill identity, so it works where git has no ``user.name``.
        Nothing to commit makes no commit.

        Args:
            wt: The attempt's worktree.
            message: The commit message.

        Returns:
            The branch's tip and every path changed since the attempt's base.
        """
        top = self.repo_path
        excludes = self._excludes(wt)
        _git.run_git(wt.path, "add", "--all", repo=top, excludes=excludes)
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
            wt.path,
            *("ls-files", "-z", "--others", "--exclude-standard"),
            repo=top,
            excludes=self._excludes(wt),
        )
        return tuple(sorted({*_git.nul_split(tracked.out), *_git.nul_split(untracked.out)}))

    def restore(self, wt: Worktree, commit: str) -> tuple[str, ...]:
        """Put an attempt's worktree back exactly at ``commit`` (its committed work).

        Whatever was written there since (a reviewer that edits, a stray
        build artefact not ignored) is thrown away, so a verification checks
        the very tree that integration applies. Ignored files stay (the
        agents' tools' own files among them).

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
            excludes = self._excludes(wt)
            head = _git.require_commit(wt.path, "HEAD", repo=top)
            dirty = _git.dirty_paths(wt.path, repo=top, excludes=excludes)
            if head == sha and not dirty:
                return ()
            _git.run_git(wt.path, "reset", "--quiet", "--hard", sha, repo=top)
            clean = ("clean", "--quiet", "-d", "--force")
            _git.run_git(wt.path, *clean, repo=top, excludes=excludes)
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

    def begin_work(self, step: str, attempt: int, worker: str = "") -> None:
        """An agent (``worker``, one of an attempt's) starts work: the git directory is guarded."""
        _tamper.guard(self.repo_path, self._common).begin((self.run_id, step, attempt, worker))

    def end_work(self, step: str, attempt: int, worker: str = "") -> None:
        """The agent stopped: check the shared git directory (``playbill.workspaces._tamper``).

        Raises:
            GitTampered: It was changed while the agent worked (by it or by
                another at work then); it was put back. Its ``failure`` is
                the attempt's typed failure.
        """
        key = (self.run_id, step, attempt, worker)
        if (found := _tamper.guard(self.repo_path, self._common).end(key)) is not None:
            raise found

    def release(self, wt: Worktree) -> None:
        """Remove an attempt's worktree directory; its branch stays as evidence. Idempotent."""
        with self._lock:
            if not _git.remove_worktree(self.repo_path, wt.path):
                _git.prune(self.repo_path)

    def cleanup(self) -> None:
        """Remove every worktree of this run, the integration one included. Idempotent.

        That is every worktree git has checked out on one of the run's
        branches, wherever it is (in ``worktrees``, in another directory the
        run was resumed with, or where an older playbill made it), and
        whatever is left in the run's directories (views included). Branches stay. Git's
        records of worktrees that are gone are pruned.
        """
        from ._views import remove_views

        top = self.repo_path
        legacy = _git.run_dir(_git.legacy_root(self._common), self.run_id)
        with self._lock:
            remove_views(self)  # read-only ones would stop the removal below
            for path, branch in _git.registered(top):
                parsed = _git.parse_branch(branch)
                if parsed is not None and parsed[0] == self.run_id:
                    _git.remove_worktree(top, path)
            for place in (self.root, legacy):
                for path in _git.subdirs(place):
                    _git.remove_worktree(top, path)
            _git.prune(top)
            for place in (self.root, self.worktrees, legacy, legacy.parent):
                _git.remove_empty_dir(place)

    def integrator(self) -> Integrator:
        """The run's integrator, starting from the same base commit, in the same worktrees."""
        from ._integrate import Integrator

        return Integrator(
            self.repo_path, self.run_id, base_commit=self.base_commit, worktrees=self.worktrees_dir
        )

    def _worktree_config(self) -> bool:
        """Whether worktrees get configuration of their own (``enable_worktree_config``).

        Asked once, with the user's excludes read at the same time.
        """
        with self._lock:
            if self._per_worktree is None:
                self._user_excludes = _excludes.user_excludes(self.repo_path)
                self._per_worktree = _excludes.enable_worktree_config(self.repo_path)
            return self._per_worktree

    def _excludes(self, wt: Worktree) -> Path | None:
        """Write the worktree's exclude file again (an agent may have changed it); where it is."""
        self._worktree_config()
        text = _excludes.exclude_text(self._user_excludes, wt.ignore)
        return _excludes.write_excludes(wt.path, text)
