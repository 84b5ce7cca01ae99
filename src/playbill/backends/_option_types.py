"""What the options of a backend may be: ``Annotated`` types the plan loader checks.

Each alias is a Python type with ``playbill._strict`` metadata (``Range``
for numbers, ``Text`` for strings, ``Choice`` for names): the strict
converter reads it when a plan's ``[agents.options]`` table is loaded, and
says what was expected when a value does not fit. The plan's own tables use
them too (``playbill.plans._types``).
"""

# No ``from __future__ import annotations``: the metadata must stay readable.

from typing import Annotated, Literal

from playbill._strict import Choice, Range, Text
from playbill.workspaces import IGNORE_PATTERN

Prose = Annotated[str, Text("a non-empty string")]
"""Text for people and agents: a goal, a description, a program, a model."""

TokenCount = Annotated[int, Range(1, 1e15, "a whole number of tokens, at least 1", integer=True)]
"""A number of tokens."""

Seconds = Annotated[float, Range(0, 1e9, "a number of seconds above 0", low_open=True)]
"""A duration that cannot be nothing."""

SecondsOrNone = Annotated[float, Range(0, 1e9, "a number of seconds, 0 or more")]
"""A duration that may be nothing."""

AtLeastOne = Annotated[int, Range(1, 1e9, "a whole number, at least 1", integer=True)]
"""A count of attempts, rounds, turns or competitors."""

Count = Annotated[int, Range(0, 1e9, "a whole number, 0 or more", integer=True)]
"""A count that may be zero."""

IgnorePattern = Annotated[
    str,
    Text(
        "a gitignore pattern on one line, not starting with '#', '!' or a space "
        '(".cache/", "*.tmp")',
        IGNORE_PATTERN,
    ),
]
"""A gitignore pattern of files an agent's tool writes for itself."""

EnvName = Annotated[
    str,
    Text(
        "an environment variable name: letters, digits and '_', not starting with a digit",
        r"[A-Za-z_][A-Za-z0-9_]*",
    ),
]
"""The name of an environment variable."""

Price = Annotated[float, Range(0, 1e6, "US dollars per million tokens, 0 or more (0: unknown)")]
"""A price per million tokens."""

Temperature = Annotated[float, Range(0, 2, "a sampling temperature from 0 to 2")]
"""A sampling temperature."""

Url = Annotated[str, Text("an http:// or https:// URL", r"https?://\S+")]
"""The base URL of an API."""

ProviderId = Annotated[
    str, Text("a model provider id: letters, digits, '_' and '-'", r"[A-Za-z0-9_-]+")
]
"""The id of a Codex model provider (a key of its ``model_providers``)."""

Sandbox = Annotated[Literal["none", "bwrap"], Choice("sandbox")]
"""How an agent's process is sandboxed (``playbill.backends._sandbox``)."""

Silence = tuple[str, float, str]
"""How long an agent may show no progress while it works: ``(option, seconds, why)``."""

BEATS = "it sends a heartbeat at most this often, when it shows progress"
"""Why an agent's ``heartbeat_s`` bounds how long it may show no progress."""
