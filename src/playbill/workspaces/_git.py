"""Running git for the workspaces: one narrow door, plus the names and places playbill uses.

Every command goes through ``run_git`` as an argument list, with the fixed
playbill identity in its environment and configuration that keeps the
user's setup out of the way for that command only: no hooks, no signing, no
automatic gc. Nothing here writes the user's global configuration.

Nor does any playbill command run a program that git configuration names
(the repository's configuration is shared with agents, which can write it):
``core.hooksPath``, ``core.fsmonitor``, ``core.pager``, ``core.editor``,
``sequence.editor``, ``core.askPass``, ``core.sshCommand``,
``credential.helper``, ``gpg.program`` (and its ``ssh``
and ``x509`` variants), ``uploadpack.packObjectsHook`` and ``protocol``
transports are overridden for every command, and the environment variables
that name such programs are set to harmless values. What configuration cannot
switch off by name (``filter.<driver>.clean``/``smudge``/``process`` for
``.gitattributes`` an agent writes, ``diff.<driver>.textconv``) is kept
safe by ``GitGuard`` (``playbill.workspaces._tamper``): while agents work,
each command first checks the repository's configuration against its
snapshot and puts back what an agent changed; and the one diff whose patch
playbill reads passes ``--no-ext-diff --no-textconv`` (``diff.external``
and ``GIT_EXTERNAL_DIFF`` run only for patches; an empty override would
make git try to run an empty program).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import string
import threading
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple
from urllib.parse import unquote

from . import _tamper
from ._errors import (
    GitEnvironment,
    GitFailed,
    NoCommits,
    NotARepository,
    UnknownCommit,
    WorktreeConflict,
    WorktreeGone,
)

IDENTITY_NAME = "playbill"
"""The author and committer name of the commits playbill makes in worktrees."""

IDENTITY_EMAIL = "playbill@localhost"
"""The author and committer email of the commits playbill makes in worktrees."""

_ENV = {
    "GIT_AUTHOR_NAME": IDENTITY_NAME,
    "GIT_AUTHOR_EMAIL": IDENTITY_EMAIL,
    "GIT_COMMITTER_NAME": IDENTITY_NAME,
    "GIT_COMMITTER_EMAIL": IDENTITY_EMAIL,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_EDITOR": "true",
    "GIT_SEQUENCE_EDITOR": "true",
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "GIT_SSH_COMMAND": "false",
}
# For our commands only: the user's hooks, signing and background gc have no
# place in a run's bookkeeping (a pre-commit hook could block an attempt's
# commit, a signing prompt could hang it).
_CONFIG = (
    *("-c", "core.hooksPath=/dev/null"),
    *("-c", "commit.gpgSign=false"),
    *("-c", "gc.auto=0"),
    *("-c", "maintenance.auto=false"),
    *("-c", "core.quotePath=false"),
    # programs the (agent-writable) configuration could name: none runs
    *("-c", "core.fsmonitor=false"),
    *("-c", "core.pager=cat"),
    *("-c", "core.editor=true"),
    *("-c", "sequence.editor=true"),
    *("-c", "core.askPass="),
    *("-c", "core.sshCommand=false"),
    *("-c", "credential.helper="),
    *("-c", "gpg.program=false"),
    *("-c", "gpg.ssh.program=false"),
    *("-c", "gpg.x509.program=false"),
    *("-c", "tag.gpgSign=false"),
    *("-c", "uploadpack.packObjectsHook="),
    *("-c", "protocol.allow=never"),
    *("-c", "protocol.file.allow=always"),
)
# git commands of playbill's that write what ``GitGuard`` watches
_WRITING = frozenset({"config", "worktree"})

# Variables that would make git act on another repository, index or tree
# than the one it runs in (GitPython can add variables, not remove them).
_REDIRECTING = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_NAMESPACE",
)

LEGACY_DIR = "playbill-worktrees"
"""The directory, in the git common dir, where worktrees of older playbill versions live.

Agent tools refuse to edit paths under ``.git``, so worktrees are now made
elsewhere (see ``playbill.workspaces._places``); runs journaled with a
worktree here are still found, resumed and cleaned up.
"""

INTEGRATION = "integration"
_SAFE = frozenset(string.ascii_letters + string.digits + "_-")
_ATTEMPT_DIR = re.compile(r"(?P<step>.+)-(?P<attempt>[0-9]+)")


class GitOut(NamedTuple):
    """What a git command gave back."""

    status: int
    out: bytes
    err: str


def run_git(
    cwd: Path,
    *args: str,
    repo: Path,
    ok: Collection[int] = (0,),
    stdin: BinaryIO | None = None,
    excludes: Path | None = None,
) -> GitOut:
    """Run ``git ARGS`` in ``cwd``; raise ``GitFailed`` unless its status is in ``ok``.

    ``excludes``, an attempt's exclude file, is given to this command as its
    ``core.excludesFile`` (see ``playbill.workspaces._excludes``).
    """
    redirecting = [name for name in _REDIRECTING if name in os.environ]
    if redirecting:
        raise GitEnvironment(str(repo), redirecting)
    if not cwd.is_dir() or not os.access(cwd, os.X_OK):
        # GitPython would quietly run git in the process's directory instead
        raise WorktreeGone(str(repo), str(cwd))
    own = ("-c", f"core.excludesFile={excludes}") if excludes is not None else ()
    guard = _tamper.guard_of(repo)
    if guard is None:
        return _execute(cwd, [*own, *args], repo=repo, ok=ok, stdin=stdin)
    with guard.lock:
        guard.check()
        got = _execute(cwd, [*own, *args], repo=repo, ok=ok, stdin=stdin)
        if args and args[0] in _WRITING:
            guard.trust()
        return got


def _execute(
    cwd: Path, args: list[str], *, repo: Path, ok: Collection[int], stdin: BinaryIO | None
) -> GitOut:
    import git  # GitPython loads with the first command, not with playbill

    status, out, err = git.Git(str(cwd)).execute(
        ["git", *_CONFIG, *args],
        istream=stdin,
        with_extended_output=True,
        with_exceptions=False,
        stdout_as_string=False,
        strip_newline_in_stdout=False,
        env=_ENV,
    )
    assert isinstance(out, bytes)
    assert isinstance(err, str)
    if status not in ok:
        raise GitFailed(str(repo), args, status, err)
    return GitOut(status, out, err)


def text(out: bytes) -> str:
    """Git's output as text, one line stripped."""
    return out.decode("utf-8", "surrogateescape").strip()


def nul_split(out: bytes) -> list[str]:
    """Paths from a ``-z`` listing."""
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


# ------------------------------------------------------------------ repositories


def open_repo(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The top of the work tree at ``path`` and its git common dir.

    Raises:
        NotARepository: ``path`` is missing, not a git work tree, a bare
            repository, or below the top of a work tree.
    """
    given = Path(path)
    shown = str(given)
    if not given.is_dir():
        raise NotARepository(shown, "no such directory")
    import git

    try:
        repo = git.Repo(given)
    except git.InvalidGitRepositoryError:
        raise NotARepository(shown, "no .git here") from None
    with repo:
        if repo.bare or repo.working_tree_dir is None:
            raise NotARepository(shown, "a bare repository")
        top = Path(repo.working_tree_dir).resolve()
        common = Path(repo.common_dir).resolve()
    if top != given.resolve():
        raise NotARepository(shown, f"inside the work tree {top}")
    return top, common


def head_commit(top: Path) -> str:
    """The commit HEAD names. Raises ``NoCommits`` when there is none."""
    sha = resolve_commit(top, "HEAD", repo=top)
    if sha is None:
        raise NoCommits(str(top))
    return sha


def resolve_commit(cwd: Path, rev: str, *, repo: Path) -> str | None:
    """The full sha of the commit ``rev`` names, or None."""
    got = run_git(
        cwd, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", repo=repo, ok=(0, 1)
    )
    return text(got.out) if got.status == 0 else None


def require_commit(cwd: Path, rev: str, *, repo: Path) -> str:
    """Like ``resolve_commit``, but raises ``UnknownCommit`` for a name that is not a commit."""
    if rev.startswith("-"):
        raise UnknownCommit(str(repo), rev)
    sha = resolve_commit(cwd, rev, repo=repo)
    if sha is None:
        raise UnknownCommit(str(repo), rev)
    return sha


def is_ancestor(cwd: Path, older: str, newer: str, *, repo: Path) -> bool:
    """Whether commit ``older`` is ``newer`` or one of its ancestors."""
    got = run_git(cwd, "merge-base", "--is-ancestor", older, newer, repo=repo, ok=(0, 1))
    return got.status == 0


def dirty_paths(cwd: Path, *, repo: Path, excludes: Path | None = None) -> tuple[str, ...]:
    """Modified, staged and untracked paths of a work tree (not ignored ones), sorted."""
    got = run_git(
        cwd, "status", "--porcelain=v1", "-z", "--untracked-files=all", repo=repo, excludes=excludes
    )
    fields = got.out.split(b"\0")
    paths: set[str] = set()
    i = 0
    while i < len(fields):
        field = fields[i]
        i += 1
        if len(field) < 4:
            continue
        paths.add(field[3:].decode("utf-8", "surrogateescape"))
        if field[0:1] in (b"R", b"C") or field[1:2] in (b"R", b"C"):
            # a rename or copy is followed by its source path
            paths.add(fields[i].decode("utf-8", "surrogateescape"))
            i += 1
    return tuple(sorted(paths))


_LOCKS: dict[Path, threading.RLock] = {}
_LOCKS_LOCK = threading.Lock()


def repo_lock(common: Path) -> threading.RLock:
    """The lock that serializes this process's worktree and branch changes in one repository."""
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(common, threading.RLock())


# ------------------------------------------------------------------ names and places


def safe_id(value: str) -> str:
    """A run or step id as one path segment and ref component, deterministically.

    Letters, digits, ``_`` and ``-`` stay; every other character becomes
    ``%XX`` for each byte of its UTF-8 form, so distinct ids stay distinct
    and ``unsafe_id`` gives the id back.
    """
    if not value:
        raise ValueError("ids must not be empty")
    return "".join(c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in value)


def safe_step(step: str) -> str:
    """``safe_id``, and never ``integration``: that name is the run's integration branch."""
    safe = safe_id(step)
    return "%69" + safe[1:] if safe == INTEGRATION else safe


def unsafe_id(safe: str) -> str:
    """The id ``safe_id`` (or ``safe_step``) made ``safe`` from."""
    return unquote(safe, errors="surrogateescape")


def check_attempt(attempt: int) -> None:
    """Attempt numbers are whole numbers from zero."""
    if attempt < 0:
        raise ValueError(f"attempt numbers are not negative (got {attempt})")


def legacy_root(common: Path) -> Path:
    """Where older playbill versions kept a repository's worktrees: in its git common dir."""
    return common / LEGACY_DIR


def run_dir(root: Path, run: str) -> Path:
    """Where a run's worktrees live, in a repository's worktree directory ``root``."""
    return root / safe_id(run)


def attempt_dir(root: Path, run: str, step: str, attempt: int) -> Path:
    """The worktree directory of one attempt, in a repository's worktree directory ``root``."""
    return run_dir(root, run) / f"{safe_step(step)}-{attempt}"


def attempt_branch(run: str, step: str, attempt: int) -> str:
    """The branch of one attempt."""
    return f"playbill/{safe_id(run)}/{safe_step(step)}/{attempt}"


def integration_branch(run: str) -> str:
    """The run's integration branch."""
    return f"playbill/{safe_id(run)}/{INTEGRATION}"


def parse_branch(branch: str) -> tuple[str, str | None, int | None] | None:
    """The run, step and attempt a playbill branch names, or None.

    Step and attempt are None for a run's integration branch; None in all is
    a branch playbill would not have made.
    """
    parts = branch.split("/")
    if len(parts) == 3 and parts[0] == "playbill" and parts[2] == INTEGRATION:
        run = unsafe_id(parts[1])
        return (run, None, None) if safe_id(run) == parts[1] else None
    if len(parts) != 4 or parts[0] != "playbill" or not parts[3].isdecimal():
        return None
    run, step, attempt = unsafe_id(parts[1]), unsafe_id(parts[2]), int(parts[3])
    if attempt_branch(run, step, attempt) != branch:
        return None
    return run, step, attempt


def laid_out(path: Path, branch: str) -> bool:
    """Whether ``path`` is where playbill puts a worktree of ``branch``, whatever the root.

    That is ``.../<run>/<step>-<attempt>`` for an attempt's branch and
    ``.../<run>/integration`` for a run's integration branch. A worktree of
    a playbill branch somewhere else is someone's own (a person looking at
    an attempt's work): playbill never works in it nor removes it.
    """
    parsed = parse_branch(branch)
    if parsed is None:
        return False
    run, step, attempt = parsed
    name = INTEGRATION if step is None else f"{safe_step(step)}-{attempt}"
    return path.name == name and path.parent.name == safe_id(run)


def parse_attempt_dir(name: str) -> tuple[str, int] | None:
    """The step and attempt of an attempt directory's name, or None."""
    found = _ATTEMPT_DIR.fullmatch(name)
    if found is None:
        return None
    return unsafe_id(found["step"]), int(found["attempt"])


# ------------------------------------------------------------------ worktrees


def worktree_gitdir(path: Path) -> Path | None:
    """The git directory of the linked worktree at ``path`` (from its ``.git`` file), or None."""
    try:
        link = (path / ".git").read_text()
    except (OSError, UnicodeDecodeError):
        return None
    if not link.startswith("gitdir:"):
        return None
    gitdir = Path(link.removeprefix("gitdir:").strip())
    return gitdir if gitdir.is_absolute() else path / gitdir


def checked_out_branch(path: Path) -> str | None:
    """The branch a linked worktree has checked out, read from its files; None if not one."""
    gitdir = worktree_gitdir(path)
    if gitdir is None:
        return None
    try:
        head = (gitdir / "HEAD").read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return head.removeprefix("ref: refs/heads/") if head.startswith("ref: refs/heads/") else None


def registered(top: Path) -> list[tuple[Path, str]]:
    """The playbill worktrees git has on record, with the branch each has checked out.

    Only linked worktrees of a playbill branch at a place playbill would
    have put them (``laid_out``): the main work tree, worktrees with a
    detached HEAD and a person's own worktrees are left out.
    """
    listing = run_git(top, "worktree", "list", "--porcelain", "-z", repo=top)
    found: list[tuple[Path, str]] = []
    path: Path | None = None
    first = True
    for field in nul_split(listing.out):
        if field.startswith("worktree "):
            if path is not None:
                first = False
            path = Path(field.removeprefix("worktree "))
        elif field.startswith("branch refs/heads/") and path is not None and not first:
            branch = field.removeprefix("branch refs/heads/")
            if laid_out(path, branch):
                found.append((path, branch))
    return found


def checkout_of(top: Path, branch: str) -> Path | None:
    """The existing directory where a linked worktree has ``branch`` checked out, if any.

    Git's record is confirmed by the directory's own files, so a record whose
    directory is gone or holds something else does not count.
    """
    for path, checked_out in registered(top):
        if checked_out == branch and checked_out_branch(path) == branch:
            return path
    return None


def branch_exists(top: Path, branch: str) -> bool:
    """Whether ``refs/heads/<branch>`` exists."""
    return resolve_commit(top, f"refs/heads/{branch}", repo=top) is not None


def add_worktree(top: Path, path: Path, branch: str, base: str) -> None:
    """Check ``branch`` out at ``path``, making the branch at ``base`` when it does not exist.

    Reuses the directory when it already is that branch's worktree; re-adds
    the worktree from the branch when the directory is gone.

    Raises:
        WorktreeConflict: Something else is at ``path``.
    """
    if (path / ".git").exists():
        if checked_out_branch(path) == branch:
            return
        raise WorktreeConflict(str(top), str(path), f"not a worktree of branch {branch!r}")
    if path.exists() and any(path.iterdir()):
        raise WorktreeConflict(str(top), str(path), "a directory that is not a worktree")
    if branch_exists(top, branch):
        # A killed run's worktree whose directory was deleted leaves a record
        # that keeps the branch "checked out": prune it first.
        run_git(top, "worktree", "prune", repo=top)
        run_git(top, "worktree", "add", "--quiet", str(path), branch, repo=top)
    else:
        run_git(top, "worktree", "add", "--quiet", "-b", branch, str(path), base, repo=top)


def remove_worktree(top: Path, path: Path) -> bool:
    """Remove a worktree's directory (its branch stays). Returns whether anything was there."""
    if (path / ".git").is_file() and checked_out_branch(path) is not None:
        got = run_git(
            top, "worktree", "remove", "--force", "--force", str(path), repo=top, ok=(0, 128)
        )
        if got.status == 0:
            return True
    if path.exists():
        # Not (or no longer) a worktree git knows: still playbill's directory.
        shutil.rmtree(path)
        return True
    return False


def prune(top: Path) -> None:
    """Drop git's records of worktrees whose directories are gone."""
    run_git(top, "worktree", "prune", repo=top)


def subdirs(path: Path) -> Iterator[Path]:
    """The directories directly in ``path``, by name; none when it is missing."""
    if path.is_dir():
        yield from sorted(p for p in path.iterdir() if p.is_dir() and not p.is_symlink())


def remove_empty_dir(path: Path) -> None:
    """Remove ``path`` if it is an empty directory."""
    with contextlib.suppress(OSError):
        path.rmdir()
