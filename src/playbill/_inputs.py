"""Reading the files users hand to playbill, within documented limits.

Plans, profiles and run files (``playbill import``) are read through
``read_input``: only a regular file is read (``/dev/zero``, a FIFO or a
directory is refused at once instead of read for ever or blocking), and
never more than its limit. ``too_deep`` tells whether a decoded document
nests deeper than ``MAX_DEPTH``, without recursing itself. docs/security.md
lists the limits.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

MAX_PLAN_BYTES = 4 * 1024 * 1024
"""The largest plan or profile file read (4 MiB)."""

MAX_RUN_FILE_BYTES = 1024 * 1024 * 1024
"""The largest run file ``playbill import`` reads (1 GiB)."""

MAX_DEPTH = 64
"""The deepest nesting of tables and arrays in a plan, or of JSON in an entry."""


class InputRefused(Exception):
    """A file cannot be read as input; ``detail`` says why, in a few words.

    Attributes:
        detail: Why (``not a regular file (a FIFO)``, ``larger than 4 MiB``...).
        missing: The file does not exist.
    """

    def __init__(self, detail: str, *, missing: bool = False) -> None:
        self.detail = detail
        self.missing = missing
        super().__init__(detail)


def read_input(path: str | Path, limit: int) -> bytes:
    """The bytes of a regular file, at most ``limit`` of them.

    Opened without blocking (a FIFO never waits for a writer), then refused
    unless it is a regular file; reading stops past ``limit`` bytes, so a
    file that grows while it is read is refused too.

    Raises:
        InputRefused: The file cannot be opened, is not a regular file, or
            is larger than ``limit``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        missing = isinstance(exc, FileNotFoundError)
        raise InputRefused(exc.strerror or str(exc), missing=missing) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputRefused(f"not a regular file ({_kind(mode)})")
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, min(1024 * 1024, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise InputRefused(f"larger than {_amount(limit)}, the limit")
        return b"".join(chunks)
    except OSError as exc:
        raise InputRefused(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)


def too_deep(document: object, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and dicts nest more than ``limit`` levels deep in ``document``.

    Iterative: a document nested 100,000 deep is answered, not a
    ``RecursionError``.
    """
    pending: list[tuple[object, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        children: Iterable[object]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list | tuple):
            children = value
        else:
            continue
        if depth + 1 > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def _amount(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"
