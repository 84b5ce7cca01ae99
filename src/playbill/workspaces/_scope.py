"""Where an attempt may write: mutation scopes, and paths confined to a repository."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath

from playbill.runtime import path_in_scope

from ._errors import PathEscapes


def check_scope(changed: Iterable[str], scope: Sequence[str]) -> tuple[str, ...]:
    """The changed paths a step's scope does not allow.

    Args:
        changed: Paths relative to the repository (as ``AttemptCommit.changed``
            gives them).
        scope: The step's globs (see ``playbill.runtime.logic._scopes``). An empty
            scope means the step is read-only: every change is outside it.

    Returns:
        The paths outside the scope, sorted and without repeats; empty when
        every change is allowed.
    """
    return tuple(sorted({p for p in changed if not path_in_scope(p, scope)}))


def confine(repo_root: str | Path, relpath: str) -> Path:
    """The absolute path of ``relpath`` inside ``repo_root``, refusing any way out.

    Symlinks are resolved, so a link inside the repository that points out of
    it is an escape, as are absolute paths and ``..`` that climb above the root.
    The path need not exist.

    Args:
        repo_root: The repository (or worktree) root.
        relpath: A path relative to it, with ``/`` separators.

    Returns:
        The resolved absolute path, inside the resolved root.

    Raises:
        PathEscapes: The path is absolute, or leads out of the root.
    """
    root = Path(repo_root).resolve()
    shown = str(repo_root)
    if "\0" in relpath:
        raise PathEscapes(shown, relpath, "contains a NUL character")
    if PurePosixPath(relpath).is_absolute() or PureWindowsPath(relpath).is_absolute():
        raise PathEscapes(shown, relpath, "is absolute")
    lexical = Path(*(p for p in relpath.split("/") if p not in ("", ".")))
    target = (root / lexical).resolve()
    if target != root and root not in target.parents:
        # Without following links, would the path still be inside?
        lexically_out = not _inside(root, Path(_normalized(root / lexical)))
        reason = "climbs out with '..'" if lexically_out else "leads out through a symlink"
        raise PathEscapes(shown, relpath, reason)
    return target


def _normalized(path: Path) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if len(parts) > 1:
                parts.pop()
        else:
            parts.append(part)
    return str(Path(*parts))


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents
