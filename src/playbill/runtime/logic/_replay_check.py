"""``replay --check``: would the current policy have issued the recorded commands?

The supervisor's policy runs as the journal writer's reactor, so the drafts
``decide(state, entry)`` returned are journaled right after ``entry``, with
``sender="supervisor"`` and ``cause=entry.seq``. Checking a journal is
therefore a pure fold with the writer's own ``cascade``: for every entry that
is not the supervisor's, run the cascade of the current ``decide`` on the
recorded state and compare the commands it stamps with the supervisor entries
recorded after it, in order. The first difference is reported with both
sides — like Temporal's replayer, this catches nondeterminism and policy
changes that are incompatible with runs already recorded.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Sequence
from typing import final

import attrs

from ..model._entry import Draft, Entry
from ..model._messages import Message, message_tag
from ..model._state import RunState, initial_state
from ._cascade import Cascade, CascadePolicy, admit_all, cascade
from ._policy import decide
from ._policy_context import SUPERVISOR
from ._reducer import fold

Policy = Callable[[RunState, Entry], Sequence[Draft]]
"""A policy to check a journal against (``decide`` by default)."""


@final
@attrs.frozen
class Divergence:
    """The first place where the policy and the journal disagree.

    Attributes:
        seq: The seq of the first recorded command that differs (or, when the
            policy issues a command the journal lacks, the seq where it would
            have been).
        cause: The seq of the entry the commands react to.
        recorded: What the journal holds there (``None``: nothing).
        decided: What the policy issues there (``None``: nothing).
    """

    seq: int
    cause: int
    recorded: Message | None
    decided: Message | None

    def describe(self) -> str:
        """One readable paragraph naming the seq and both commands."""

        def show(msg: Message | None) -> str:
            return "nothing" if msg is None else f"{message_tag(msg)} {msg!r}"

        return (
            f"replay diverges at seq {self.seq} (reacting to seq {self.cause}):\n"
            f"  recorded: {show(self.recorded)}\n"
            f"  decided:  {show(self.decided)}"
        )


def check_replay(entries: Iterable[Entry], policy: Policy = decide) -> Divergence | None:
    """Re-run ``policy`` over a recorded journal; the first divergence, or None.

    ``entries`` are one run's, in seq order, from seq 1. Every entry that is
    not the supervisor's starts a ``cascade`` of ``policy`` on the recorded
    state; the supervisor entries that follow it must be the cascade's
    reactions, in order (same message, recipient and cause).

    Raises:
        ReactorError: ``policy`` raised, or returned a draft that does not
            encode into a readable entry.
    """
    rules = CascadePolicy(policy, admits=admit_all)  # the journal's entries were admitted
    state = initial_state()  # folded from the recorded entries up to the current cascade
    decided = Cascade([], [], state)
    expected: collections.deque[Entry] = collections.deque()
    recorded: list[Entry] = []  # the current cascade as the journal has it
    last_seq = 0
    for entry in entries:
        last_seq = entry.seq
        if entry.sender == SUPERVISOR:
            if not expected:
                return Divergence(
                    seq=entry.seq, cause=entry.cause or 0, recorded=entry.msg, decided=None
                )
            command = expected.popleft()
            if (command.msg, command.recipient, command.cause) != (
                entry.msg,
                entry.recipient,
                entry.cause,
            ):
                return Divergence(
                    seq=entry.seq, cause=command.cause or 0, recorded=entry.msg, decided=command.msg
                )
            recorded.append(entry)
            continue
        if expected:
            # Reactions come right after their cause, before anything else.
            command = expected[0]
            return Divergence(
                seq=entry.seq, cause=command.cause or 0, recorded=None, decided=command.msg
            )
        state = _recorded_state(state, decided, recorded)
        decided = cascade(state, entry, rules)
        expected.extend(decided.entries[1:])
        recorded = [entry]
    if expected:
        command = expected[0]
        return Divergence(
            seq=last_seq + 1, cause=command.cause or 0, recorded=None, decided=command.msg
        )
    return None


def _recorded_state(before: RunState, decided: Cascade, recorded: list[Entry]) -> RunState:
    """The state after a cascade as recorded: the cascade's own when the records are its entries.

    A record may differ from the decided entry in what is not compared (its
    time); the state is then folded from the records, as a replay folds them.
    """
    if recorded == decided.entries:
        return decided.state
    return fold(recorded, before)
