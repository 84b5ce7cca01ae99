"""Problems in user-written files (profiles, plans): each with its path, all at once.

``ProblemsError`` is the one error such a file gets: it names the file and
lists every problem, one line each (``file:path: what was expected``).
``toml_key`` writes a key as it appears in a TOML dotted path, escaped so a
problem's path is always one line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import final

import attrs

from .runtime import InputError


@final
@attrs.frozen
class Problem:
    """One thing wrong with an input file.

    Attributes:
        location: The dotted path inside the file (``profiles.flaky.success.executor``);
            empty for the file as a whole.
        detail: What was expected, and what was found.
    """

    location: str
    detail: str

    def __str__(self) -> str:
        return f"{self.location}: {self.detail}" if self.location else self.detail


class ProblemsError(InputError):
    """A user-written file is invalid. Lists every problem, one per line.

    ``location`` and ``detail`` are those of the first problem; the string
    form has one line per problem, each ``file:path: what was expected``.

    Attributes:
        problems: Every problem found, in the order of the file.
    """

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        first = problems[0]
        super().__init__(source, first.location, first.detail)
        self.problems = tuple(problems)
        self.args = (
            "\n".join(
                f"{source}:{p.location}: {p.detail}" if p.location else f"{source}: {p.detail}"
                for p in problems
            ),
        )


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
