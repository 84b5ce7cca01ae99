"""What the pages need of a run's entries, gathered in one pass and kept up to date.

A ``RunIndex`` reads a run's entries once, in chunks, and keeps for each
entry only its type, step and agent (what the history's filters select on),
plus the marks of the timeline (reviews, verifications, merges, budget
events, human waits, pauses) and each attempt's commit. A page asks it to
``refresh``: only the entries committed since are read. So a page of a run
of 100,000 entries never reads the whole run again, and never folds it (its
state comes from ``Journal.state_at``: the latest snapshot plus the tail).
"""

from __future__ import annotations

from typing import Literal, TypeAlias, final

import attrs
import trio

from playbill.runtime import (
    BudgetExhausted,
    Entry,
    HumanApprovalGiven,
    HumanApprovalRequested,
    ImplementationPayload,
    Journal,
    ResultProposed,
    ReviewGiven,
    RunPaused,
    RunResumed,
    ValidationFailed,
    ValidationPassed,
    VerificationRequested,
    WorkspaceMerged,
    message_tag,
)

READ_CHUNK = 1024
"""Entries read at once while indexing (small: other requests go on between chunks)."""

MarkKind: TypeAlias = Literal["review", "verification", "merge", "budget", "human", "pause"]
"""What a mark on the timeline stands for."""


@final
@attrs.frozen
class Mark:
    """A point (or span) on the timeline.

    Attributes:
        kind: What happened.
        lane: The lane it is drawn on: an agent (a verification: the attempt's
            verifier, else ``validators``), ``integrator`` or ``run``.
        at_us: When.
        seq: The entry that recorded it.
        label: One line for its tooltip.
        good: Whether it went well (approved, passed, applied), if that applies.
        until_us: For a span (a human wait, a pause): when it ended, if it did.
        step: The step it is about, if any.
        attempt: The attempt it is about, if any.
    """

    kind: MarkKind
    lane: str
    at_us: int
    seq: int
    label: str
    good: bool | None = None
    until_us: int | None = None
    step: str | None = None
    attempt: int | None = None


def subject(entry: Entry) -> tuple[str | None, str | None, int | None]:
    """The step, agent and attempt an entry is about, where its message names them."""
    msg = entry.msg
    if isinstance(msg, ResultProposed):
        return msg.result.step, msg.result.agent, msg.result.attempt
    step = getattr(msg, "step", None)
    agent = getattr(msg, "agent", None) or getattr(msg, "reviewer", None)
    agent = agent or getattr(msg, "verifier", None)
    attempt = getattr(msg, "attempt", None)
    return (
        step if isinstance(step, str) else None,
        agent if isinstance(agent, str) else None,
        attempt if isinstance(attempt, int) else None,
    )


@final
@attrs.define(eq=False)
class RunIndex:
    """One run's entries, indexed for the pages (see the module's docstring).

    Attributes:
        run_id: The run.
        last_seq: The last entry indexed.
        first_us: When its first entry was recorded.
        last_us: When its last indexed entry was recorded.
        types: Each entry's message type, by ``seq - 1``.
        steps: Each entry's step, if its message names one.
        agents: Each entry's agent, or its sender where the message names none.
        marks: The timeline's marks, in seq order.
        commits: The commit each attempt's own agent proposed, by ``(step, attempt)``.
        attempt_seqs: The entries about each attempt, by ``(step, attempt)``.
        senders: Every sender and agent met, in order of appearance.
    """

    run_id: str
    last_seq: int = 0
    first_us: int = 0
    last_us: int = 0
    types: list[str] = attrs.Factory(list)
    steps: list[str | None] = attrs.Factory(list)
    agents: list[str] = attrs.Factory(list)
    marks: list[Mark] = attrs.Factory(list)
    commits: dict[tuple[str, int], str] = attrs.Factory(dict)
    attempt_seqs: dict[tuple[str, int], list[int]] = attrs.Factory(dict)
    senders: dict[str, None] = attrs.Factory(dict)
    _open_waits: dict[str, int] = attrs.Factory(dict)
    _verifiers: dict[tuple[str, int], str] = attrs.Factory(dict)
    _open_pause: int | None = None

    async def refresh(self, journal: Journal) -> None:
        """Index the entries committed since the last refresh."""
        end = await journal.last_seq(self.run_id)
        while self.last_seq < end:
            chunk = await journal.read(
                self.run_id, self.last_seq + 1, min(self.last_seq + 1 + READ_CHUNK, end + 1)
            )
            if not chunk:
                return
            for entry in chunk:
                self.add(entry)

    def add(self, entry: Entry) -> None:
        """Index one entry: the next one of the run."""
        assert entry.seq == self.last_seq + 1, (entry.seq, self.last_seq)
        self.last_seq = entry.seq
        if entry.seq == 1:
            self.first_us = entry.at_us
        self.last_us = entry.at_us
        step, agent, attempt = subject(entry)
        self.types.append(message_tag(entry.msg))
        self.steps.append(step)
        who = agent or entry.sender
        self.agents.append(who)
        self.senders.setdefault(who, None)
        if step is not None and attempt is not None:
            self.attempt_seqs.setdefault((step, attempt), []).append(entry.seq)
        self._mark(entry)

    def _mark(self, entry: Entry) -> None:
        msg = entry.msg
        at, seq = entry.at_us, entry.seq
        match msg:
            case ResultProposed(result=result) if (
                isinstance(result.payload, ImplementationPayload) and result.payload.commit
            ):
                self.commits[(result.step, result.attempt)] = result.payload.commit
            case ReviewGiven():
                self.marks.append(
                    Mark(
                        kind="review",
                        lane=msg.reviewer,
                        at_us=at,
                        seq=seq,
                        label=f"review of {msg.step}#{msg.attempt}: {msg.outcome}",
                        good=msg.outcome == "approved",
                        step=msg.step,
                        attempt=msg.attempt,
                    )
                )
            case VerificationRequested():
                self._verifiers[(msg.step, msg.attempt)] = msg.verifier
            case ValidationPassed() | ValidationFailed():
                passed = isinstance(msg, ValidationPassed)
                self.marks.append(
                    Mark(
                        kind="verification",
                        lane=self._verifiers.get((msg.step, msg.attempt), "validators"),
                        at_us=at,
                        seq=seq,
                        label=f"{msg.validator} on {msg.step}#{msg.attempt}: "
                        + ("passed" if passed else "failed"),
                        good=passed,
                        step=msg.step,
                        attempt=msg.attempt,
                    )
                )
            case WorkspaceMerged():
                self.marks.append(
                    Mark(
                        kind="merge",
                        lane="integrator",
                        at_us=at,
                        seq=seq,
                        label=f"merge of {msg.step}#{msg.attempt}: {msg.status}",
                        good=msg.status == "applied",
                        step=msg.step,
                        attempt=msg.attempt,
                    )
                )
            case BudgetExhausted():
                where = msg.agent or msg.step or "run"
                self.marks.append(
                    Mark(
                        kind="budget",
                        lane="run",
                        at_us=at,
                        seq=seq,
                        label=f"{msg.resource} budget of {where} ran out "
                        f"({msg.used:g} of {msg.limit:g}): {msg.action}",
                        good=False,
                    )
                )
            case HumanApprovalRequested():
                self._open_waits[msg.request] = len(self.marks)
                self.marks.append(
                    Mark(
                        kind="human",
                        lane="run",
                        at_us=at,
                        seq=seq,
                        label=f"waits for a person: {msg.prompt}",
                        step=msg.step,
                    )
                )
            case HumanApprovalGiven():
                index = self._open_waits.pop(msg.request, None)
                if index is not None:
                    self.marks[index] = attrs.evolve(
                        self.marks[index],
                        until_us=at,
                        good=msg.approved,
                        label=self.marks[index].label
                        + (" (approved" if msg.approved else " (rejected")
                        + (f" by {msg.by})" if msg.by else ")"),
                    )
            case RunPaused():
                self._open_pause = len(self.marks)
                self.marks.append(
                    Mark(
                        kind="pause",
                        lane="run",
                        at_us=at,
                        seq=seq,
                        label=f"paused{': ' + msg.reason if msg.reason else ''}",
                    )
                )
            case RunResumed():
                if self._open_pause is not None:
                    index, self._open_pause = self._open_pause, None
                    self.marks[index] = attrs.evolve(self.marks[index], until_us=at)
            case _:
                pass  # the bars come from the state's attempts, not from here

    def matching(self, *, type_: str = "", step: str = "", agent: str = "") -> list[int] | None:
        """The seqs whose type, step and agent are those given (``None``: no filter given)."""
        if not (type_ or step or agent):
            return None
        return [
            i + 1
            for i in range(self.last_seq)
            if (not type_ or self.types[i] == type_)
            and (not step or self.steps[i] == step)
            and (not agent or self.agents[i] == agent)
        ]


@final
@attrs.define(eq=False)
class Indexes:
    """The index of every run a server has shown, kept between requests.

    Requests run concurrently: a run's index is refreshed by one of them at
    a time (the others wait, then find it current).
    """

    _runs: dict[str, tuple[RunIndex, trio.Lock]] = attrs.Factory(dict)

    async def of(self, journal: Journal, run_id: str) -> RunIndex:
        """The run's index, with every entry committed so far."""
        found = self._runs.get(run_id)
        if found is None:
            found = self._runs[run_id] = (RunIndex(run_id), trio.Lock())
        index, lock = found
        async with lock:
            await index.refresh(journal)
        return index
