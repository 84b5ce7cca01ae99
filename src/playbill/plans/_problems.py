"""Writing problems: paths into the file, their order, and "did you mean"."""

from __future__ import annotations

import re

from playbill._problems import toml_key as toml_key
from playbill._strict import did_you_mean as did_you_mean

_SECTION = re.compile(r"(run|agents|steps|criteria)\b(?:\[(\d+)\])?")
_ORDER = {"run": 1, "agents": 2, "steps": 3, "criteria": 4}


def where_in_file(location: str) -> tuple[int, int]:
    """A sort key that puts problems in the order of the plan file's sections and items."""
    found = _SECTION.match(location)
    if found is None:
        return (0, 0)
    return (_ORDER[found[1]], int(found[2]) if found[2] is not None else -1)
