"""The cattrs converter of plan files, and its errors turned into problems with paths.

The converter is strict: a string is never a number, a number never a
string, ``"yes"`` never a boolean, an array is never a string's characters,
and a key the model does not know is an error (with the closest known key,
when one is close). Numbers are checked against their ``Range``, strings
against their ``Text``, names against their ``Choice``; a validator table is
structured by its ``kind``, an agent's ``options`` by its ``backend``.
"""

from __future__ import annotations

import operator
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from functools import reduce
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn

from playbill._problems import Problem
from playbill.actors._profiles import describe, range_of

from ._model import BACKENDS, AgentTable, BackendOptions
from ._problems import did_you_mean, toml_key
from ._types import Choice, Text
from ._validators import VALIDATORS, ValidatorTable

_T = TypeVar("_T")


class _Expected(ValueError):
    """A value is not what was expected; the message says what was."""


class _Nested(Exception):
    """Errors at places inside a value: ``(suffix of the path, error)`` pairs."""

    def __init__(self, errors: Sequence[tuple[str, BaseException]]) -> None:
        super().__init__(f"{len(errors)} errors")
        self.errors = tuple(errors)


def unknown_key(path: str, key: str, expected: Sequence[str]) -> Problem:
    """The problem of a key the table at ``path`` does not have."""
    hint = did_you_mean(key, expected)
    return Problem(path, f"unknown key (expected one of {', '.join(expected)}){hint}")


def metadata(annotation: object, kind: type[_T]) -> _T | None:
    """The metadata of type ``kind`` of an ``Annotated`` type, if it has one."""
    return next((m for m in getattr(annotation, "__metadata__", ()) if isinstance(m, kind)), None)


def _structure_str(value: object, _: type) -> str:
    if not isinstance(value, str):
        raise _Expected(f"expected a string, got {describe(value)}")
    return value


def _structure_bool(value: object, _: type) -> bool:
    if not isinstance(value, bool):
        raise _Expected(f"expected true or false, got {describe(value)}")
    return value


def _structure_int(value: object, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Expected(f"expected a whole number, got {describe(value)}")
    return value


def _structure_ranged(value: object, annotation: Any) -> float | int:
    bounds = range_of(annotation)
    assert bounds is not None
    problem = bounds.problem(value)
    if problem is not None:
        raise _Expected(problem)
    assert isinstance(value, int | float)
    return int(value) if bounds.integer else float(value)


def _structure_text(value: object, annotation: Any) -> str:
    text = metadata(annotation, Text)
    assert text is not None
    if not isinstance(value, str):
        raise _Expected(f"expected {text.expected}, got {describe(value)}")
    ok = re.fullmatch(text.pattern, value) if text.pattern is not None else value.strip()
    if not ok:
        raise _Expected(f"expected {text.expected}, got {value!r}")
    return value


def _structure_choice(value: object, annotation: Any) -> str:
    choice = metadata(annotation, Choice)
    assert choice is not None
    names: tuple[str, ...] = typing.get_args(typing.get_args(annotation)[0])
    if not isinstance(value, str):
        expected = f"{choice.article} {choice.noun} ({', '.join(names)})"
        raise _Expected(f"expected {expected}, got {describe(value)}")
    if value not in names:
        hint = did_you_mean(value, names)
        raise _Expected(f"unknown {choice.noun} {value!r} (known: {', '.join(names)}){hint}")
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


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    # Later registrations win: the most specific hooks come last.
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(int, _structure_int)

    def structure_tuple(value: object, annotation: Any) -> tuple[object, ...]:
        if not isinstance(value, list):
            raise _Expected(f"expected an array, got {describe(value)}")
        item_type = typing.get_args(annotation)[0]
        items, errors = [], []
        for i, item in enumerate(value):
            try:
                items.append(converter.structure(item, item_type))
            except Exception as error:  # each becomes a problem at its index
                errors.append((f"[{i}]", error))
        if errors:
            raise _Nested(errors)
        return tuple(items)

    def structure_labels(value: object, _: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            raise _Expected(f"expected a table of strings, got {describe(value)}")
        errors = [
            (f".{toml_key(k)}", _Expected(f"expected a string, got {describe(v)}"))
            for k, v in value.items()
            if not isinstance(v, str)
        ]
        if errors:
            raise _Nested(errors)
        return dict(value)

    def structure_optional(value: object, annotation: Any) -> object:
        if value is None:
            return None
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        return converter.structure(value, reduce(operator.or_, rest))

    def table_of(cl: type) -> Callable[[object, type], object]:
        structure: Callable[[Any, type], object] = make_dict_structure_fn(cl, converter)

        def structure_table(value: object, annotation: type) -> object:
            if not isinstance(value, dict):
                raise _Expected(f"expected a table, got {describe(value)}")
            return structure(value, annotation)

        return structure_table

    def structure_validator(value: object, _: Any) -> ValidatorTable:
        if not isinstance(value, dict):
            raise _Expected(f"expected a table, got {describe(value)}")
        known = ", ".join(VALIDATORS)
        kind = value.get("kind")
        if kind is None:
            raise _Nested([(".kind", _Expected(f"required key missing (one of {known})"))])
        if not isinstance(kind, str):
            detail = f"expected a validator kind ({known}), got {describe(kind)}"
            raise _Nested([(".kind", _Expected(detail))])
        if kind not in VALIDATORS:
            hint = did_you_mean(kind, VALIDATORS)
            detail = f"unknown validator kind {kind!r} (known: {known}){hint}"
            raise _Nested([(".kind", _Expected(detail))])
        table = {k: v for k, v in value.items() if k != "kind"}
        found: ValidatorTable = converter.structure(table, VALIDATORS[kind])
        return found

    # Every hook a table's fields may use is registered before the first
    # table function is generated: cattrs picks the fields' hooks then.
    converter.register_structure_hook_func(_is_optional, structure_optional)
    converter.register_structure_hook_func(_is_tuple, structure_tuple)
    converter.register_structure_hook_func(_is_labels, structure_labels)
    converter.register_structure_hook_func(lambda t: t == ValidatorTable, structure_validator)
    converter.register_structure_hook_func(lambda t: range_of(t) is not None, _structure_ranged)
    converter.register_structure_hook_func(lambda t: metadata(t, Text) is not None, _structure_text)
    converter.register_structure_hook_func(
        lambda t: metadata(t, Choice) is not None, _structure_choice
    )
    converter.register_structure_hook_factory(attrs.has, table_of)

    def structure_options(value: object, _: Any) -> BackendOptions:
        # An agent's options are structured by its backend (structure_agent),
        # never as the union of every backend's table.
        raise _Expected("expected the options of the agent's backend")

    converter.register_structure_hook_func(lambda t: t == BackendOptions, structure_options)
    structure_agent_table = table_of(AgentTable)

    def structure_agent(value: object, annotation: Any) -> AgentTable:
        if not isinstance(value, dict):
            raise _Expected(f"expected a table, got {describe(value)}")
        table = {k: v for k, v in value.items() if k != "options"}
        errors: list[tuple[str, BaseException]] = []
        agent = None
        try:
            agent = structure_agent_table(table, annotation)
        except Exception as error:  # reported with the options' problems
            errors.append(("", error))
        backend = value.get("backend", "simulated")
        options = None
        if isinstance(backend, str) and backend not in BACKENDS:
            hint = did_you_mean(backend, BACKENDS)
            detail = f"unknown backend {backend!r} (known: {', '.join(BACKENDS)}){hint}"
            errors.append((".backend", _Expected(detail)))
        elif isinstance(backend, str) and "options" in value:
            try:
                options = converter.structure(value["options"], BACKENDS[backend])
            except Exception as error:  # reported at .options
                errors.append((".options", error))
        elif isinstance(backend, str):
            cl = BACKENDS[backend]
            required = [a.name for a in attrs.fields(cl) if a.default is attrs.NOTHING]
            if required:
                detail = (
                    f"required table missing: [agents.options], with {', '.join(required)} "
                    f"(backend {backend!r} needs it)"
                )
                errors.append((".options", _Expected(detail)))
            else:
                options = cl()  # type: ignore[call-arg]  # it has no required option
        if errors:
            raise _Nested(errors)
        assert isinstance(agent, AgentTable)
        return agent if options is None else attrs.evolve(agent, options=options)

    converter.register_structure_hook(AgentTable, structure_agent)

    return converter


_CONVERTER = _make_converter()


def structure(value: object, cl: type[_T], where: str, problems: list[Problem]) -> _T | None:
    """``value`` structured as ``cl``; ``None``, with its problems added, when it is not one."""
    try:
        found: _T = _CONVERTER.structure(value, cl)
    except Exception as error:  # every error of cattrs' tree is turned into problems
        _walk(error, where, problems)
        return None
    return found


def _fields(cl: type) -> list[str]:
    names = [a.name for a in attrs.fields(cl)]
    return ["kind", *names] if cl in VALIDATORS.values() else names


def _walk(error: BaseException, where: str, problems: list[Problem]) -> None:
    """Turn a tree of structuring errors into problems with paths."""
    if isinstance(error, ClassValidationError):
        with_notes, without = error.group_exceptions()
        for inner, note in with_notes:
            here = f"{where}.{toml_key(note.name)}"
            if isinstance(inner, KeyError):
                kind = "table" if attrs.has(note.type) else "key"
                problems.append(Problem(here, f"required {kind} missing"))
            else:
                _walk(inner, here, problems)
        for other in without:
            _walk(other, where, problems)
    elif isinstance(error, _Nested):
        for suffix, nested in error.errors:
            _walk(nested, where + suffix, problems)
    elif isinstance(error, ForbiddenExtraKeysError):
        expected = _fields(error.cl)
        for key in sorted(error.extra_fields):
            problems.append(unknown_key(f"{where}.{toml_key(key)}", key, expected))
    elif isinstance(error, _Expected):
        problems.append(Problem(where, str(error)))
    else:
        problems.append(Problem(where, f"invalid value ({error})"))
