"""Keeping secrets from the environment out of the journal.

Anything a run captures from the outside world (a backend's output, a
validator's output tail, an HTTP error body) passes through a ``Redactor``
before it is journaled. The redactor knows the *values* of the environment
variables whose names look secret (``*_KEY``, ``*TOKEN*``, ``*SECRET*``,
``*PASSWORD*``...) and replaces every occurrence with a marker that names the
variable, never the value.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TypeVar, final

import attrs
import msgspec

T = TypeVar("T")

SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "COOKIE")
"""A name segment (between ``_``) holding one of these names a secret."""

SECRET_SEGMENTS = ("AUTH", "PAT", "PRIVATE")
"""Name segments that are secrets' names when whole (``GIT_AUTHOR_NAME`` is not one)."""

MIN_SECRET_LENGTH = 6
"""Shorter values are not redacted: they would match ordinary text."""


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says its value is a secret.

    ``OPENAI_API_KEY``, ``GITHUB_TOKEN``, ``PGPASSWORD``, ``AWS_SECRET_ACCESS_KEY``,
    ``GH_AUTH`` are; ``GIT_AUTHOR_NAME``, ``DESKTOP_SESSION``, ``KEYBOARD`` are not:
    a segment (between ``_``) must hold a secret word, end in ``KEY``, or be
    ``AUTH``, ``PAT`` or ``PRIVATE``.
    """
    for segment in name.upper().split("_"):
        if segment.endswith("KEY"):
            return True
        if segment in SECRET_SEGMENTS or any(word in segment for word in SECRET_WORDS):
            return True
    return False


@final
@attrs.frozen
class Redactor:
    """Replaces secret values in text with ``[redacted:NAME]``.

    Attributes:
        secrets: ``(name, value)`` pairs, longest value first, so that a secret
            containing another is replaced whole.
    """

    secrets: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] | None = None, extra: Iterable[str] = ()
    ) -> Redactor:
        """A redactor for the secret-looking variables of ``environ``.

        Args:
            environ: The environment (``os.environ`` when ``None``).
            extra: Names of further variables to treat as secrets whatever
                their names look like.
        """
        env = os.environ if environ is None else environ
        wanted = set(extra)
        pairs = {
            (name, value)
            for name, value in env.items()
            if (name in wanted or is_secret_name(name)) and len(value) >= MIN_SECRET_LENGTH
        }
        return cls(tuple(sorted(pairs, key=lambda p: (-len(p[1]), p[0]))))

    def redact(self, text: str) -> str:
        """``text`` with every secret value replaced by a marker naming it."""
        for name, value in self.secrets:
            if value in text:
                text = text.replace(value, f"[redacted:{name}]")
        return text

    def redact_bytes(self, data: bytes) -> str:
        """Decode ``data`` (UTF-8, undecodable bytes replaced) and redact it."""
        return self.redact(data.decode("utf-8", errors="replace"))

    def redact_value(self, value: T) -> T:
        """A msgspec value (a result, a failure) with every secret in its strings redacted.

        The last line of defence before something an agent produced is
        journaled: whatever a backend forgot to redact is caught here. The
        value comes back unchanged (the same object) when it holds no secret.
        """
        if not self.secrets:
            return value
        plain = msgspec.to_builtins(value)
        cleaned = self._walk(plain)
        if cleaned == plain:
            return value
        return msgspec.convert(cleaned, type=type(value))

    def _walk(self, node: object) -> object:
        """Redact the strings of a tree of builtins (numbers and keys are left alone)."""
        if isinstance(node, str):
            return self.redact(node)
        if isinstance(node, list | tuple):  # msgspec gives tuple fields as tuples
            return [self._walk(item) for item in node]
        if isinstance(node, dict):
            return {key: self._walk(item) for key, item in node.items()}
        return node


def tail(text: str, limit: int = 4000) -> str:
    """The last ``limit`` characters of ``text``, marked when cut."""
    if len(text) <= limit:
        return text
    return f"[... {len(text) - limit} characters cut]\n" + text[-limit:]
