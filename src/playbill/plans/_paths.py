"""Where a plan's paths may lead: inside the repository, or (worktrees) out of it.

A plan names paths relative to the repository (scopes, working
directories, files a validator checks); the runtime's
``outside_repository`` says why one could reach outside it (the policy
checks a planner's proposal with the same rule). The attempts' worktrees
are the other way round: ``worktrees_problem`` says why a directory cannot
hold them.
"""

from __future__ import annotations

import posixpath
import re


def worktrees_problem(path: str) -> str | None:
    """Why ``path`` cannot hold the attempts' worktrees, as far as the plan alone tells.

    Agent tools refuse to edit under a ``.git`` directory, and worktrees in
    the repository would make its work tree dirty: a relative path (from
    the repository's top) must lead out of it. Whether an absolute path is
    in the repository is checked when the run starts.
    """
    if any(ord(c) < 32 for c in path):
        return "expected a directory path, got a control character"
    segments = re.split(r"[/\\]", path)
    if ".git" in segments:
        return (
            "expected a directory outside any .git directory "
            f"(agent tools refuse to edit under .git), got {path!r}"
        )
    if not path.startswith(("/", "~")) and not re.match(r"[A-Za-z]:", path):
        normal = posixpath.normpath(path.replace("\\", "/"))
        if normal.split("/")[0] != "..":
            return (
                "expected a directory outside the repository (a relative path is from its "
                f"top: '../{normal}', or '~/...', or an absolute path), got {path!r}"
            )
    return None
