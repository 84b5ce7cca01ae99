"""Integration: attempts' patches onto the run's own branch, and that branch onto the user's.

Attempts are applied one by one onto ``playbill/<run>/integration`` with
``git apply --index``: a patch applies cleanly or not at all (no three-way
merge, nothing half-applied). A rename travels as the deletion of its old
path and the addition of its new one: git applies a bare rename without
looking at the file's content, so an attempt that renamed a file another
attempt changed would silently carry the other's change along; as a deletion
it conflicts instead. The user's branch moves only when asked, and
only as a fast-forward.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path
from typing import final

import attrs

from . import _git, _places
from ._errors import DetachedHead, DirtyTree, NotFastForward, UnknownCommit, WorktreeConflict
from ._merge import MergeItem

_APPLY_ERRORS = (
    re.compile(r"^error: patch failed: (?P<path>.+):\d+$"),
    re.compile(
        r"^error: (?P<path>.+): (patch does not apply|already exists in (index|working directory)"
        r"|does not exist in index|No such file or directory|does not match index|wrong type)$"
    ),
)


@final
@attrs.define(eq=False, init=False)
class Integrator:
    """Applies a run's accepted attempts onto its integration branch, in its own worktree.

    The branch ``playbill/<run>/integration`` starts at the run's base commit
    and lives in a worktree ``<worktrees>/<run>/integration`` (see
    ``Workspaces.worktrees``), or wherever git already has it checked out (a
    run of an older playbill, resumed). Safe to call from several threads
    (calls are serialized per repository).

    Attributes:
        repo_path: The top directory of the repository's work tree.
        run_id: The run.
        base_commit: The commit the integration branch starts from.
        branch: The integration branch's name.
        path: The integration worktree's directory (where it is made, until
            it is used: then where it is).
    """

    repo_path: Path
    run_id: str
    base_commit: str
    branch: str
    path: Path
    _lock: threading.RLock
    _ready: bool

    def __init__(
        self,
        repo_path: str | os.PathLike[str],
        run_id: str,
        *,
        base_commit: str | None = None,
        worktrees: str | os.PathLike[str] | None = None,
    ) -> None:
        """Open the integration of a run (the branch and worktree are made on first use).

        Args:
            repo_path: The top directory of a git work tree.
            run_id: The run.
            base_commit: Where the integration branch starts; by default
                the commit HEAD names now. Pass the run's journaled base.
            worktrees: The directory that holds worktrees, as for
                ``Workspaces``.

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
        base = (
            _git.head_commit(top)
            if base_commit is None
            else _git.require_commit(top, base_commit, repo=top)
        )
        path = _git.run_dir(root, run_id) / _git.INTEGRATION
        self.__attrs_init__(
            top, run_id, base, _git.integration_branch(run_id), path, _git.repo_lock(common), False
        )

    def tip(self) -> str:
        """The integration branch's current commit (the base commit before anything applied)."""
        with self._lock:
            self._ensure()
            return _git.require_commit(self.path, "HEAD", repo=self.repo_path)

    def apply(self, step: str, attempt: int, commit: str, base: str) -> MergeItem:
        """Apply an attempt's work (``git diff base commit``) onto the integration branch.

        Idempotent: when the branch already holds this attempt (its commit
        carries the trailer ``Playbill-Attempt: <run>/<step>/<attempt>``),
        that commit is returned and nothing is applied again.

        Args:
            step: The step id.
            attempt: The attempt number.
            commit: The attempt's commit (``AttemptCommit.commit``).
            base: The commit the attempt started from.

        Returns:
            ``applied`` with the new commit (or the unchanged tip and detail
            ``no changes`` for an empty patch), or ``conflicted`` naming the
            paths that did not apply; then the branch is unchanged.

        Raises:
            UnknownCommit: ``commit`` or ``base`` is not a commit.
        """
        _git.check_attempt(attempt)
        top = self.repo_path
        trailer = _trailer(self.run_id, step, attempt)
        with self._lock:
            self._ensure()
            found = _git.run_git(
                self.path,
                *("log", "-n1", "--format=%H", f"--grep=^{trailer}$"),
                f"{self.base_commit}..HEAD",
                repo=top,
            )
            if sha := _git.text(found.out):
                return MergeItem(step=step, attempt=attempt, status="applied", commit=sha)
            for rev in (base, commit):
                if rev.startswith("-"):
                    raise UnknownCommit(str(top), rev)
            diff = _git.run_git(
                self.path,
                *("diff", "--binary", "--no-renames", "--no-color", "--no-ext-diff"),
                *("--no-textconv", "--no-relative", "--src-prefix=a/", "--dst-prefix=b/"),
                *(f"{base}^{{commit}}", f"{commit}^{{commit}}", "--"),
                repo=top,
                ok=(0, 128),
            )
            if diff.status != 0:
                raise UnknownCommit(
                    str(top), f"{base} or {commit}", "two commits of the repository"
                )
            patch = diff.out
            if not patch:
                tip = _git.require_commit(self.path, "HEAD", repo=top)
                return MergeItem(step, attempt, "applied", commit=tip, detail="no changes")
            with tempfile.TemporaryFile() as f:
                f.write(patch)
                f.seek(0)
                applied = _git.run_git(
                    self.path,
                    *("apply", "--index", "--whitespace=nowarn", "-"),
                    repo=top,
                    ok=(0, 1, 128),
                    stdin=f,
                )
            if applied.status != 0:
                # git apply is all or nothing; make sure of it all the same
                _git.run_git(self.path, "reset", "--quiet", "--hard", "HEAD", repo=top)
                return MergeItem(step, attempt, "conflicted", detail=_conflict_detail(applied.err))
            message = (
                f"playbill: apply step {step!r} attempt {attempt} of run {self.run_id!r}"
                f"\n\n{trailer}\n"
            )
            _git.run_git(self.path, "commit", "--quiet", "--no-verify", "-m", message, repo=top)
            sha = _git.require_commit(self.path, "HEAD", repo=top)
            return MergeItem(step=step, attempt=attempt, status="applied", commit=sha)

    def block(self, step: str, attempt: int, reason: str) -> MergeItem:
        """Record that an attempt is not applied (a dependency conflicted, say).

        Args:
            step: The step id.
            attempt: The attempt number.
            reason: Why, for humans.

        Returns:
            A ``blocked`` item; the integration branch is not touched.
        """
        return MergeItem(step=step, attempt=attempt, status="blocked", detail=reason)

    def _ensure(self) -> None:
        if self._ready and (self.path / ".git").is_file():
            return
        top = self.repo_path
        found = _git.checkout_of(top, self.branch) if _git.branch_exists(top, self.branch) else None
        if found is not None:
            self.path = found
        reused = (self.path / ".git").exists()
        _git.add_worktree(top, self.path, self.branch, self.base_commit)
        if reused:
            # A killed apply may have left staged work behind: back to the tip.
            _git.run_git(self.path, "reset", "--quiet", "--hard", "HEAD", repo=top)
        self._ready = True


def _trailer(run: str, step: str, attempt: int) -> str:
    return f"Playbill-Attempt: {_git.safe_id(run)}/{_git.safe_step(step)}/{attempt}"


def _conflict_detail(stderr: str) -> str:
    paths: set[str] = set()
    for line in stderr.splitlines():
        for pattern in _APPLY_ERRORS:
            if found := pattern.match(line.strip()):
                paths.add(found["path"])
    if paths:
        return "the patch does not apply to: " + ", ".join(sorted(paths))
    return "the patch does not apply: " + (stderr.strip()[-500:] or "git apply failed")


def integrate_into(repo_path: str | os.PathLike[str], run: str, branch: str | None = None) -> str:
    """Fast-forward the user's branch to the run's integration branch.

    Never merges: when the branch has commits the integration branch lacks,
    it refuses and says how to merge by hand. A checked-out branch's work
    tree is updated, and must be clean.

    Args:
        repo_path: The top directory of the repository's work tree.
        run: The run whose integration branch to take.
        branch: The branch to move; by default the one checked out.

    Returns:
        The commit the branch points at afterwards.

    Raises:
        NotARepository: ``repo_path`` is not the top of a git work tree.
        UnknownCommit: The run has no integration branch, or ``branch`` does
            not exist.
        DetachedHead: No branch is checked out and none was named.
        DirtyTree: The branch is checked out in a work tree with
            uncommitted changes.
        NotFastForward: The branch has moved on since the run started.
    """
    top, common = _git.open_repo(repo_path)
    integration = _git.integration_branch(run)
    new = _git.resolve_commit(top, f"refs/heads/{integration}", repo=top)
    if new is None:
        raise UnknownCommit(str(top), integration, f"the integration branch of run {run!r}")
    with _git.repo_lock(common):
        if branch is None:
            got = _git.run_git(
                top, "symbolic-ref", "--quiet", "--short", "HEAD", repo=top, ok=(0, 1)
            )
            if got.status != 0:
                raise DetachedHead(str(top))
            branch = _git.text(got.out)
        old = _git.resolve_commit(top, f"refs/heads/{branch}", repo=top)
        if old is None:
            raise UnknownCommit(str(top), branch, "an existing branch")
        where = _checked_out_at(top, branch)
        if where is not None:
            dirty = _git.dirty_paths(where, repo=top)
            if dirty:
                raise DirtyTree(str(where), dirty)
        if old == new or _git.is_ancestor(top, new, old, repo=top):
            return old  # already there
        if not _git.is_ancestor(top, old, new, repo=top):
            raise NotFastForward(str(top), branch, integration)
        if where is None:
            _git.run_git(
                top,
                *("update-ref", "-m", f"playbill integrate {run}"),
                *(f"refs/heads/{branch}", new, old),
                repo=top,
            )
        else:
            _git.run_git(where, "merge", "--quiet", "--ff-only", new, repo=top)
        return new


def _checked_out_at(top: Path, branch: str) -> Path | None:
    """The work tree that has ``branch`` checked out, if one does."""
    listing = _git.run_git(top, "worktree", "list", "--porcelain", "-z", repo=top)
    path: Path | None = None
    for field in _git.nul_split(listing.out):
        if field.startswith("worktree "):
            path = Path(field.removeprefix("worktree "))
        elif field == f"branch refs/heads/{branch}":
            if path is None or not path.is_dir():
                raise WorktreeConflict(
                    str(top), str(path), f"branch {branch!r} is checked out in a missing worktree"
                )
            return path
    return None
