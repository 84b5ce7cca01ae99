"""Writing problems: paths into the file, their order, and "did you mean"."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_key(key: str) -> str:
    """``key`` as it is written in a TOML dotted path: bare, or quoted and escaped.

    Escaped as TOML escapes it, so that a problem's path is always one line.
    """
    if _BARE_KEY.fullmatch(key):
        return key
    out = []
    for c in key:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the candidate closest to ``word``; empty if none is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


_SECTION = re.compile(r"(run|agents|steps|criteria)\b(?:\[(\d+)\])?")
_ORDER = {"run": 1, "agents": 2, "steps": 3, "criteria": 4}


def where_in_file(location: str) -> tuple[int, int]:
    """A sort key that puts problems in the order of the plan file's sections and items."""
    found = _SECTION.match(location)
    if found is None:
        return (0, 0)
    return (_ORDER[found[1]], int(found[2]) if found[2] is not None else -1)
