"""Hypothesis strategies for every message of the catalogue, by introspection.

``messages()`` draws any member of the ``Message`` union. It is built from
``message_types()`` and ``msgspec.structs.fields()``, so a message added to
the catalogue is covered without touching this file; a field of a type this
module does not know fails loudly (``TypeError``) instead of being skipped.

Values are those the journal can hold: finite floats, integers that JSON
carries exactly, text without lone surrogates. Optional fields are drawn
sometimes and left at their default otherwise.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Any, Literal

import msgspec
from hypothesis import strategies as st

from factories import entries
from playbill.runtime.model._entry import Draft, Entry
from playbill.runtime.model._messages import Message, MessageBase, message_types

_INT = st.integers(min_value=-(2**53), max_value=2**53)
_FLOAT = st.floats(allow_nan=False, allow_infinity=False)
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
_MAX_ITEMS = 3


def for_type(tp: Any) -> st.SearchStrategy[Any]:
    """A strategy for values of a (resolved) field type."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is str:
        return _TEXT
    if tp is bool:
        return st.booleans()
    if tp is int:
        return _INT
    if tp is float:
        return _FLOAT
    if tp is type(None) or tp is None:
        return st.none()
    if origin is Literal:
        return st.sampled_from(args)
    if origin is typing.Union or origin is types.UnionType:
        return st.one_of([for_type(arg) for arg in args])
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(for_type(args[0]), max_size=_MAX_ITEMS).map(tuple)
        return st.tuples(*(for_type(arg) for arg in args))
    if origin is dict and args[0] is str:
        return st.dictionaries(_TEXT, for_type(args[1]), max_size=_MAX_ITEMS)
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return structs(tp)
    raise TypeError(f"no strategy for field type {tp!r}: teach property_tests/strategies.py")


@functools.cache
def structs(cls: type[msgspec.Struct]) -> st.SearchStrategy[Any]:
    """Instances of a msgspec Struct: required fields always, others sometimes.

    The strategy is also registered, so ``st.from_type(cls)`` draws the same.
    """
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in msgspec.structs.fields(cls):
        strategy = st.deferred(lambda tp=field.type: for_type(tp))
        (required if field.required else optional)[field.name] = strategy
    fields = st.fixed_dictionaries(required, optional=optional)
    built = fields.map(lambda kwargs: cls(**kwargs))
    st.register_type_strategy(cls, built)
    return built


MESSAGE_STRATEGIES: dict[type[MessageBase], st.SearchStrategy[Any]] = {
    cls: structs(cls) for cls in message_types()
}
"""One strategy per member of the ``Message`` union, in catalogue order."""


def messages() -> st.SearchStrategy[Message]:
    """Any message of the catalogue (``st.from_type(Message)`` works as well)."""
    return st.one_of(list(MESSAGE_STRATEGIES.values()))


def drafts() -> st.SearchStrategy[Draft]:
    """Drafts of any message, with plausible envelopes."""
    return st.builds(
        Draft,
        msg=messages(),
        sender=st.sampled_from(["supervisor", "planner-1", "executor-1", "tool"]),
        recipient=st.sampled_from(["*", "supervisor", "executor-1"]),
        cause=st.none() | st.integers(min_value=1, max_value=1000),
    )


def entries_of(run_id: str, msgs: list[Message], start_us: int = 10**15) -> list[Entry]:
    """Entries of one run, seqs dense from 1, one microsecond apart."""
    return entries(*msgs, run_id=run_id, start_us=start_us + 1, step_us=1, sender="tester")
