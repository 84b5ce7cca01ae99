"""Strict loading of user-written TOML (plans, profiles) into attrs classes, with cattrs.

What a value may be is part of its field's type, as ``Annotated`` metadata:
``Range`` (numbers), ``Text`` (strings) and ``Choice`` (names from a
``Literal``). ``strict_converter`` makes the one converter that reads them:
a string is never a number, a number never a string, ``"yes"`` never a
boolean, an array is never a string's characters, and a key the class does
not know is an error. ``add_problems`` turns the tree of errors it raises
into problems, each at its path in the file.
"""

# No ``from __future__ import annotations``: ``Annotated`` metadata is read at run time.

import difflib
import math
import operator
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import reduce
from typing import Any, TypeVar, final

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.gen import make_dict_structure_fn

from ._problems import Problem, toml_key

_T = TypeVar("_T")


@final
@attrs.frozen
class Range:
    """The values a number may take; ``Annotated`` metadata of profile and plan fields.

    Attributes:
        low: The smallest value allowed.
        high: The largest value allowed.
        expected: What the value should be, for error messages.
        low_open: Whether ``low`` itself is excluded.
        integer: Whether the value must be a whole number.
    """

    low: float
    high: float
    expected: str
    low_open: bool = False
    integer: bool = False

    def problem(self, value: object) -> str | None:
        """What is wrong with ``value``, or ``None`` when it is in range."""
        number_types: tuple[type, ...] = (int,) if self.integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, number_types):
            return f"expected {self.expected}, got {describe(value)}"
        assert isinstance(value, int | float)
        too_low = value <= self.low if self.low_open else value < self.low
        if math.isnan(value) or too_low or value > self.high:
            return f"expected {self.expected}, got {value!r}"
        return None


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


def describe(value: object) -> str:
    """A value and its TOML type, for error messages: ``'x' (a string)``."""
    names = {
        bool: "a boolean",
        str: "a string",
        int: "an integer",
        float: "a float",
        dict: "a table",
        list: "an array",
    }
    kind = names.get(type(value), type(value).__name__)
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return f"{shown} ({kind})"


def metadata(annotation: object, kind: type[_T]) -> _T | None:
    """The metadata of type ``kind`` of an ``Annotated`` type, if it has one."""
    return next((m for m in getattr(annotation, "__metadata__", ()) if isinstance(m, kind)), None)


def range_of(annotation: object) -> Range | None:
    """The ``Range`` in an ``Annotated`` type's metadata, if any."""
    return metadata(annotation, Range)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the candidate closest to ``word``; empty if none is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_key(path: str, key: str, expected: Sequence[str], *, hint: bool = True) -> Problem:
    """The problem of a key the table at ``path`` does not have (with the closest, if ``hint``)."""
    close = did_you_mean(key, expected) if hint else ""
    return Problem(path, f"unknown key (expected one of {', '.join(expected)}){close}")


class Expected(ValueError):
    """A value is not what was expected; the message says what was."""


class Nested(Exception):
    """Errors at places inside a value: ``(suffix of the path, error)`` pairs."""

    def __init__(self, errors: Sequence[tuple[str, BaseException]]) -> None:
        super().__init__(f"{len(errors)} errors")
        self.errors = tuple(errors)


def _structure_str(value: object, _: type) -> str:
    if not isinstance(value, str):
        raise Expected(f"expected a string, got {describe(value)}")
    return value


def _structure_bool(value: object, _: type) -> bool:
    if not isinstance(value, bool):
        raise Expected(f"expected true or false, got {describe(value)}")
    return value


def _structure_int(value: object, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Expected(f"expected a whole number, got {describe(value)}")
    return value


def _structure_ranged(value: object, annotation: Any) -> float | int:
    bounds = range_of(annotation)
    assert bounds is not None
    problem = bounds.problem(value)
    if problem is not None:
        raise Expected(problem)
    assert isinstance(value, int | float)
    return int(value) if bounds.integer else float(value)


def _structure_text(value: object, annotation: Any) -> str:
    text = metadata(annotation, Text)
    assert text is not None
    if not isinstance(value, str):
        raise Expected(f"expected {text.expected}, got {describe(value)}")
    ok = re.fullmatch(text.pattern, value) if text.pattern is not None else value.strip()
    if not ok:
        raise Expected(f"expected {text.expected}, got {value!r}")
    return value


def _structure_choice(value: object, annotation: Any) -> str:
    choice = metadata(annotation, Choice)
    assert choice is not None
    names: tuple[str, ...] = typing.get_args(typing.get_args(annotation)[0])
    if not isinstance(value, str):
        expected = f"{choice.article} {choice.noun} ({', '.join(names)})"
        raise Expected(f"expected {expected}, got {describe(value)}")
    if value not in names:
        hint = did_you_mean(value, names)
        raise Expected(f"unknown {choice.noun} {value!r} (known: {', '.join(names)}){hint}")
    return value


def _is_tuple(annotation: object) -> bool:
    args = typing.get_args(annotation)
    return typing.get_origin(annotation) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_optional(annotation: object) -> bool:
    origin = typing.get_origin(annotation)
    is_union = origin is typing.Union or origin is types.UnionType
    return is_union and type(None) in typing.get_args(annotation)


def _is_labels(annotation: object) -> bool:
    return typing.get_origin(annotation) is Mapping or annotation is Mapping


def table_hook(converter: cattrs.Converter, cl: type) -> Callable[[object, type], object]:
    """The structure function of attrs class ``cl``: a TOML table, no key it does not know."""
    structure: Callable[[Any, type], object] = make_dict_structure_fn(cl, converter)

    def structure_table(value: object, annotation: type) -> object:
        if not isinstance(value, dict):
            raise Expected(f"expected a table, got {describe(value)}")
        return structure(value, annotation)

    return structure_table


def strict_converter() -> cattrs.Converter:
    """The strict converter (see the module documentation).

    Hooks registered on it later take precedence; a table's structure
    function is made when the table is first structured, with the hooks
    registered by then.
    """
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    # Later registrations win: the most specific hooks come last.
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(int, _structure_int)

    def structure_tuple(value: object, annotation: Any) -> tuple[object, ...]:
        if not isinstance(value, list):
            raise Expected(f"expected an array, got {describe(value)}")
        item_type = typing.get_args(annotation)[0]
        items, errors = [], []
        for i, item in enumerate(value):
            try:
                items.append(converter.structure(item, item_type))
            except Exception as error:  # each becomes a problem at its index
                errors.append((f"[{i}]", error))
        if errors:
            raise Nested(errors)
        return tuple(items)

    def structure_labels(value: object, _: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            raise Expected(f"expected a table of strings, got {describe(value)}")
        errors = [
            (f".{toml_key(k)}", Expected(f"expected a string, got {describe(v)}"))
            for k, v in value.items()
            if not isinstance(v, str)
        ]
        if errors:
            raise Nested(errors)
        return dict(value)

    def structure_optional(value: object, annotation: Any) -> object:
        if value is None:
            return None
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        return converter.structure(value, reduce(operator.or_, rest))

    converter.register_structure_hook_func(_is_optional, structure_optional)
    converter.register_structure_hook_func(_is_tuple, structure_tuple)
    converter.register_structure_hook_func(_is_labels, structure_labels)
    converter.register_structure_hook_func(lambda t: range_of(t) is not None, _structure_ranged)
    converter.register_structure_hook_func(lambda t: metadata(t, Text) is not None, _structure_text)
    converter.register_structure_hook_func(
        lambda t: metadata(t, Choice) is not None, _structure_choice
    )
    converter.register_structure_hook_factory(attrs.has, lambda cl: table_hook(converter, cl))
    return converter


def _field_names(cl: type) -> list[str]:
    return [a.name for a in attrs.fields(cl)]


def add_problems(
    error: BaseException,
    where: str,
    problems: list[Problem],
    *,
    keys: Callable[[type], list[str]] = _field_names,
    hint: bool = True,
) -> None:
    """Turn a tree of structuring errors into problems with paths, added to ``problems``.

    Args:
        error: What the converter raised.
        where: The path of the value it structured.
        problems: Where the problems go.
        keys: The keys a table of a class may hold (its fields by default),
            listed for an unknown key.
        hint: Whether an unknown key names the closest known one.
    """
    if isinstance(error, ClassValidationError):
        with_notes, without = error.group_exceptions()
        for inner, note in with_notes:
            here = f"{where}.{toml_key(note.name)}"
            if isinstance(inner, KeyError):
                kind = "table" if attrs.has(note.type) else "key"
                problems.append(Problem(here, f"required {kind} missing"))
            else:
                add_problems(inner, here, problems, keys=keys, hint=hint)
        for other in without:
            add_problems(other, where, problems, keys=keys, hint=hint)
    elif isinstance(error, IterableValidationError):
        with_index, without = error.group_exceptions()
        for inner, index_note in with_index:
            add_problems(inner, f"{where}[{index_note.index!r}]", problems, keys=keys, hint=hint)
        for other in without:
            add_problems(other, where, problems, keys=keys, hint=hint)
    elif isinstance(error, Nested):
        for suffix, nested in error.errors:
            add_problems(nested, where + suffix, problems, keys=keys, hint=hint)
    elif isinstance(error, ForbiddenExtraKeysError):
        expected = keys(error.cl)
        for key in sorted(error.extra_fields):
            problems.append(unknown_key(f"{where}.{toml_key(key)}", key, expected, hint=hint))
    elif isinstance(error, Expected):
        problems.append(Problem(where, str(error)))
    elif isinstance(error, KeyError):
        problems.append(Problem(where, "required key missing"))
    else:
        problems.append(Problem(where, f"invalid value ({error})"))
