"""The reaction cascade: an entry, the policy's reactions to it, theirs, and so on.

A policy reacts to an entry: ``react(state, entry) -> drafts``, pure, the
state being the run's state folded up to and including ``entry``. ``cascade``
is the one place where reactions are stamped and folded. The journal writer
runs it on every appended entry, inside the flush, and commits what it returns
in the same transaction (see ``_keeper``); ``check_replay`` runs it on every
recorded entry and compares; the property tests' simulated world runs it too.
This is how the supervisor's policy runs: its commands are journaled with
their cause, and when it reacts to an entry, every command it issued for an
earlier entry is already folded into the state it sees.

Order, precisely. An entry is followed by its whole cascade, breadth first:
the reactions to it, then the reactions to those, and so on. Reactions are
stamped as the entries right after the last one stamped (seq), caused by the
entry they react to, at its ``at_us``. Entries are folded and reacted to in
seq order, so the policy sees exactly the state a replay that folds the
journal in seq order sees. One consequence: the drafts returned by one call
are all stamped before the first of them is reacted to, so when the policy
reacts to the first, its siblings are not folded yet.

Admission. Before it is folded, the policy may refuse the entry that starts a
cascade: ``admits(state, entry)``, on the state before it. A refused entry is
not journaled and takes no seq. The one rule, ``timer_pending``: the firing of
a timer that is no longer pending is refused.

Folding once. Every reaction is folded as a reader decodes it from its bytes
(``canonical``). A policy that already folded its drafts while deciding (the
supervisor's, see ``PolicyContext``) returns them as a ``Decision`` carrying
those entries and states; when they are exactly the entries the cascade would
stamp (nothing else pending, same seqs, same time), the cascade takes them as
they are instead of folding each command a second time.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Sequence
from typing import TypeAlias, final

import attrs

from ..model._entry import Draft, Entry, canonical
from ..model._errors import ReactionLimitError, ReactorError
from ..model._messages import TimerFired
from ..model._state import RunState
from ._reducer import evolve

Reactor: TypeAlias = Callable[[RunState, Entry], Sequence[Draft]]
"""``reactor(state_after_entry, entry) -> drafts``: pure, see ``cascade``."""

Admission: TypeAlias = Callable[[RunState, Entry], bool]
"""``admits(state_before_entry, entry) -> bool``: pure, see ``cascade``."""


def timer_pending(state: RunState, entry: Entry) -> bool:
    """Admission rule: a ``timer_fired`` is admitted only while its timer is pending.

    A timer fires in its own task; the reaction that cancels it may be
    committed while the firing waits for the writer. The run owns its
    timers: the firing of a timer that is no longer pending is refused,
    never journaled. Every other entry is admitted.
    """
    msg = entry.msg
    return not isinstance(msg, TimerFired) or msg.timer in state.timers


def admit_all(state: RunState, entry: Entry) -> bool:
    """Admission rule that admits every entry (a journal already recorded)."""
    return True


@final
@attrs.frozen
class CascadePolicy:
    """What a cascade runs: which entries it admits, and how it reacts to them.

    Attributes:
        react: The reactions to an entry (see ``Reactor``).
        admits: Whether the entry that starts a cascade is journaled at all.
    """

    react: Reactor
    admits: Admission = timer_pending


@final
class Decision(list[Draft]):
    """A policy's drafts, with the entries and states it already folded them into.

    ``entries[i]`` is ``drafts[i]`` stamped right after the state the policy
    was given (seq ``state.last_seq + 1 + i``, the cause's ``at_us``) and
    decoded back from its bytes (``canonical``); ``states[i]`` is the state
    after it. A ``Decision`` is a list of drafts like any other reaction.
    """

    __slots__ = ("entries", "states")

    def __init__(
        self, drafts: Iterable[Draft], entries: Sequence[Entry], states: Sequence[RunState]
    ) -> None:
        super().__init__(drafts)
        self.entries = entries
        self.states = states


@final
@attrs.frozen
class Cascade:
    """An entry with all its reactions, as ``cascade`` stamped and folded them.

    Attributes:
        entries: The entry, then every reaction, in seq order; empty when the
            policy refused the entry.
        states: The state after each of ``entries``.
        state: The state after the last of them (the state before the entry
            when it was refused).
    """

    entries: list[Entry]
    states: list[RunState]
    state: RunState

    @property
    def reactions(self) -> int:
        """How many of ``entries`` are reactions."""
        return max(len(self.entries) - 1, 0)


def cascade(
    state: RunState,
    entry: Entry,
    policy: CascadePolicy,
    *,
    max_reactions: int | None = None,
    reactions_before: int = 0,
) -> Cascade:
    """Fold ``entry`` and every reaction it causes, breadth first (see the module).

    Args:
        state: The run's state before ``entry``.
        entry: The entry, stamped at the seq after ``state``.
        policy: Admits the entry and reacts to it and to every reaction.
        max_reactions: Fail once the reactions counted exceed this (None: no limit).
        reactions_before: Reactions already counted against ``max_reactions``
            (the writer's limit is per batch).

    Raises:
        ReactorError: The policy raised, or returned a draft that does not
            encode into a readable entry.
        ReactionLimitError: The reactions exceeded ``max_reactions``.
    """
    if not policy.admits(state, entry):
        return Cascade([], [], state)
    react = policy.react
    run_id = entry.run_id
    entries: list[Entry] = []
    states: list[RunState] = []
    pending: collections.deque[tuple[Entry, RunState | None]] = collections.deque()
    pending.append((entry, None))
    seq = entry.seq  # the last seq stamped
    reactions = reactions_before
    while pending:
        current, folded = pending.popleft()
        state = evolve(state, current) if folded is None else folded
        entries.append(current)
        states.append(state)
        try:
            drafts = react(state, current)
        except Exception as exc:
            raise ReactorError(run_id, current.seq, f"{type(exc).__name__}: {exc}") from exc
        if not drafts:
            continue
        reactions += len(drafts)
        if max_reactions is not None and reactions > max_reactions:
            raise ReactionLimitError(run_id, current.seq, max_reactions)
        adoptable = not pending and seq == state.last_seq
        pending.extend(_stamp(current, drafts, seq, adoptable))
        seq += len(drafts)
    return Cascade(entries, states, state)


def _stamp(
    cause: Entry, drafts: Sequence[Draft], seq: int, adoptable: bool
) -> list[tuple[Entry, RunState | None]]:
    """The drafts as canonical entries after ``seq``, with their states when already folded.

    ``adoptable``: the drafts are reacted to right after their cause, with
    nothing folded in between.
    """
    if adoptable and isinstance(drafts, Decision) and _stamped_as(drafts, cause, seq):
        return list(zip(drafts.entries, drafts.states, strict=True))
    try:
        entries = canonical(
            [
                draft.stamp(cause.run_id, seq + index, cause.at_us, cause.seq)
                for index, draft in enumerate(drafts, 1)
            ]
        )
    except Exception as exc:  # not a Draft, not encodable, or not decodable back
        detail = f"it returned an invalid draft: {type(exc).__name__}: {exc}"
        raise ReactorError(cause.run_id, cause.seq, detail) from exc
    return [(entry, None) for entry in entries]


def _stamped_as(decision: Decision, cause: Entry, seq: int) -> bool:
    """Whether the decision's entries are its drafts as the cascade stamps them."""
    if len(decision.entries) != len(decision) or len(decision.states) != len(decision):
        return False
    for index, (draft, entry) in enumerate(zip(decision, decision.entries, strict=True), 1):
        if (
            entry.seq != seq + index
            or entry.at_us != cause.at_us
            or entry.run_id != cause.run_id
            or entry.cause != (cause.seq if draft.cause is None else draft.cause)
        ):
            return False
    return True
