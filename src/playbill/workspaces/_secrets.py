"""Push protection: no secret the run knows reaches the integration branch.

After an attempt's work is committed, its file names, the messages of the
commits it made and the lines its diff adds are searched for the secrets the
run knows. The first one found is reported by where it is (the file and the
line, or the commit), never by its value; the attempt then fails as
``validation``/``secret_in_diff`` and nothing of it is integrated.

Lines are searched one by one: a secret split across two lines of a file is
not found (the journal's redaction, which sees whole strings, does find one
split by a line break inside one string).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from pathlib import Path
from typing import final

import attrs

from . import _git

Finder = Callable[[str], "str | None"]
"""The name of the first secret a text holds, if it holds one."""

_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@final
@attrs.frozen
class SecretFound:
    """Where an attempt's work holds a secret.

    Attributes:
        secret: The secret's name (the environment variable), never its value.
        where: The file and line (``path line 3``), the file's name, or the commit.
    """

    secret: str
    where: str


def find_secret(
    top: Path, cwd: Path, base: str, tip: str, changed: tuple[str, ...], find: Finder
) -> SecretFound | None:
    """The first secret in the work from ``base`` to ``tip`` (file names, messages, diff).

    Args:
        top: The repository's work tree (for git's errors).
        cwd: The attempt's worktree.
        base: The attempt's base commit.
        tip: Its commit.
        changed: The paths it changed.
        find: Names the secret a text holds.
    """
    if base == tip:
        return None
    for path in changed:
        name = find(path)
        if name is not None:
            return SecretFound(name, f"the name of a file it changed ({_shown(path, find)})")
    log = _git.run_git(cwd, "log", "--format=%H%x00%B%x00", f"{base}..{tip}", repo=top)
    fields = log.out.decode("utf-8", "surrogateescape").split("\0")
    for commit, message in zip(fields[0::2], fields[1::2], strict=False):
        name = find(message)
        if name is not None:
            return SecretFound(name, f"the message of commit {commit.strip()[:12]}")
    diff = _git.run_git(
        cwd,
        *("diff", "--no-color", "--no-ext-diff", "--no-textconv", "--text", "-U0"),
        *("--no-renames", "--no-relative", base, tip),
        repo=top,
    )
    path, line = "", 0
    for raw in diff.out.split(b"\n"):
        if raw.startswith(b"+++ "):
            path = _path_of(raw[4:])
        elif raw.startswith(b"@@"):
            hunk = _HUNK.match(raw)
            line = int(hunk.group(1)) if hunk is not None else 0
        elif raw.startswith(b"+"):
            name = find(raw[1:].decode("utf-8", "surrogateescape"))
            if name is not None:
                return SecretFound(name, f"{_shown(path, find)} line {line}")
            line += 1
    return None


def _path_of(header: bytes) -> str:
    """The path of a ``+++ b/path`` header (``--text`` diffs quote unusual names)."""
    header = header.rstrip(b"\t")
    if header.startswith(b'"') and header.endswith(b'"'):
        header = codecs.escape_decode(header[1:-1])[0]
    text = header.decode("utf-8", "surrogateescape")
    return text[2:] if text.startswith("b/") else text


def _shown(path: str, find: Finder) -> str:
    """A path to show: the path itself, unless it holds the secret."""
    return path if find(path) is None else "a file whose name holds it"
