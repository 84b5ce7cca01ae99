"""An index of a run's steps by status, so the policy never scans every step.

The supervisor's policy runs on every entry, and most of its rules ask about
a handful of steps: those in flight, those failed or blocked, those ready to
start. Scanning every step of the plan for them made each entry cost time in
proportion to the plan. ``StepIndex`` answers those questions from bitmasks
over the steps' positions in plan order, and costs a few integer operations
to keep up to date when one step changes.

**Derived, never stored.** The index is a pure function of a state's
``steps`` mapping (its order and its values). It is not a field of
``RunState``: it is not encoded, not digested, not compared, and a snapshot
does not hold it. It is memoized on the mapping itself, a ``StepMap`` (the
persistent mapping the reducer builds, which encodes, compares and iterates
as a ``dict`` of its steps would). ``index_of`` returns the memoized index
when there is one and builds it from scratch otherwise (for a plain ``dict``:
a decoded snapshot, a test's state), so a result never depends on the memo.
A state is never mutated once built, hence neither is its ``StepMap``; a
memo whose mapping changed size anyway is ignored.

**Kept incrementally.** When the reducer replaces one step (``put_step``),
the new mapping's index is derived from the old one's: the step's bit moves
from its old status's mask to its new one's and, when it became done or
stopped being done, its dependents' readiness is checked again (one integer
operation each). Steps added, reordered or given other dependencies, role,
scope or strategy (a new plan, a decomposition) get an index built from
scratch, once, when it is first asked for.

A property test checks that an index kept entry by entry equals one built
from scratch, over simulated journals (``property_tests``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Final, TypeAlias, final

from ..model._state import AttemptStatus, StepState, StepStatus
from ..model._step_map import StepMap
from ..model._values import Role

STATUSES: Final[tuple[StepStatus, ...]] = (
    "pending",
    "in_progress",
    "verify_pending",
    "completed",
    "failed",
    "interrupted",
    "blocked",
    "skipped",
)
"""Every step status, in the order of ``StepIndex.status``."""

_CODE: Final[dict[str, int]] = {status: n for n, status in enumerate(STATUSES)}
_DONE: Final = frozenset({"completed", "skipped"})
_OPEN: Final[frozenset[AttemptStatus]] = frozenset({"assigned", "running", "proposed"})
_NOT_DONE: Final = tuple(_CODE[status] for status in STATUSES if status not in _DONE)

Need: TypeAlias = tuple[Role, bool]
"""What a step asks of an agent: its role, and whether it edits files (has a scope)."""


@final
class Layout:
    """What the index knows of the plan's shape: positions, dependencies, needs.

    Attributes:
        ids: Step ids by position (plan order).
        pos: Position by step id.
        deps: Per position, the positions it depends on (each once).
        unknown: A mask of the steps that depend on a step the plan lacks.
        dependents: Per position, the positions that depend on it.
        needs: Per ``(role, edits)``, a mask of the steps that need it.
        strategies: Every step's own strategy (``None``: the run's).
        budgeted: A mask of the steps with a budget of their own.
    """

    __slots__ = (
        "budgeted",
        "dependents",
        "deps",
        "ids",
        "needs",
        "pos",
        "strategies",
        "unknown",
    )

    def __init__(self, steps: Mapping[str, StepState]) -> None:
        ids = self.ids = tuple(steps)
        pos = self.pos = dict(zip(ids, range(len(ids)), strict=True))
        specs = [step.spec for step in steps.values()]
        none: tuple[int, ...] = ()
        deps: list[tuple[int, ...]] = [none] * len(ids)
        dependents: dict[int, list[int]] = {}
        unknown: list[int] = []
        for n, depends_on in enumerate([spec.depends_on for spec in specs]):
            if not depends_on:
                continue
            if len(depends_on) == 1:  # most steps that depend on any
                at = pos.get(depends_on[0])
                if at is None:
                    unknown.append(n)
                else:
                    deps[n] = (at,)
                    dependents.setdefault(at, []).append(n)
                continue
            found: list[int] = []
            for dep in dict.fromkeys(depends_on):
                at = pos.get(dep)
                if at is None:
                    if not unknown or unknown[-1] != n:
                        unknown.append(n)
                else:
                    found.append(at)
                    dependents.setdefault(at, []).append(n)
            deps[n] = tuple(found)
        wanted = [(spec.role, bool(spec.scope)) for spec in specs]
        needs: dict[Need, list[int]] = {}
        for need in dict.fromkeys(wanted):  # a handful of needs, in order of first use
            needs[need] = [n for n, it in enumerate(wanted) if it == need]
        self.deps = tuple(deps)
        self.unknown = _mask(unknown, len(ids))
        by_position = [none] * len(ids)
        for at, them in dependents.items():
            by_position[at] = tuple(them)
        self.dependents = tuple(by_position)
        self.needs = {need: _mask(at, len(ids)) for need, at in needs.items()}
        self.strategies = frozenset([s.strategy for s in specs])
        budgeted = [n for n, spec in enumerate(specs) if spec.budget is not None]
        self.budgeted = _mask(budgeted, len(ids))


@final
class StepIndex:
    """The steps of one ``steps`` mapping by status, as bitmasks over positions.

    Bit ``n`` of a mask stands for the step at position ``n`` of
    ``layout.ids``. Build one with ``index_of``.

    Attributes:
        layout: The plan's shape.
        size: How many steps the mapping had.
        status: Per status (in ``STATUSES`` order), the steps in it.
        unblocked: Steps every dependency of which is completed or skipped
            (and all of which the plan has).
        live: Steps with an attempt still open (assigned, running, proposed).
        lost: Steps with an attempt whose work was lost (``AttemptState.lost``).
        retried: Steps with more than one attempt.
    """

    __slots__ = ("layout", "live", "lost", "retried", "size", "status", "unblocked")

    def __init__(
        self,
        layout: Layout,
        size: int,
        status: tuple[int, ...],
        unblocked: int,
        live: int,
        lost: int,
        retried: int,
    ) -> None:
        self.layout = layout
        self.size = size
        self.status = status
        self.unblocked = unblocked
        self.live = live
        self.lost = lost
        self.retried = retried

    @classmethod
    def build(cls, steps: Mapping[str, StepState]) -> StepIndex:
        """The index of a steps mapping, from scratch."""
        layout = Layout(steps)
        size = len(layout.ids)
        values = list(steps.values())
        codes = [_CODE[step.status] for step in values]
        by_status: list[list[int]] = [[] for _ in STATUSES]
        for code in set(codes):  # a few statuses at a time
            by_status[code] = [n for n, it in enumerate(codes) if it == code]
        done = {*by_status[3], *by_status[7]}
        live: list[int] = []
        lost: list[int] = []
        retried: list[int] = []
        for n in [n for n, step in enumerate(values) if step.attempts]:
            step = values[n]
            if _has_open(step):
                live.append(n)
            if _has_lost(step):
                lost.append(n)
            if len(step.attempts) > 1:
                retried.append(n)
        status = tuple(_mask(at, size) for at in by_status)
        unblocked = [n for n, deps in enumerate(layout.deps) if done.issuperset(deps)]
        return cls(
            layout,
            len(steps),
            status,
            _mask(unblocked, size) & ~layout.unknown,
            _mask(live, size),
            _mask(lost, size),
            _mask(retried, size),
        )

    def of(self, *statuses: StepStatus) -> int:
        """The mask of the steps in any of these statuses."""
        mask = 0
        for status in statuses:
            mask |= self.status[_CODE[status]]
        return mask

    @property
    def done(self) -> int:
        """The mask of the steps completed or skipped."""
        return _done(self.status)

    @property
    def all_done(self) -> bool:
        """Whether every step is completed or skipped."""
        # every step is in exactly one status: none in the others
        return not any(self.status[code] for code in _NOT_DONE)

    @property
    def ready(self) -> int:
        """Pending steps whose dependencies are done (backoff timers aside)."""
        return self.status[0] & self.unblocked

    def ids(self, mask: int) -> Iterator[str]:
        """The ids of the steps in ``mask``, in plan order."""
        ids = self.layout.ids
        while mask:
            low = mask & -mask
            yield ids[low.bit_length() - 1]
            mask ^= low

    def needing(self, needs: Iterator[Need] | list[Need]) -> int:
        """The mask of the steps that need any of ``needs``."""
        mask = 0
        for need in needs:
            mask |= self.layout.needs.get(need, 0)
        return mask

    def after(self, old: StepState, new: StepState, size: int) -> StepIndex | None:
        """The index once ``old`` is replaced by ``new`` (same id), or ``None``.

        ``None`` when the plan's shape changed (the index is then built from
        scratch when next asked for).
        """
        if old.spec is not new.spec and _shape(old) != _shape(new):
            return None
        layout = self.layout
        n = layout.pos[new.spec.id]
        bit = 1 << n
        status = self.status
        unblocked = self.unblocked
        if old.status != new.status:
            masks = list(status)
            masks[_CODE[old.status]] &= ~bit
            masks[_CODE[new.status]] |= bit
            status = tuple(masks)
            if (old.status in _DONE) != (new.status in _DONE):
                done = status[3] | status[7]
                for dependent in layout.dependents[n]:
                    flag = 1 << dependent
                    if not layout.unknown & flag and all(
                        done >> at & 1 for at in layout.deps[dependent]
                    ):
                        unblocked |= flag
                    else:
                        unblocked &= ~flag
        live = self.live
        lost = self.lost
        retried = self.retried
        attempts = new.attempts
        if old.attempts is not attempts:
            is_open = is_lost = False
            for attempt in attempts:
                if attempt.status in _OPEN:
                    is_open = True
                if attempt.lost:
                    is_lost = True
            live = live | bit if is_open else live & ~bit
            lost = lost | bit if is_lost else lost & ~bit
            retried = retried | bit if len(attempts) > 1 else retried & ~bit
        return StepIndex(layout, size, status, unblocked, live, lost, retried)


_last: tuple[Mapping[str, StepState], StepIndex] | None = None


def index_of(steps: Mapping[str, StepState]) -> StepIndex:
    """The index of a state's steps (memoized on a ``StepMap``; see the module)."""
    global _last
    if isinstance(steps, StepMap):
        memo: StepIndex | None = steps.memo
        if memo is not None and memo.size == len(steps):
            return memo
        built = StepIndex.build(steps)
        steps.memo = built
        return built
    last = _last
    if last is not None and last[0] is steps and last[1].size == len(steps):
        return last[1]
    built = StepIndex.build(steps)
    _last = (steps, built)  # a plain dict (a decoded or hand-made state): the latest only
    return built


def step_map(steps: Mapping[str, StepState]) -> StepMap:
    """A ``StepMap`` of these steps, in their order (its index built when asked for)."""
    return StepMap(steps)


def put_step(steps: Mapping[str, StepState], step: StepState) -> StepMap:
    """``steps`` with ``step`` put under its id, its index derived when known.

    A ``StepMap`` shares all the other steps with ``steps``, which is left
    as it was; a plain mapping is copied into one first.
    """
    if not isinstance(steps, StepMap):
        return StepMap(steps).set(step)
    out = steps.set(step)
    memo: StepIndex | None = steps.memo
    if memo is not None:
        old = steps.get(step.spec.id)
        if old is not None and memo.size == len(steps):
            out.memo = memo.after(old, step, memo.size)
    return out


def scan(
    steps: Callable[[], Mapping[str, StepState]], select: Callable[[StepIndex], int]
) -> Iterator[str]:
    """Step ids in plan order whose bit ``select`` sets, read afresh before each.

    The same as going through the ids the mapping had at the start and
    taking those that ``select`` picks in the mapping ``steps()`` returns
    then, which the caller may have changed in between: a step that a
    previous one's handling made eligible, further on, is still met.
    """
    first = index_of(steps())
    if not select(first):
        return  # nothing now, and nothing can change before the first is met
    ids = first.layout.ids
    start = 0
    while start < len(ids):
        index = index_of(steps())
        if index.layout.ids is not ids and index.layout.ids != ids:
            # the steps were reordered or added to (a new plan): go on through
            # the ids there were, one by one
            for sid in ids[start:]:
                index = index_of(steps())
                at = index.layout.pos.get(sid)
                if at is not None and select(index) >> at & 1:
                    yield sid
            return
        mask = select(index) >> start
        if not mask:
            return
        start += (mask & -mask).bit_length()
        yield ids[start - 1]


def _shape(step: StepState) -> tuple[object, ...]:
    spec = step.spec
    return (
        spec.id,
        spec.depends_on,
        spec.role,
        bool(spec.scope),
        spec.strategy,
        spec.budget is not None,
    )


def _has_open(step: StepState) -> bool:
    return any(a.status in _OPEN for a in step.attempts)


def _mask(positions: list[int], size: int) -> int:
    """The mask with the bits at ``positions`` set (built at once, not bit by bit)."""
    if not positions:
        return 0
    if len(positions) == 1:
        return 1 << positions[0]
    if len(positions) == size and positions[0] == 0 and positions[-1] == size - 1:
        return (1 << size) - 1  # every position, once each, in order
    bits = bytearray((size + 7) // 8)
    for n in positions:
        bits[n >> 3] |= 1 << (n & 7)
    return int.from_bytes(bits, "little")


def _has_lost(step: StepState) -> bool:
    return any(a.lost for a in step.attempts)


def _done(status: tuple[int, ...]) -> int:
    return status[3] | status[7]
