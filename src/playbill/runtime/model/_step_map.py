"""``StepMap``: a run's steps by id, in plan order, updated without copying.

A run's state changes one step at a time, four times for each step's six
entries. With the steps in a ``dict``, every change copied the whole dict,
and a step cost time in proportion to the plan (31 µs a copy at 10,000
steps). A ``StepMap`` keeps its steps in a persistent hash map
(``immutables.Map``, a HAMT): ``set`` returns a new map that shares all but
a few nodes with the old one, in time that does not grow with the plan, and
the old map stays as it was (states are frozen values).

It reads as a ``Mapping``: ``steps["a"]``, ``get``, ``in``, ``len``, and
iteration in plan order (the order the steps were put in), which a HAMT
alone does not keep; a tuple of the ids does, and changes only when a step
is added. It compares equal to any mapping with the same items (as a
``dict`` does: order aside), encodes as the ``dict`` of its items in their
order (``encode_state``, byte for byte what a ``dict`` encoded), and
pickles as that ``dict``.

It also carries a memo for the policy's step index (``memo``, see
``runtime.logic._step_index``): derived data, never encoded or compared.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any, TypeVar, overload

import immutables

from ._state import StepState

_D = TypeVar("_D")


class StepMap(Mapping[str, StepState]):
    """Steps by id in the order they were put in; frozen, ``set`` shares structure.

    Build one from a mapping (its order is kept) and change it with ``set``,
    which returns a new ``StepMap``.
    """

    __slots__ = ("_ids", "_map", "memo")

    _ids: tuple[str, ...]
    _map: immutables.Map[str, StepState]
    memo: Any
    """The step index of these steps, when derived (see ``_step_index``)."""

    def __init__(self, steps: Mapping[str, StepState] | None = None) -> None:
        """The steps of ``steps``, in its order."""
        items = {} if steps is None else dict(steps.items())
        self._map = immutables.Map(items)
        self._ids = tuple(items)
        self.memo = None

    def set(self, step: StepState) -> StepMap:
        """A new map with ``step`` under its id (added last if it is new)."""
        sid = step.spec.id
        steps = self._map
        out = _new(StepMap)
        out._ids = self._ids if sid in steps else (*self._ids, sid)
        out._map = steps.set(sid, step)
        out.memo = None
        return out

    def __getitem__(self, key: str) -> StepState:
        """The step with this id."""
        return self._map[key]

    @overload
    def get(self, key: str, /) -> StepState | None: ...

    @overload
    def get(self, key: str, default: StepState | _D, /) -> StepState | _D: ...

    def get(self, key: str, default: object = None) -> object:
        """The step with this id, or ``default``."""
        return self._map.get(key, default)

    def __contains__(self, key: object) -> bool:
        """Whether a step has this id."""
        return key in self._map

    def __len__(self) -> int:
        """How many steps."""
        return len(self._ids)

    def __iter__(self) -> Iterator[str]:
        """The ids, in order."""
        return iter(self._ids)

    def keys(self) -> KeysView[str]:
        """The ids, in order."""
        return KeysView(self)

    def values(self) -> ValuesView[StepState]:
        """The steps, in order."""
        return _Values(self)

    def items(self) -> ItemsView[str, StepState]:
        """``(id, step)`` pairs, in order."""
        return _Items(self)

    def __eq__(self, other: object) -> bool:
        """Equal to a mapping with the same items, whatever their order (as a ``dict``)."""
        if isinstance(other, StepMap):
            return self._map == other._map
        if isinstance(other, Mapping):
            return len(other) == len(self._ids) and dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        """As the ``dict`` of its items."""
        return repr(dict(self.items()))

    def __reduce__(self) -> tuple[type[StepMap], tuple[dict[str, StepState]]]:
        """Pickle as the ``dict`` of the steps (the memo is derived again)."""
        return (StepMap, (dict(self.items()),))


_new = object.__new__


class _Values(ValuesView[StepState]):
    __slots__ = ()
    _mapping: StepMap

    def __iter__(self) -> Iterator[StepState]:
        steps = self._mapping
        return map(steps._map.__getitem__, steps._ids)


class _Items(ItemsView[str, StepState]):
    __slots__ = ()
    _mapping: StepMap

    def __iter__(self) -> Iterator[tuple[str, StepState]]:
        steps = self._mapping
        found = steps._map.__getitem__
        return ((sid, found(sid)) for sid in steps._ids)
