"""Keeping agents from changing the repository's shared git directory.

An attempt's worktree shares the repository's git directory (its common
dir): an agent that follows its worktree's ``.git`` file can write
``hooks/pre-commit``, set ``core.fsmonitor`` in ``config``, or add a
``filter`` driver, and the user's own next ``git commit`` (or playbill's own
git commands) would run what it planted.

``GitGuard`` keeps a snapshot (the bytes and mode of every file) of what no
agent may change there: the common ``config`` and ``config.worktree``,
everything under ``hooks/`` and ``info/``, and each linked worktree's
``config.worktree``. The snapshot is taken when the first of a run's
agents starts working (none was at work before: whatever changed since was
the user's or playbill's own doing) and kept while any of them works;
playbill's own changes while agents work (a new worktree's
``config.worktree``, ``extensions.worktreeConfig`` once) are taken into it
as playbill makes them, under the repository's lock.

``check`` compares the directory with the snapshot; a difference is put
back as it was at once, and every attempt at work at that moment is
marked: each fails as ``validation``/``git_tampering`` when it ends, the
failure naming what changed (``hooks/pre-commit added; config
core.fsmonitor set``), never the values. playbill checks before each of its
git commands in a worktree and when each agent stops working, so a
planted program never runs in playbill's own commands after the agent
that planted it has stopped, and is gone before the user's next command.

What is left (an agent that is not sandboxed runs as the user): an agent
at work may race a check, and playbill's commands in *another* worktree
during that race may read the changed configuration; its executable keys
are neutralised for every playbill command anyway (see
``playbill.workspaces._git``). The ``bwrap`` sandbox makes the git
directory read-only to the agent, which closes that race.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import final

from playbill.runtime import Failure

from ._errors import WorkspaceError

_FILES = ("config", "config.worktree")
_TREES = ("hooks", "info")
_SECTION = re.compile(rb'^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]')
_KEY = re.compile(rb"^\s*([A-Za-z][A-Za-z0-9-]*)\s*(?:=|$)")

Snapshot = dict[str, tuple[int, bytes]]
"""Relative path in the common dir -> (mode, content; a symlink's target)."""


class GitTampered(WorkspaceError):
    """An agent at work changed the repository's shared git directory; it was put back.

    Attributes:
        changes: What changed, one phrase each (``hooks/pre-commit added``).
    """

    def __init__(self, repo: str, changes: Iterable[str]) -> None:
        self.changes = tuple(changes)
        super().__init__(
            repo,
            f"the shared git directory was changed while agents worked: {self.summary}; "
            "expected agents to leave the git directory's config, hooks and info alone "
            "(it was put back as it was)",
        )

    @property
    def summary(self) -> str:
        """What changed, as one line."""
        shown = "; ".join(self.changes[:10])
        more = len(self.changes) - 10
        return f"{shown} (and {more} more)" if more > 0 else shown

    @property
    def failure(self) -> Failure:
        """The attempt's typed failure: a validation failure of kind ``git_tampering``."""
        return Failure(
            failure_class="validation",
            kind="git_tampering",
            detail=f"changed the repository's git directory (put back): {self.summary}",
        )


def _walk(root: Path, rel: str) -> Iterator[tuple[str, Path]]:
    top = root / rel
    if top.is_symlink() or top.is_file():
        yield rel, top
        return
    if not top.is_dir():
        return
    for here, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(files) + [d for d in dirs if (Path(here) / d).is_symlink()]:
            path = Path(here) / name
            yield path.relative_to(root).as_posix(), path


def _read(path: Path) -> tuple[int, bytes] | None:
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            return info.st_mode, str(path.readlink()).encode("utf-8", "surrogateescape")
        if not stat.S_ISREG(info.st_mode):
            return info.st_mode, b""
        return info.st_mode, path.read_bytes()
    except OSError:
        return None


def snapshot(common: Path) -> Snapshot:
    """What no agent may change in the git common dir ``common``, file by file."""
    found: Snapshot = {}
    names = [*_FILES, *_TREES]
    worktrees = common / "worktrees"
    if worktrees.is_dir():
        names += [
            f"worktrees/{d.name}/config.worktree" for d in sorted(worktrees.iterdir()) if d.is_dir()
        ]
    for name in names:
        for rel, path in _walk(common, name):
            got = _read(path)
            if got is not None:
                found[rel] = got
    return found


def config_keys(text: bytes) -> dict[str, list[bytes]]:
    """The keys a git config file sets (``section.sub.key``, lower-cased) with their raw lines."""
    keys: dict[str, list[bytes]] = {}
    section = b""
    for raw in text.splitlines():
        line = raw.split(b"#", 1)[0].split(b";", 1)[0] if b'"' not in raw else raw
        head = _SECTION.match(line)
        if head is not None:
            sub = head.group(2)
            section = head.group(1).lower() + (b"." + sub if sub is not None else b"")
            line = line[head.end() :]
        key = _KEY.match(line)
        if key is not None:
            name = (section + b"." + key.group(1).lower()).decode("utf-8", "replace")
            keys.setdefault(name, []).append(line.strip())
    return keys


def _config_changes(rel: str, before: bytes, after: bytes) -> list[str]:
    old, new = config_keys(before), config_keys(after)
    said: list[str] = []
    for key in sorted(old.keys() | new.keys()):
        if key not in old:
            said.append(f"{rel} {key} set")
        elif key not in new:
            said.append(f"{rel} {key} removed")
        elif old[key] != new[key]:
            said.append(f"{rel} {key} changed")
    return said or [f"{rel} changed"]


def differences(before: Snapshot, after: Snapshot) -> list[str]:
    """What changed from ``before`` to ``after``, one phrase each, never a value."""
    said: list[str] = []
    for rel in sorted(before.keys() | after.keys()):
        old, new = before.get(rel), after.get(rel)
        if old == new:
            continue
        if old is None:
            said.append(f"{rel} added")
        elif new is None:
            said.append(f"{rel} removed")
        elif rel.rsplit("/", 1)[-1] in _FILES and old[1] != new[1]:
            said.extend(_config_changes(rel, old[1], new[1]))
        else:
            said.append(f"{rel} changed")
    return said


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        for child in sorted(path.iterdir()):
            _remove(child)
        path.rmdir()
    else:
        path.unlink()


def put_back(common: Path, before: Snapshot, now: Snapshot) -> None:
    """Make the guarded files of ``common`` what ``before`` holds again."""
    for rel in sorted(now.keys() - before.keys(), reverse=True):
        with contextlib.suppress(OSError):
            _remove(common / rel)
    for tree in _TREES:
        # directories an agent added (empty ones are not in a snapshot)
        for here, dirs, _ in os.walk(common / tree, topdown=False):
            for d in dirs:
                with contextlib.suppress(OSError):
                    (Path(here) / d).rmdir()
    for rel, (mode, content) in sorted(before.items()):
        if now.get(rel) == (mode, content):
            continue
        path = common / rel
        with contextlib.suppress(FileNotFoundError):
            _remove(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if stat.S_ISLNK(mode):
            path.symlink_to(content.decode("utf-8", "surrogateescape"))
        elif stat.S_ISREG(mode):
            path.write_bytes(content)
            path.chmod(stat.S_IMODE(mode))


@final
class GitGuard:
    """The snapshot of one repository's shared git directory while agents work in it.

    Thread-safe. Attempts are named by any hashable key (step and attempt).
    """

    def __init__(self, repo: Path, common: Path) -> None:
        """Guard the git common dir ``common`` of the repository ``repo``."""
        self._repo = repo
        self._common = common
        self._lock = threading.RLock()
        self._trusted: Snapshot | None = None
        self._working: set[object] = set()
        self._marked: dict[object, GitTampered] = {}

    @property
    def lock(self) -> threading.RLock:
        """Held while playbill checks, runs one of its git commands, and trusts what it wrote."""
        return self._lock

    def begin(self, key: object) -> None:
        """An agent starts working; the first one takes the snapshot."""
        with self._lock:
            if not self._working:
                self._trusted = snapshot(self._common)
            self._marked.pop(key, None)
            self._working.add(key)

    def check(self) -> None:
        """Compare with the snapshot; put back and mark every attempt at work on a change."""
        with self._lock:
            if self._trusted is None:
                return
            now = snapshot(self._common)
            changes = differences(self._trusted, now)
            if not changes:
                return
            try:
                put_back(self._common, self._trusted, now)
            except OSError as stuck:
                changes.append(f"could not all be put back ({stuck.strerror or stuck})")
            found = GitTampered(str(self._repo), changes)
            for key in self._working:
                self._marked.setdefault(key, found)

    def trust(self) -> None:
        """Take playbill's own change, just made under the repository's lock, into the snapshot.

        Call ``check`` first, under the same lock.
        """
        with self._lock:
            if self._trusted is not None:
                self._trusted = snapshot(self._common)

    def end(self, key: object) -> GitTampered | None:
        """An agent stopped working: check, and what was changed while it worked, if anything."""
        with self._lock:
            self.check()
            self._working.discard(key)
            if not self._working:
                self._trusted = None
            return self._marked.pop(key, None)


_GUARDS: dict[Path, GitGuard] = {}
_GUARDS_LOCK = threading.Lock()


def guard(repo: Path, common: Path) -> GitGuard:
    """The guard of the repository whose work tree's top is ``repo`` (one per process)."""
    with _GUARDS_LOCK:
        return _GUARDS.setdefault(repo, GitGuard(repo, common))


def guard_of(repo: Path) -> GitGuard | None:
    """The guard of the repository ``repo``, if playbill guards it in this process."""
    return _GUARDS.get(repo)
