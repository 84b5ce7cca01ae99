"""Whether two steps' mutation scopes may touch a common path: a pure glob check.

A scope is a tuple of globs relative to the repository. Globs use ``/`` as the
separator; ``*``, ``?`` and ``[...]`` match within one path segment; a segment
that is exactly ``**`` matches any number of segments, none included. A glob
also covers everything under the paths it names (a step whose scope is
``src`` may write ``src/a.py``).

The check is conservative: ``globs_overlap`` may say two globs overlap when no
path matches both (two wildcard segments with compatible literal prefixes and
suffixes are taken to overlap), but it never says they do not when some path
does. Steps are then at worst serialized for nothing, never run side by side
on the same files. ``..`` segments and empty globs are taken to match anything.

Examples:
    ``src/**`` and ``src/a.py`` overlap; ``src/*.py`` and ``docs/**`` do not;
    ``src/a.py`` and ``src/b.py`` do not; ``src/*.py`` and ``src/a*`` do.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

_WILDCARDS = "*?["
_ANY = ("**",)


def scopes_overlap(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether a path may be in both scopes. Empty (read-only) scopes overlap nothing."""
    return any(globs_overlap(x, y) for x in a for y in b)


def globs_overlap(a: str, b: str) -> bool:
    """Whether some path may match both globs (conservative: see the module)."""
    left = (*_segments(a), "**")
    right = (*_segments(b), "**")
    memo: dict[tuple[int, int], bool] = {}

    def overlap(i: int, j: int) -> bool:
        key = (i, j)
        found = memo.get(key)
        if found is not None:
            return found
        if i == len(left) and j == len(right):
            result = True
        elif i < len(left) and left[i] == "**":
            # ``**`` matches nothing more, or swallows one more segment of the other
            result = overlap(i + 1, j) or (j < len(right) and overlap(i, j + 1))
        elif j < len(right) and right[j] == "**":
            result = overlap(i, j + 1) or (i < len(left) and overlap(i + 1, j))
        elif i == len(left) or j == len(right):
            result = False
        else:
            result = _segments_overlap(left[i], right[j]) and overlap(i + 1, j + 1)
        memo[key] = result
        return result

    return overlap(0, 0)


def _segments(glob: str) -> tuple[str, ...]:
    parts = tuple(p for p in glob.strip().split("/") if p and p != ".")
    if not parts or ".." in parts:
        return _ANY
    return parts


def _segments_overlap(p: str, q: str) -> bool:
    p_wild = any(c in p for c in _WILDCARDS)
    q_wild = any(c in q for c in _WILDCARDS)
    if not p_wild and not q_wild:
        return p == q
    if not p_wild:
        return fnmatchcase(p, q)
    if not q_wild:
        return fnmatchcase(q, p)
    # Both are patterns: every match starts with its literal prefix and ends
    # with its literal suffix, so incompatible ones rule a common match out.
    p_head, q_head = _head(p), _head(q)
    if not (p_head.startswith(q_head) or q_head.startswith(p_head)):
        return False
    p_tail, q_tail = _tail(p), _tail(q)
    return p_tail.endswith(q_tail) or q_tail.endswith(p_tail)


def _head(pattern: str) -> str:
    cut = min((i for i, c in enumerate(pattern) if c in _WILDCARDS), default=len(pattern))
    return pattern[:cut]


def _tail(pattern: str) -> str:
    cut = max((i for i, c in enumerate(pattern) if c in "*?[]"), default=-1)
    return pattern[cut + 1 :]


def path_in_scope(path: str, scope: Sequence[str]) -> bool:
    """Whether a step whose scope is ``scope`` may change ``path``.

    Exactly the glob semantics of this module: ``/`` separates segments;
    ``*``, ``?`` and ``[...]`` match within one segment; a segment ``**``
    matches any number of segments, none included; a glob also covers
    everything under the paths it names. ``.`` segments and repeated ``/``
    are ignored on both sides, and an empty glob names the whole repository.

    Unlike ``globs_overlap`` this check errs towards *no*: a path that is
    absolute, empty or has a ``..`` segment is in no scope, and a glob with a
    ``..`` segment covers nothing. An empty scope (read-only) covers nothing.

    Args:
        path: A path relative to the repository root.
        scope: The step's globs.

    Returns:
        True when some glob of the scope covers the path.
    """
    if path.startswith("/"):
        return False
    parts = tuple(p for p in path.split("/") if p and p != ".")
    if not parts or ".." in parts:
        return False
    return any(_glob_covers(glob, parts) for glob in scope)


def _glob_covers(glob: str, parts: tuple[str, ...]) -> bool:
    pattern = tuple(p for p in glob.strip().split("/") if p and p != ".")
    if ".." in pattern:
        return False
    memo: dict[tuple[int, int], bool] = {}

    def covers(i: int, j: int) -> bool:
        key = (i, j)
        found = memo.get(key)
        if found is not None:
            return found
        if i == len(pattern):
            result = True  # what is under a matched path is covered too
        elif pattern[i] == "**":
            result = covers(i + 1, j) or (j < len(parts) and covers(i, j + 1))
        else:
            result = j < len(parts) and fnmatchcase(parts[j], pattern[i]) and covers(i + 1, j + 1)
        memo[key] = result
        return result

    return covers(0, 0)
