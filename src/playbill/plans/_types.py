"""What the values of a plan file may be: ``Annotated`` types the loader checks.

``Range`` (numbers, shared with agent profiles), ``Text`` (strings) and
``Choice`` (names from a ``Literal``) are metadata on the model's field
types; the loader (``playbill.plans._convert``) reads them and says what was
expected when a value does not fit.
"""

# No ``from __future__ import annotations``: the metadata must stay readable.

from typing import Annotated, final

import attrs

from playbill.actors._profiles import Range
from playbill.runtime import ArbitrationPolicy, Role, StepExhaustedAction
from playbill.workspaces import IGNORE_PATTERN


@final
@attrs.frozen
class Text:
    """The strings a field may hold; ``Annotated`` metadata of plan fields.

    Attributes:
        expected: What the string should be, for error messages.
        pattern: A regular expression the whole string must match; ``None``
            for any string that is not blank.
    """

    expected: str
    pattern: str | None = None


@final
@attrs.frozen
class Choice:
    """A field whose value is one of its ``Literal`` type's names.

    Attributes:
        noun: What the value names, for error messages (``role``).
        article: The noun's indefinite article.
    """

    noun: str
    article: str = "a"


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

Prose = Annotated[str, Text("a non-empty string")]
"""Text for people and agents: a goal, a description."""

RoleName = Annotated[Role, Choice("role")]
"""One of the four roles."""

StepExhausted = Annotated[StepExhaustedAction, Choice("action", "an")]
"""What happens to a step out of attempts, as a step says it (``StepExhaustedAction``)."""

Arbitration = Annotated[ArbitrationPolicy, Choice("arbitration policy", "an")]
"""How the ``competitive`` strategy picks its winner (``ArbitrationPolicy``)."""

Tokens = Annotated[int, Range(1, 1e15, "a whole number of tokens, at least 1", integer=True)]
"""A number of tokens."""

Dollars = Annotated[float, Range(0, 1e9, "an amount of US dollars above 0", low_open=True)]
"""An amount of money."""

Seconds = Annotated[float, Range(0, 1e9, "a number of seconds above 0", low_open=True)]
"""A duration that cannot be nothing."""

SecondsOrNone = Annotated[float, Range(0, 1e9, "a number of seconds, 0 or more")]
"""A duration that may be nothing."""

AtLeastOne = Annotated[int, Range(1, 1e9, "a whole number, at least 1", integer=True)]
"""A count of attempts, rounds or competitors."""

Count = Annotated[int, Range(0, 1e9, "a whole number, 0 or more", integer=True)]
"""A count that may be zero."""

Factor = Annotated[float, Range(1, 1e9, "a factor of at least 1")]
"""A multiplier that never shrinks."""

ExitCode = Annotated[int, Range(0, 255, "an exit status from 0 to 255", integer=True)]
"""A process exit status."""

IgnorePattern = Annotated[
    str,
    Text(
        "a gitignore pattern on one line, not starting with '#', '!' or a space "
        '(".cache/", "*.tmp")',
        IGNORE_PATTERN,
    ),
]
"""A gitignore pattern of files an agent's tool writes for itself."""

Directory = Annotated[str, Text("a directory path")]
"""A directory on the machine (``~`` is expanded)."""


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

Silence = tuple[str, float, str]
"""How long an agent may show no progress while it works: ``(option, seconds, why)``."""

BEATS = "it sends a heartbeat at most this often, when it shows progress"
"""Why an agent's ``heartbeat_s`` bounds how long it may show no progress."""
