"""The decision being built by one call of ``decide``, and the strategy seam.

``decide`` never mutates anything it was given. It works on a scratch copy of
the state: every command it issues is folded into that copy at once (with
``evolve``, exactly as the journal will fold it: stamped right after the
entry and decoded back from its bytes), so the next rule it applies sees the
effect of the previous one. That is how one call can assign two steps to two
different agents without giving both to the same one. ``decide`` returns
those entries and states with its drafts (a ``Decision``), so the cascade
that journals the commands does not fold them a second time.

This module also names things: the supervisor's address, the ids of the
timers and approval requests the policy creates (ids are built, never parsed),
and the policy's knobs made safe to compute with.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol, final

from ..model._entry import FORMAT_VERSION, Draft, Entry, decode_entry, encode_entry
from ..model._messages import Message
from ..model._state import RunState
from ..model._values import PolicySettings, ResultEnvelope, Validator
from ._cascade import Decision
from ._reducer import evolve

SUPERVISOR = "supervisor"
"""The supervisor's address: the sender of every draft ``decide`` returns.

Entries from this address are ``decide``'s own output; it returns nothing for
them, since it issued each together with all of its consequences.
"""

_MIN_TIMEOUT_S = 0.001
_MAX_SECONDS = 1e9  # ~31 years: keeps every due time an exact JSON integer


class Strategy(Protocol):
    """How a step's attempts are run: the seam a coordination strategy fills.

    The policy owns scheduling (which step is ready, whose scope is free),
    budgets, heartbeats, failures and the end of the run; a strategy owns what
    happens to one step between "ready" and "completed" or "failed". Both
    methods act through ``ctx.emit`` and must be pure and deterministic.
    """

    def start(self, ctx: PolicyContext, step: str) -> bool:
        """Start work on a ready step whose scope is free; whether it did."""
        ...

    def on_result(self, ctx: PolicyContext, result: ResultEnvelope) -> None:
        """Turn a result just journaled into facts (validations, say)."""
        ...

    def advance(self, ctx: PolicyContext, step: str) -> None:
        """Move a step that has a proposed result on, as far as it can go now.

        Called after every entry that may matter; it must read the state
        (never the entry) and issue nothing when nothing is due.
        """
        ...


@final
class PolicyContext:
    """One decision in progress: the scratch state, the time and the drafts so far.

    Attributes:
        state: The state with every draft so far folded in.
        now_us: The time of the entry being decided on.
        cause: The seq of that entry: the ``cause`` of every draft.
        drafts: The drafts so far, in order.
        strategies: The strategies by name.
    """

    __slots__ = ("_entries", "_states", "cause", "drafts", "now_us", "state", "strategies")

    def __init__(self, state: RunState, entry: Entry, strategies: Mapping[str, Strategy]) -> None:
        self.state = state
        self.now_us = entry.at_us
        self.cause = entry.seq
        self.drafts: list[Draft] = []
        self.strategies = strategies
        self._entries: list[Entry] | None = []  # None once a draft does not decode back
        self._states: list[RunState] = []

    @property
    def settings(self) -> PolicySettings:
        """The run's policy settings."""
        return self.state.policy

    @property
    def may_start_work(self) -> bool:
        """Whether new work may start now (not while paused, nor after the end)."""
        return self.state.status == "running"

    def emit(self, msg: Message, to: str = "*") -> None:
        """Issue a draft and fold it into the scratch state."""
        self.drafts.append(Draft(msg=msg, sender=SUPERVISOR, recipient=to, cause=self.cause))
        entry: Entry = Entry(
            v=FORMAT_VERSION,
            run_id=self.state.run_id,
            seq=self.state.last_seq + 1,
            at_us=self.now_us,
            sender=SUPERVISOR,
            recipient=to,
            cause=self.cause,
            msg=msg,
        )
        entries = self._entries
        if entries is not None:
            try:
                entry = decode_entry(encode_entry(entry))  # as ``canonical`` does
            except Exception:  # the cascade stamps the drafts itself, and says why
                self._entries = entries = None
        self.state = evolve(self.state, entry)
        if entries is not None:
            entries.append(entry)
            self._states.append(self.state)

    def decision(self) -> list[Draft]:
        """The drafts so far, as a ``Decision`` when they all decode back.

        Only ``emit`` may add drafts and change the state; if anything else
        did, the plain drafts are returned (and the cascade folds them).
        """
        entries = self._entries
        if entries is None or len(entries) != len(self.drafts):
            return self.drafts
        if self._states and self._states[-1] is not self.state:
            return self.drafts
        return Decision(self.drafts, entries, self._states)

    def strategy_for(self, step: str) -> Strategy | None:
        """The strategy that runs a step (its own, else the run's), if known."""
        found = self.state.steps.get(step)
        name = self.state.strategy if found is None else found.spec.strategy or self.state.strategy
        return self.strategies.get(name)


# ------------------------------------------------------------------ knobs


def _seconds(value: float, default: float) -> float:
    if not math.isfinite(value):
        return default
    return min(max(value, 0.0), _MAX_SECONDS)


def heartbeat_timeout_s(settings: PolicySettings) -> float:
    """The heartbeat timeout, at least a millisecond and finite."""
    return max(_seconds(settings.heartbeat_timeout_s, 300.0), _MIN_TIMEOUT_S)


def heartbeat_timeout_us(settings: PolicySettings) -> int:
    """The heartbeat timeout in microseconds."""
    return round(heartbeat_timeout_s(settings) * 1_000_000)


def stall_window_s(state: RunState, agent: str) -> float:
    """An agent's stall window: its own ``heartbeat_timeout_s``, else the policy's.

    At least a millisecond and finite, like ``heartbeat_timeout_s``.
    """
    found = state.agents.get(agent)
    own = found.spec.heartbeat_timeout_s if found is not None else None
    if own is None:
        return heartbeat_timeout_s(state.policy)
    return max(_seconds(own, heartbeat_timeout_s(state.policy)), _MIN_TIMEOUT_S)


def stall_window_us(state: RunState, agent: str) -> int:
    """An agent's stall window in microseconds."""
    return round(stall_window_s(state, agent) * 1_000_000)


def backoff_s(settings: PolicySettings, retries_so_far: int) -> float:
    """Seconds to wait before a retry: base x multiplier^retries, capped.

    Computed by repeated multiplication with a cap, so no setting can make it
    overflow or raise.
    """
    cap = _seconds(settings.backoff_max_s, 300.0)
    wait = min(_seconds(settings.backoff_base_s, 5.0), cap)
    multiplier = settings.backoff_multiplier
    if not math.isfinite(multiplier) or multiplier < 1.0:
        multiplier = 1.0
    for _ in range(min(max(retries_so_far, 0), 64)):
        wait = min(wait * multiplier, cap)
    return wait


def seconds_us(seconds: float) -> int:
    """Seconds (already made safe) in microseconds."""
    return round(seconds * 1_000_000)


def max_attempts(settings: PolicySettings, step_max: int | None) -> int:
    """Attempts a step may make: its own limit, else the run's default."""
    return step_max if step_max is not None else settings.max_attempts


# -------------------------------------------------------------------- ids


def heartbeat_timer(step: str, attempt: int, *, kind: str = "implement", seq: int = 0) -> str:
    """The id of a heartbeat deadline.

    ``heartbeat:STEP#N`` for an assignment (as the runtime documents), and
    ``heartbeat:STEP#N@SEQ``, ``review:STEP#N@SEQ``, ``verify:STEP#N@SEQ`` for
    deadlines set again or for reviewers and verifiers, ``SEQ`` being the seq
    of the entry that caused it: ids never repeat within a run.
    """
    prefix = "heartbeat" if kind == "implement" else kind
    suffix = f"@{seq}" if seq or kind != "implement" else ""
    return f"{prefix}:{step}#{attempt}{suffix}"


def backoff_timer(step: str, attempt: int) -> str:
    """The id of the wait before attempt ``attempt`` of a step."""
    return f"backoff:{step}#{attempt}"


def approval_request(step: str, attempt: int, validator: str) -> str:
    """The id of the request for a ``human_approval`` validator of an attempt."""
    return f"approve:{step}#{attempt}:{validator}"


def replan_request(step: str, attempt: int) -> str:
    """The id of the request to unblock a step (a review or an agent said blocked)."""
    return f"replan:{step}#{attempt}"


def escalation_request(step: str, attempt: int) -> str:
    """The id of the request to decide about a step that is out of attempts."""
    return f"escalate:{step}#{attempt}"


def criterion_request(criterion: str) -> str:
    """The id of the request to confirm a criterion that no step checked."""
    return f"criterion:{criterion}"


def validator_names(validators: tuple[Validator, ...]) -> list[tuple[str, Validator]]:
    """Each validator with its name: its kind, then ``kind#2``, ``kind#3`` for repeats.

    Validation records (``validation_passed`` and ``validation_failed``) are
    keyed by these names.
    """
    seen: dict[str, int] = {}
    named: list[tuple[str, Validator]] = []
    for validator in validators:
        kind = str(validator.__struct_config__.tag)
        seen[kind] = seen.get(kind, 0) + 1
        named.append((kind if seen[kind] == 1 else f"{kind}#{seen[kind]}", validator))
    return named


def clip(text: str, limit: int = 2000) -> str:
    """Text cut to ``limit`` characters, for details that go in the journal."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
