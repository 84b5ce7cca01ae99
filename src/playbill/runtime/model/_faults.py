"""The fault specification of a simulated run (``--faults SPEC``).

A spec is a comma-separated list of ``NAME=VALUE`` items::

    crash=0.05,hang=0.02,slow=0.1:5,transient=0.1,journal_fail=@120,kill=@200

* ``crash=P``: each attempt's agent crashes with probability ``P``.
* ``hang=P``: each attempt's agent hangs (stops heartbeating, never returns
  until cancelled) with probability ``P``.
* ``slow=P:F``: each attempt is ``F`` times slower with probability ``P``.
* ``transient=P``: each attempt fails transiently (a retryable error) with
  probability ``P``.
* ``journal_fail=@N``: the journal's commit fails, once, when the run's entry
  count reaches ``N``. May be given several times.
* ``kill=@N``: the process is killed once entry ``N`` is committed.

The per-attempt probabilities overlay the agents' profiles: a fault and a
profile's own odds are independent causes, so a profile that crashes with
probability ``a`` under ``crash=b`` crashes with probability ``1 - (1-a)(1-b)``.
The spec is pure data; the simulated backends and the simulated journal apply
it, drawing from their seeded generators.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import final

import attrs

from ._errors import InputError

FAULT_NAMES = ("crash", "hang", "slow", "transient", "journal_fail", "kill")
"""Every fault a spec may name, in canonical order."""

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_ENTRY = re.compile(r"@(\d+)", re.ASCII)


def _float(value: float) -> float:
    # -0.0 would print as "-0.0", which is no probability; 0.0 is the same number.
    return float(value) + 0.0


def _probability(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be a probability in [0, 1], got {value!r}")


def _factor(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (1.0 <= value < math.inf):
        raise ValueError(f"{attribute.name} must be a finite factor >= 1, got {value!r}")


def _sorted(value: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sorted(value))


def _entries(
    _: object, attribute: attrs.Attribute[tuple[int, ...]], value: tuple[int, ...]
) -> None:
    if any(n < 1 for n in value) or list(value) != sorted(set(value)):
        raise ValueError(f"{attribute.name} must be distinct entry counts >= 1, got {value!r}")


def _entry(_: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name} must be an entry number >= 1, got {value!r}")


@final
@attrs.frozen
class FaultPlan:
    """The faults injected into a simulated run. The default injects none.

    ``str(plan)`` is the canonical spec: items in ``FAULT_NAMES`` order, those
    at their defaults left out, numbers written so that they parse back
    exactly (``parse_faults(str(plan)) == plan``).

    Attributes:
        crash: Per-attempt probability that the agent crashes.
        hang: Per-attempt probability that the agent hangs.
        slow: Per-attempt probability that the attempt is slowed down.
        slow_factor: How much slower a slowed attempt is (``>= 1``).
        transient: Per-attempt probability of a transient failure.
        journal_fail: Entry counts at which one journal commit fails (kept
            sorted).
        kill: The entry after whose commit the process is killed, if any.
    """

    crash: float = attrs.field(default=0.0, converter=_float, validator=_probability)
    hang: float = attrs.field(default=0.0, converter=_float, validator=_probability)
    slow: float = attrs.field(default=0.0, converter=_float, validator=_probability)
    slow_factor: float = attrs.field(default=1.0, converter=_float, validator=_factor)
    transient: float = attrs.field(default=0.0, converter=_float, validator=_probability)
    journal_fail: tuple[int, ...] = attrs.field(default=(), converter=_sorted, validator=_entries)
    kill: int | None = attrs.field(default=None, validator=_entry)

    @property
    def injects_anything(self) -> bool:
        """Whether any fault at all is injected."""
        return self != NO_FAULTS

    def __str__(self) -> str:
        items = []
        for name in ("crash", "hang"):
            if getattr(self, name):
                items.append(f"{name}={getattr(self, name)!r}")
        if self.slow or self.slow_factor != 1.0:
            items.append(f"slow={self.slow!r}:{self.slow_factor!r}")
        if self.transient:
            items.append(f"transient={self.transient!r}")
        items.extend(f"journal_fail=@{n}" for n in self.journal_fail)
        if self.kill is not None:
            items.append(f"kill=@{self.kill}")
        return ",".join(items)


NO_FAULTS = FaultPlan()
"""A plan that injects no fault."""


class FaultSpecError(InputError):
    """A ``--faults`` spec is malformed; nothing was injected.

    The message reads ``--faults: item 3 'slow=abc': expected PROBABILITY:FACTOR``.

    Attributes:
        index: The bad item's position in the spec, from 1.
        item: The bad item, as written.
    """

    def __init__(self, source: str, index: int, item: str, detail: str) -> None:
        super().__init__(source, f"item {index} {item!r}", detail)
        self.args = (f"{source}: item {index} {item!r}: {detail}",)
        self.index = index
        self.item = item


def parse_faults(spec: str, *, source: str = "--faults") -> FaultPlan:
    """Parse a fault spec (see the module documentation for its syntax).

    An empty (or blank) spec injects no fault. Spaces around items, names and
    values are ignored; everything else is strict: an unknown name, a number
    out of range or a fault given twice is an error.

    Args:
        spec: The spec, e.g. ``crash=0.05,slow=0.1:5,kill=@200``.
        source: Where the spec came from, for error messages.

    Raises:
        FaultSpecError: The spec is malformed; the error names the first bad
            item and what was expected.
    """
    if not spec.strip():
        return NO_FAULTS
    seen: set[str] = set()
    odds: dict[str, float] = {}
    slow_factor = 1.0
    journal_fail: set[int] = set()
    kill: int | None = None
    for index, raw in enumerate(spec.split(","), start=1):
        fail = _failer(source, index, raw.strip())
        name, sep, value = (part.strip() for part in raw.partition("="))
        if not sep or not name:
            raise fail("expected NAME=VALUE")
        if name not in FAULT_NAMES:
            raise fail(f"unknown fault {name!r}; expected one of {', '.join(FAULT_NAMES)}")
        if name in seen and name != "journal_fail":
            raise fail(f"{name} is given twice")
        seen.add(name)
        if name == "journal_fail":
            count = _parse_entry(value, fail)
            if count in journal_fail:
                raise fail(f"journal_fail=@{count} is given twice")
            journal_fail.add(count)
        elif name == "kill":
            kill = _parse_entry(value, fail)
        elif name == "slow":
            probability, colon, factor = (part.strip() for part in value.partition(":"))
            if not colon or not _NUMBER.fullmatch(probability) or not _NUMBER.fullmatch(factor):
                raise fail("expected PROBABILITY:FACTOR")
            odds["slow"] = _parse_probability(probability, fail)
            slow_factor = float(factor)
            if not 1.0 <= slow_factor < math.inf:
                raise fail(f"expected a slow-down FACTOR >= 1, got {factor}")
        else:
            odds[name] = _parse_probability(value, fail)
    return FaultPlan(
        crash=odds.get("crash", 0.0),
        hang=odds.get("hang", 0.0),
        slow=odds.get("slow", 0.0),
        slow_factor=slow_factor,
        transient=odds.get("transient", 0.0),
        journal_fail=tuple(sorted(journal_fail)),
        kill=kill,
    )


_Fail = Callable[[str], FaultSpecError]


def _failer(source: str, index: int, item: str) -> _Fail:
    """Makes the error for one item, given what was expected."""

    def fail(detail: str) -> FaultSpecError:
        return FaultSpecError(source, index, item, detail)

    return fail


def _parse_probability(text: str, fail: _Fail) -> float:
    if not _NUMBER.fullmatch(text):
        raise fail("expected a PROBABILITY (a number between 0 and 1)")
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise fail(f"expected a PROBABILITY between 0 and 1, got {text}")
    return value


def _parse_entry(text: str, fail: _Fail) -> int:
    match = _ENTRY.fullmatch(text)
    if match is None:
        raise fail("expected @ENTRY (an entry number, e.g. @120)")
    count = int(match.group(1))
    if count < 1:
        raise fail(f"expected an entry number >= 1, got {text}")
    return count
