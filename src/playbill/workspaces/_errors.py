"""The workspaces' typed errors: every one names the repository and what was expected."""

from __future__ import annotations

from collections.abc import Sequence

from playbill.runtime import Failure, PlaybillError


def _listed(paths: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(paths[:limit])
    more = len(paths) - limit
    return f"{shown} (and {more} more)" if more > 0 else shown


class WorkspaceError(PlaybillError):
    """Base of the errors of git workspaces.

    Attributes:
        repo: The repository (or path) the operation was on.
    """

    def __init__(self, repo: str, message: str) -> None:
        super().__init__(f"{repo}: {message}")
        self.repo = repo


class NotARepository(WorkspaceError):
    """A path is not the top directory of a git work tree.

    Attributes:
        detail: What was found instead.
    """

    def __init__(self, repo: str, detail: str) -> None:
        super().__init__(
            repo, f"not a git work tree ({detail}); expected the top directory of a git repository"
        )
        self.detail = detail


class NoCommits(WorkspaceError):
    """The repository has no commit yet, so a run has nothing to start from."""

    def __init__(self, repo: str) -> None:
        super().__init__(
            repo, "the repository has no commits; expected at least one commit to start from"
        )


class UnknownCommit(WorkspaceError):
    """A commit (or branch) named by the caller is not in the repository.

    Attributes:
        rev: The name that was given.
    """

    def __init__(self, repo: str, rev: str, expected: str = "a commit of the repository") -> None:
        super().__init__(repo, f"{rev!r} does not name a commit; expected {expected}")
        self.rev = rev


class DirtyTree(WorkspaceError):
    """The work tree has uncommitted changes (modified, staged or untracked files).

    Attributes:
        paths: The dirty paths, sorted, relative to the repository.
    """

    def __init__(self, repo: str, paths: Sequence[str]) -> None:
        super().__init__(
            repo,
            f"the work tree has uncommitted changes: {_listed(paths)}; "
            "expected a clean work tree (commit or stash them, or allow a dirty tree)",
        )
        self.paths = tuple(paths)


class PathEscapes(WorkspaceError):
    """A path given relative to a repository or worktree leads out of it.

    Attributes:
        path: The path as given.
        reason: How it escapes (absolute, ``..``, a symlink...).
    """

    def __init__(self, repo: str, path: str, reason: str) -> None:
        super().__init__(repo, f"path {path!r} {reason}; expected a path inside the repository")
        self.path = path
        self.reason = reason


class ScopeViolation(WorkspaceError):
    """An attempt changed files outside its step's mutation scope.

    Attributes:
        step: The step.
        attempt: The attempt number.
        paths: The paths outside the scope, sorted.
    """

    def __init__(self, repo: str, step: str, attempt: int, paths: Sequence[str]) -> None:
        super().__init__(
            repo,
            f"step {step!r} attempt {attempt} changed files outside its scope: "
            f"{_listed(paths)}; expected changes only to paths its scope allows",
        )
        self.step = step
        self.attempt = attempt
        self.paths = tuple(paths)

    @property
    def failure(self) -> Failure:
        """The attempt's typed failure: a validation failure of kind ``scope_violation``."""
        return Failure(
            failure_class="validation",
            kind="scope_violation",
            detail=f"changed files outside the step's scope: {_listed(self.paths)}",
        )


class WorktreeConflict(WorkspaceError):
    """A worktree directory playbill would use holds something else.

    Attributes:
        path: The directory.
        detail: What was found there.
    """

    def __init__(self, repo: str, path: str, detail: str) -> None:
        super().__init__(
            repo, f"{path}: {detail}; expected playbill's own worktree or nothing there"
        )
        self.path = path
        self.detail = detail


class WorktreesRefused(WorkspaceError):
    """The directory chosen for worktrees cannot hold them.

    Agent tools refuse to edit under a ``.git`` directory, and a worktree in
    the user's work tree would make it dirty.

    Attributes:
        path: The directory as given.
        reason: Why it cannot hold worktrees.
    """

    def __init__(self, repo: str, path: str, reason: str) -> None:
        super().__init__(
            repo,
            f"cannot keep worktrees in {path}: {reason}; expected a directory outside the "
            "repository's work tree and outside any .git directory",
        )
        self.path = path
        self.reason = reason


class DetachedHead(WorkspaceError):
    """No branch is checked out, and the caller named none."""

    def __init__(self, repo: str) -> None:
        super().__init__(
            repo, "HEAD is detached; expected a checked-out branch (or name the branch)"
        )


class WorktreeGone(WorkspaceError):
    """A worktree's directory is gone (released, or deleted by hand).

    Git is never run elsewhere in its place.

    Attributes:
        path: The missing directory.
    """

    def __init__(self, repo: str, path: str) -> None:
        super().__init__(
            repo,
            f"the worktree {path} is gone or not accessible; "
            "expected it to exist (acquire the attempt again)",
        )
        self.path = path


class GitEnvironment(WorkspaceError):
    """The environment points git at another repository, index or work tree.

    Variables like ``GIT_DIR`` (set when playbill runs inside a git hook, say)
    would make git act on something other than the worktree it runs in.

    Attributes:
        variables: The variables that are set.
    """

    def __init__(self, repo: str, variables: Sequence[str]) -> None:
        super().__init__(
            repo,
            f"the environment sets {', '.join(variables)}, which would point git elsewhere; "
            "expected them unset",
        )
        self.variables = tuple(variables)


class NotFastForward(WorkspaceError):
    """A branch has moved on since the run started, so it cannot be fast-forwarded.

    Attributes:
        branch: The user's branch.
        integration: The run's integration branch, to merge by hand.
    """

    def __init__(self, repo: str, branch: str, integration: str) -> None:
        super().__init__(
            repo,
            f"branch {branch!r} has commits the integration branch {integration!r} lacks, "
            f"so it cannot be fast-forwarded; merge {integration!r} into {branch!r} yourself "
            f"(git merge {integration})",
        )
        self.branch = branch
        self.integration = integration


class GitFailed(WorkspaceError):
    """A git command failed unexpectedly.

    Attributes:
        argv: The git arguments (after ``git``).
        status: Its exit status.
        stderr: The end of what it wrote to standard error.
    """

    def __init__(self, repo: str, argv: Sequence[str], status: int, stderr: str) -> None:
        command = " ".join(argv)
        tail = stderr.strip()[-2000:] or "-"
        super().__init__(repo, f"git {command} failed with exit status {status}: {tail}")
        self.argv = tuple(argv)
        self.status = status
        self.stderr = stderr
