"""``replay --check``: would the current policy have issued the recorded commands?

The supervisor's policy runs as the journal writer's reactor, so the drafts
``decide(state, entry)`` returned are journaled right after ``entry``, with
``sender="supervisor"`` and ``cause=entry.seq``. Checking a journal is
therefore a pure fold: for every entry, run the current ``decide`` on the
state after it and compare what it returns with the supervisor entries that
were recorded for it, in order. The first difference is reported with both
sides — like Temporal's replayer, this catches nondeterminism and policy
changes that are incompatible with runs already recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import final

import attrs

from ..model._entry import Draft, Entry
from ..model._messages import Message, message_tag
from ..model._state import RunState, initial_state
from ._policy import decide
from ._policy_context import SUPERVISOR
from ._reducer import evolve

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

    ``entries`` are one run's, in seq order, from seq 1.
    """
    state = initial_state()
    # Commands decided for the entries seen so far that the journal has not
    # shown yet: each supervisor entry must match the next of them.
    expected: list[tuple[int, Draft]] = []
    last_seq = 0
    for entry in entries:
        last_seq = entry.seq
        if entry.sender == SUPERVISOR:
            if not expected:
                return Divergence(
                    seq=entry.seq, cause=entry.cause or 0, recorded=entry.msg, decided=None
                )
            cause, draft = expected.pop(0)
            if (draft.msg, draft.recipient, draft.cause or cause) != (
                entry.msg,
                entry.recipient,
                entry.cause,
            ):
                return Divergence(seq=entry.seq, cause=cause, recorded=entry.msg, decided=draft.msg)
        elif expected:
            # Reactions come right after their cause, before anything else.
            cause, draft = expected[0]
            return Divergence(seq=entry.seq, cause=cause, recorded=None, decided=draft.msg)
        state = evolve(state, entry)
        expected.extend((entry.seq, draft) for draft in policy(state, entry))
    if expected:
        cause, draft = expected[0]
        return Divergence(seq=last_seq + 1, cause=cause, recorded=None, decided=draft.msg)
    return None
