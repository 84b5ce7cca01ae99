r"""Keeping secrets from the environment out of the journal.

Anything a run captures from the outside world (a backend's output, a
validator's output tail, an HTTP error body) passes through a ``Redactor``
before it is journaled. The redactor knows the *values* of the environment
variables whose names look secret (``*_KEY``, ``*TOKEN*``, ``*SECRET*``,
``*PASSWORD*``...), and of any variable a run names (a plan's ``env_allow`` and
``[run] redact``), and replaces every occurrence with a marker that names the
variable, never the value.

An occurrence is the value as it is, URL-encoded (any of its characters
percent-encoded, in either case, a space as ``+``), or split by line breaks
(``\n`` or ``\r\n`` between any two of its characters, or the same escaped
as JSON escapes them, once or more, for a secret inside JSON, or JSON inside
JSON, inside a string), or any mix of these.
Base64 and other encodings are not recognised: an agent that means to leak a
secret it can read can always encode it some way a redactor cannot guess,
which is why ``env_allow`` should name only what an agent needs.

The redactor also makes every string valid Unicode: a lone surrogate (which
``json.loads`` accepts from ``"\ud800"``, and a non-UTF-8 file name decodes
to) becomes U+FFFD, the replacement character, so that it can be encoded.
"""

from __future__ import annotations

import collections.abc
import functools
import os
import re
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, cast, final

import attrs
import msgspec

T = TypeVar("T")
M = TypeVar("M")

SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "COOKIE")
"""A name segment (between ``_``) holding one of these names a secret."""

SECRET_SEGMENTS = ("AUTH", "PAT", "PRIVATE")
"""Name segments that are secrets' names when whole (``GIT_AUTHOR_NAME`` is not one)."""

MIN_SECRET_LENGTH = 6
"""Shorter values are not redacted: they would match ordinary text."""

_SURROGATE = re.compile("[\ud800-\udfff]")
"""A lone surrogate: a code point UTF-8 cannot encode."""

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
"""Characters URL-encoding leaves alone."""

_LINE_BREAK = r"(?:\r?\n|(?:\\+r)?\\+n)?"
"""What may split a secret inside one string: a line break, or one escaped as JSON escapes
it, once or more (JSON inside JSON inside a string)."""


def valid_unicode(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (so UTF-8 can encode it)."""
    return _SURROGATE.sub("\ufffd", text)


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a code point UTF-8 cannot encode."""
    return _SURROGATE.search(text) is not None


def lone_surrogate_at(value: object) -> str | None:
    """Where a msgspec value first holds a lone surrogate, as a path (``$.payload.summary``)."""
    return _surrogate_path(msgspec.to_builtins(value), "$")


def _surrogate_path(node: object, path: str) -> str | None:
    if isinstance(node, str):
        return path if has_lone_surrogate(node) else None
    if isinstance(node, list | tuple):
        for index, item in enumerate(node):
            found = _surrogate_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    elif isinstance(node, dict):
        for key, item in node.items():
            if isinstance(key, str) and has_lone_surrogate(key):
                return f"{path} (a key)"
            found = _surrogate_path(item, f"{path}.{key}")
            if found is not None:
                return found
    return None


@functools.lru_cache(maxsize=256)
def secret_pattern(value: str) -> re.Pattern[str]:
    """What matches ``value`` as it is, URL-encoded, split by line breaks, or a mix."""
    parts = []
    for char in value:
        forms = [re.escape(char)]
        if char not in _UNRESERVED:
            forms.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass")))
            if char == " ":
                forms.append(re.escape("+"))
        parts.append(forms[0] if len(forms) == 1 else "(?:" + "|".join(forms) + ")")
    # The hex digits of %XX may be of either case; nothing else is folded.
    body = _LINE_BREAK.join(parts)
    return re.compile(re.sub("%([0-9A-F])([0-9A-F])", _either_case, body))


def _either_case(found: re.Match[str]) -> str:
    """``%2F`` as a pattern that also matches ``%2f``."""
    return "%" + "".join(
        f"[{d}{d.lower()}]" if d.isalpha() else d for d in (found.group(1), found.group(2))
    )


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

    def with_names(
        self, names: Iterable[str], environ: Mapping[str, str] | None = None
    ) -> Redactor:
        """This redactor, also knowing the values of the variables ``names`` of ``environ``.

        Args:
            names: Names of variables whose values are secrets (a plan's
                ``env_allow`` and ``[run] redact``); unset ones are skipped.
            environ: The environment (``os.environ`` when ``None``).
        """
        env = os.environ if environ is None else environ
        pairs = set(self.secrets)
        for name in names:
            value = env.get(name)
            if value is not None and len(value) >= MIN_SECRET_LENGTH:
                pairs.add((name, value))
        return Redactor(tuple(sorted(pairs, key=lambda p: (-len(p[1]), p[0]))))

    def redact(self, text: str) -> str:
        """``text`` with every secret value replaced by a marker naming it, made valid Unicode."""
        text = valid_unicode(text)
        for name, value in self.secrets:
            if value in text:
                text = text.replace(value, f"[redacted:{name}]")
            if "%" in text or "\n" in text or "+" in text or "\\" in text:
                text = secret_pattern(value).sub(f"[redacted:{name}]", text)
        return text

    def find(self, text: str) -> str | None:
        """The name of the first secret ``text`` holds (in any form ``redact`` knows)."""
        for name, value in self.secrets:
            if value in text or secret_pattern(value).search(text) is not None:
                return name
        return None

    def scrub(self, msg: M) -> M:
        """A message (or any msgspec value) redacted and made valid Unicode.

        What a run's journal writer applies to every message before it is
        stamped (``Journal.writer(scrub=...)``): every string of free text,
        however deep (struct fields, tuples, lists, dict keys and values), is
        redacted; a string a ``Literal`` constrains (a tag, a status, a role)
        is left alone, so the message stays valid whatever the secret is.
        The same object comes back when there was nothing to clean.
        """
        return cast(M, self._clean(msg, Any))

    def redact_bytes(self, data: bytes) -> str:
        """Decode ``data`` (UTF-8, undecodable bytes replaced) and redact it."""
        return self.redact(data.decode("utf-8", errors="replace"))

    def redact_value(self, value: T) -> T:
        """A msgspec value (a result, a failure) with every secret in its strings redacted.

        The last line of defence before something an agent produced is
        journaled: whatever a backend forgot to redact is caught here. The
        value comes back unchanged (the same object) when it holds no secret.
        """
        return self.scrub(value)

    def _clean(self, node: object, hint: object) -> object:
        """``node`` cleaned, ``hint`` its declared type (``Any`` when unknown)."""
        if isinstance(node, str):
            if not _free_text(hint):
                return node
            cleaned = self.redact(node)
            return node if cleaned == node else cleaned
        if isinstance(node, msgspec.Struct):
            changes = {}
            for field in msgspec.structs.fields(type(node)):
                old = getattr(node, field.name)
                new = self._clean(old, field.type)
                if new is not old:
                    changes[field.name] = new
            return msgspec.structs.replace(node, **changes) if changes else node
        if isinstance(node, list | tuple):
            item = _item_hint(hint)
            items = [self._clean(value, item) for value in node]
            if all(new is old for new, old in zip(items, node, strict=True)):
                return node
            return tuple(items) if isinstance(node, tuple) else items
        if isinstance(node, dict):
            key_hint, value_hint = _mapping_hints(hint)
            pairs = [
                (self._clean(k, key_hint), self._clean(v, value_hint)) for k, v in node.items()
            ]
            same = zip(pairs, node.items(), strict=True)
            if all(nk is k and nv is v for (nk, nv), (k, v) in same):
                return node
            return dict(pairs)
        return node


def _members(hint: object) -> tuple[object, ...]:
    """The types a hint allows: a union's members, an ``Annotated``'s type, or itself."""
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _members(typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        return tuple(m for arg in typing.get_args(hint) for m in _members(arg))
    return (hint,)


def _free_text(hint: object) -> bool:
    """Whether a string where ``hint`` is declared is free text (not a ``Literal``)."""
    return any(m is str or m is Any or m is object for m in _members(hint))


def _item_hint(hint: object) -> object:
    """The declared type of a sequence's items (``Any`` when unknown)."""
    for member in _members(hint):
        args = typing.get_args(member)
        if typing.get_origin(member) in (tuple, list, collections.abc.Sequence) and args:
            return args[0]
    return Any


def _mapping_hints(hint: object) -> tuple[object, object]:
    """The declared types of a mapping's keys and values (``Any`` when unknown)."""
    for member in _members(hint):
        args = typing.get_args(member)
        if typing.get_origin(member) in (dict, collections.abc.Mapping) and len(args) == 2:
            return args[0], args[1]
    return Any, Any


def tail(text: str, limit: int = 4000) -> str:
    """The last ``limit`` characters of ``text``, marked when cut."""
    if len(text) <= limit:
        return text
    return f"[... {len(text) - limit} characters cut]\n" + text[-limit:]
