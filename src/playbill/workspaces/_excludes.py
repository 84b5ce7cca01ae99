"""Files agent tools write for themselves, kept out of an attempt's commit, per worktree.

Agent tools leave files of their own in the directory they work in (aider
its ``.aider.tags.cache.v4/`` and history files, Claude Code its
``.claude/settings.local.json``, editors their swap files). playbill commits
everything an attempt changed, so these must be ignored *in the attempt's
worktree*, and only there.

How, and why so:

- ``$GIT_DIR/info/exclude`` will not do: it lives in the common git dir and
  applies to every work tree of the repository, the user's own included.
- Each attempt's worktree gets an exclude file of its own,
  ``<its git dir>/playbill-exclude``, made its ``core.excludesFile`` in its
  per-worktree configuration (``config.worktree``). That needs the
  repository's ``extensions.worktreeConfig``, which playbill turns on once
  (``git config extensions.worktreeConfig true``, as ``git sparse-checkout``
  does); it changes nothing for the user's work tree, which has no
  ``config.worktree``. Every git run in the worktree — the agent's own
  ``git status`` or ``git add -A`` as much as playbill's — then ignores the
  tool's files.
- A per-worktree ``core.excludesFile`` replaces the user's global one, so
  the file starts with a copy of the user's (``core.excludesFile``, or git's
  default ``$XDG_CONFIG_HOME/git/ignore``): nothing the user ignores shows up.
- playbill's own commands in the worktree also pass the file with ``-c
  core.excludesFile=...``, and the file is written again before each
  commit: what an attempt commits never depends on a configuration the
  agent could have changed. When the extension cannot be turned on (a
  repository whose configuration sets ``core.worktree``, which the
  extension would apply to every worktree, or that turns the extension off
  on purpose), this is the only mechanism.

Ignore rules apply to untracked files only: a file the repository tracks is
committed when an agent changes it, whatever the patterns say.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from . import _git

EDITOR_FILES: Final = ("*.swp", "*.swo", "*~", ".#*", "\\#*#")
"""Editors' swap, backup and lock files, ignored in every attempt's worktree.

Vim's ``.name.swp``/``.swo``, backups ending in ``~``, Emacs's ``.#name``
lock links and ``#name#`` auto-save files.
"""

EXCLUDE_FILE: Final = "playbill-exclude"
"""The exclude file's name, in the worktree's own git directory."""

IGNORE_PATTERN: Final = r"[^\s#!]([^\n\r\x00]*[^\s])?"
"""What an ignore pattern looks like: one line of gitignore syntax that is a
pattern (not blank, not a ``#`` comment, not a ``!`` negation) with no space
at either end."""

_PATTERN = re.compile(IGNORE_PATTERN)


def pattern_problem(pattern: str) -> str | None:
    """What is wrong with an ignore pattern, or None for a good one."""
    if _PATTERN.fullmatch(pattern) is None:
        return (
            f"expected a gitignore pattern on one line, not starting with '#', '!' or a space "
            f'(".cache/", "*.tmp"), got {pattern!r}'
        )
    return None


def user_excludes(top: Path) -> bytes:
    """The user's own exclude patterns: the content of the file git reads as ``core.excludesFile``.

    Read as git would in the user's work tree ``top``: the configured file,
    or git's default ``$XDG_CONFIG_HOME/git/ignore`` (``~/.config/git/ignore``);
    nothing when there is none.
    """
    got = _git.run_git(top, "config", "--path", "--get", "core.excludesFile", repo=top, ok=(0, 1))
    if got.status == 0 and (configured := _git.text(got.out)):
        path = Path(configured)
        if not path.is_absolute():
            path = top / path
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME", "")
        config = Path(xdg) if xdg else Path.home() / ".config"
        path = config / "git" / "ignore"
    try:
        return path.read_bytes()
    except OSError:
        return b""


def exclude_text(user: bytes, tool_files: Iterable[str]) -> bytes:
    """The exclude file of a worktree: the user's patterns, editors' files, the tool's files."""
    lines = [
        b"# written by playbill for this worktree only (core.excludesFile of its config.worktree)",
        b"# the user's own excludes:",
        user.rstrip(b"\n"),
        b"# editors' swap and backup files:",
        *(p.encode() for p in EDITOR_FILES),
        b"# files the agent's tool writes for itself:",
        *(p.encode() for p in dict.fromkeys(tool_files)),
    ]
    return b"\n".join(line for line in lines if line) + b"\n"


def exclude_file(path: Path) -> Path | None:
    """Where the exclude file of the worktree at ``path`` is; None when it is no linked worktree."""
    gitdir = _git.worktree_gitdir(path)
    return None if gitdir is None else gitdir / EXCLUDE_FILE


def write_excludes(path: Path, text: bytes) -> Path | None:
    """Write a worktree's exclude file (when its content differs); where it is, or None."""
    target = exclude_file(path)
    if target is None:
        return None
    try:
        if target.read_bytes() == text:
            return target
    except OSError:
        pass
    tmp = target.with_name(f"{EXCLUDE_FILE}.{os.getpid()}-{threading.get_ident()}.tmp")
    tmp.write_bytes(text)
    tmp.replace(target)
    return target


def enable_worktree_config(top: Path) -> bool:
    """Turn on ``extensions.worktreeConfig`` in the repository, unless it must not be.

    Returns:
        Whether worktrees can have configuration of their own: the extension
        is on (it was, or is now). False when the repository's configuration
        sets ``core.worktree`` (the extension would apply it to every
        worktree) or turns the extension off itself.
    """
    got = _git.run_git(
        top,
        *("config", "--local", "--type=bool", "--get", "extensions.worktreeConfig"),
        repo=top,
        ok=(0, 1),
    )
    if got.status == 0:
        return _git.text(got.out) == "true"
    pinned = _git.run_git(top, "config", "--local", "--get", "core.worktree", repo=top, ok=(0, 1))
    if pinned.status == 0:
        return False
    _git.run_git(top, "config", "--local", "extensions.worktreeConfig", "true", repo=top)
    return True


def use_excludes(top: Path, path: Path, file: Path) -> None:
    """Make ``file`` the ``core.excludesFile`` of the worktree at ``path``, for it alone.

    Needs ``extensions.worktreeConfig`` (``enable_worktree_config``).
    """
    got = _git.run_git(
        path, "config", "--worktree", "--get", "core.excludesFile", repo=top, ok=(0, 1)
    )
    if got.status == 0 and _git.text(got.out) == str(file):
        return
    _git.run_git(path, "config", "--worktree", "core.excludesFile", str(file), repo=top)
