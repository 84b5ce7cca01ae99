"""The validators that look at files: ``file_changed`` and ``artifact_exists``."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import trio

from playbill.runtime import ArtifactExists, Evidence, Failure, FileChanged, path_in_scope

from ._commands import clip, error
from ._context import PathEscapeError, ValidationContext, confine
from ._result import ValidationResult, failed, passed

MAX_FILE_EVIDENCE = 20
"""Matching files listed as evidence by ``file_changed``; the count says the rest."""

_CHUNK = 1 << 20


def check_file_changed(v: FileChanged, name: str, ctx: ValidationContext) -> ValidationResult:
    """Passes when a changed file matches the glob ``v.path`` (or lies under what it names).

    Globs are those of step scopes (``path_in_scope``): ``**`` matches any
    number of segments, and a glob covers everything under the path it names.
    A glob that names no path at all (empty, ``.``) would match every change,
    so it is refused (``validator_error``) rather than passed; a glob with a
    ``..`` segment matches nothing.
    """
    if not [part for part in v.path.split("/") if part.strip() and part != "."]:
        return error(name, f"file_changed glob {v.path!r} names no path; it would match anything")
    matches = [p for p in ctx.changed_files if path_in_scope(p, (v.path,))]
    if not matches:
        detail = clip(
            f"no changed file matches {v.path!r} ({len(ctx.changed_files)} files changed), "
            "expected at least one"
        )
        failure = Failure(failure_class="validation", kind="file_not_changed", detail=detail)
        return failed(name, failure)
    evidence = tuple(
        Evidence(kind="file", ref=path, detail=f"changed; matches {v.path}")
        for path in matches[:MAX_FILE_EVIDENCE]
    )
    return passed(name, detail=f"{len(matches)} changed files match {v.path}", evidence=evidence)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


async def check_artifact(v: ArtifactExists, name: str, ctx: ValidationContext) -> ValidationResult:
    """Passes when a regular file or a directory exists at ``v.path`` in the worktree.

    A file's evidence carries its SHA-256. The path may not be the worktree
    itself, nor reach outside it (through ``..`` or a symlink).
    """
    try:
        where = confine(ctx.worktree, v.path)
    except PathEscapeError as exc:
        return error(name, f"artifact path {v.path!r} refused: {exc.reason}")
    if where == ctx.worktree.resolve():
        return error(name, f"artifact path {v.path!r} names the worktree itself")
    try:
        mode = where.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        return error(name, f"artifact {v.path!r} cannot be examined: {exc.strerror or exc!r}")
    if mode is None or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        what = "nothing" if mode is None else "no regular file or directory"
        detail = clip(f"{what} at {v.path!r}, expected the artifact to exist")
        failure = Failure(failure_class="validation", kind="artifact_missing", detail=detail)
        return failed(name, failure)
    if stat.S_ISDIR(mode):
        proof = Evidence(kind="file", ref=v.path, detail="a directory")
        return passed(name, detail="a directory", evidence=(proof,))
    try:
        digest = await trio.to_thread.run_sync(_sha256, where)
    except OSError as exc:
        return error(name, f"artifact {v.path!r} cannot be read: {exc.strerror or exc!r}")
    proof = Evidence(kind="file", ref=v.path, detail="a regular file", sha256=digest)
    return passed(name, detail=f"sha256 {digest}", evidence=(proof,))
