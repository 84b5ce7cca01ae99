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
import re
from collections.abc import Iterable, Mapping
from typing import TypeVar, final

import attrs
import msgspec

T = TypeVar("T")

SECRET_NAME = re.compile(
    r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE)",
    re.IGNORECASE,
)
"""Environment variable names whose values are treated as secrets."""

MIN_SECRET_LENGTH = 6
"""Shorter values are not redacted: they would match ordinary text."""


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says its value is a secret."""
    return SECRET_NAME.search(name) is not None


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
        data = msgspec.json.encode(value)
        text = data.decode()
        cleaned = self.redact(text)
        if cleaned == text:
            return value
        return msgspec.json.decode(cleaned.encode(), type=type(value))


def tail(text: str, limit: int = 4000) -> str:
    """The last ``limit`` characters of ``text``, marked when cut."""
    if len(text) <= limit:
        return text
    return f"[... {len(text) - limit} characters cut]\n" + text[-limit:]
