"""Writing problems: paths into the file, their order, and "did you mean"."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from playbill._problems import toml_key as toml_key


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
