"""What the values of a plan file may be: ``Annotated`` types the loader checks.

``Range`` (numbers), ``Text`` (strings) and ``Choice`` (names from a
``Literal``) are metadata on the model's field types (``playbill._strict``);
the loader (``playbill.plans._convert``) reads them and says what was
expected when a value does not fit. The types the backends' options use
too (``Prose``, ``Seconds``...) are those of ``playbill.backends._option_types``.
"""

# No ``from __future__ import annotations``: the metadata must stay readable.

from typing import Annotated

from playbill._strict import Choice, Range, Text
from playbill.backends import AtLeastOne, Count, EnvName, Prose, Seconds, SecondsOrNone, TokenCount
from playbill.runtime import ArbitrationPolicy, Role, StepExhaustedAction

__all__ = [
    "ID_PATTERN",
    "Arbitration",
    "AtLeastOne",
    "Choice",
    "Count",
    "Directory",
    "Dollars",
    "EnvName",
    "ExitCode",
    "Factor",
    "Id",
    "Prose",
    "RoleName",
    "Seconds",
    "SecondsOrNone",
    "StepExhausted",
    "Text",
    "TokenCount",
]


ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
"""What step, agent and criterion ids look like (they appear on command lines)."""

Id = Annotated[
    str,
    Text(
        "an id: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        ID_PATTERN,
    ),
]
"""A step, agent or criterion id."""


RoleName = Annotated[Role, Choice("role")]
"""One of the four roles."""

StepExhausted = Annotated[StepExhaustedAction, Choice("action", "an")]
"""What happens to a step out of attempts, as a step says it (``StepExhaustedAction``)."""

Arbitration = Annotated[ArbitrationPolicy, Choice("arbitration policy", "an")]
"""How the ``competitive`` strategy picks its winner (``ArbitrationPolicy``)."""


Dollars = Annotated[float, Range(0, 1e9, "an amount of US dollars above 0", low_open=True)]
"""An amount of money."""


Factor = Annotated[float, Range(1, 1e9, "a factor of at least 1")]
"""A multiplier that never shrinks."""

ExitCode = Annotated[int, Range(0, 255, "an exit status from 0 to 255", integer=True)]
"""A process exit status."""


Directory = Annotated[str, Text("a directory path")]
"""A directory on the machine (``~`` is expanded)."""
