"""A pure discrete-event world that plays a run's agents, people and clock around ``decide``.

No trio: a virtual clock, an agenda of future events, and the journal as a
list. Each entry is journaled as the writer does it (its ``cascade`` of
``decide``: fold, decide, the drafts stamped right after, breadth first);
commands addressed to agents are then delivered, and the agents answer on
the agenda: they start, send heartbeats and usage, and propose results (drawn
from their behaviour), or hang (no heartbeats, nothing), or crash (``agent_failed``, and the
supervision tree restarts them a little later). Cancelled work stops at once.
Timers fire in (due, seq) order when the agenda reaches their due time.
People answer some approval requests (yes, no, or a policy decision of their
own), and sometimes pause, resume or cancel the run.

Every random draw comes from one ``random.Random`` handed in (hypothesis'
``st.randoms``), so a world is a pure function of its parameters and seed.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from typing import Literal

import attrs

import factories
from playbill.runtime.logic._cascade import CascadePolicy, cascade
from playbill.runtime.logic._policy import decide
from playbill.runtime.model._entry import Entry
from playbill.runtime.model._messages import (
    AgentFailed,
    AgentRestarted,
    AttemptCancelled,
    ControlRequested,
    Heartbeat,
    HumanApprovalGiven,
    HumanApprovalRequested,
    Message,
    PlanAttached,
    PolicyDecisionApplied,
    ResultProposed,
    ReviewRequested,
    RunCreated,
    StepAssigned,
    StepBlocked,
    StepStarted,
    TimerFired,
    UsageReported,
    VerificationRequested,
)
from playbill.runtime.model._state import RunState, initial_state
from playbill.runtime.model._values import (
    Budget,
    Check,
    ControlRequest,
    ExitStatus,
    Failure,
    Finding,
    ImplementationPayload,
    Plan,
    PlanPayload,
    PolicySettings,
    ResultEnvelope,
    ReviewPayload,
    Role,
    RolePayload,
    StepSpec,
    TestsPass,
    Usage,
    VerificationPayload,
)

SUPERVISOR_POLICY = CascadePolicy(decide)
"""The writer's: ``decide``, and a timer's firing only while it is pending."""

SECOND = 1_000_000
START_US = 1_700_000_000 * SECOND

Outcome = Literal["ok", "error", "malformed", "hang", "crash", "slow"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "error", "malformed", "hang", "crash", "slow")


@attrs.frozen
class Behaviour:
    """How an agent's work tends to end: weights of each outcome, and its verdicts."""

    weights: tuple[float, ...]  # one per OUTCOMES
    passes: float  # chance a review verdict is pass, or a check passes
    tokens: int  # tokens per unit of work


@attrs.frozen
class Config:
    """Everything a world is built from."""

    plan: Plan
    policy: PolicySettings
    budget: Budget
    behaviours: dict[str, Behaviour]
    human_answers: float  # chance a person answers an approval request
    human_decides: float  # chance the answer is a policy decision instead
    pauses: bool
    cancels: bool
    meddles: bool = False  # people skip, block or move steps while they run


@attrs.define
class _Work:
    kind: Literal["implement", "review", "verify"]
    step: str
    attempt: int
    agent: str
    generation: int


@attrs.define
class World:
    """One run in the world (see the module). ``run()`` plays it to its end."""

    config: Config
    rnd: random.Random
    max_entries: int = 3000
    entries: list[Entry] = attrs.Factory(list)
    state: RunState = attrs.Factory(initial_state)
    now_us: int = START_US
    agenda: list[tuple[int, int, Callable[[], None]]] = attrs.Factory(list)
    order: int = 0
    working: dict[str, _Work | None] = attrs.Factory(dict)
    crashed: set[str] = attrs.Factory(set)
    generation: int = 0
    answers_left: int = 6
    violations: list[str] = attrs.Factory(list)
    batches: list[tuple[int, int]] = attrs.Factory(list)  # (root seq, last seq)
    checks: list[Callable[[World, Entry], None]] = attrs.Factory(list)

    # ------------------------------------------------------------ running

    def run(self) -> None:
        """Play the run until it ends, waits on nobody, or the entry bound is hit."""
        cfg = self.config
        self.working = {a.id: None for a in cfg.plan.agents}
        self.journal(RunCreated(goal="world", policy=cfg.policy, budget=cfg.budget), "cli")
        self.journal(PlanAttached(plan=cfg.plan), "cli")
        if cfg.pauses:
            self.at(self.rnd.uniform(1, 200), self._pause)
        if cfg.cancels:
            self.at(self.rnd.uniform(50, 2000), self._control("cancel"))
        if cfg.meddles:
            for _ in range(self.rnd.randint(1, 3)):
                self.at(self.rnd.uniform(1, 500), self._meddle)
        while not self.state.is_terminal and len(self.entries) < self.max_entries:
            timer = min(
                self.state.timers.values(), key=lambda t: (t.due_us, t.set_seq), default=None
            )
            event_at = self.agenda[0][0] if self.agenda else None
            if timer is not None and (event_at is None or timer.due_us <= event_at):
                self.now_us = max(self.now_us, timer.due_us)
                self.journal(TimerFired(timer=timer.timer), "timers")
            elif event_at is not None:
                at, _, action = heapq.heappop(self.agenda)
                self.now_us = max(self.now_us, at)
                action()
            else:
                break

    def at(self, after_s: float, action: Callable[[], None]) -> None:
        self.order += 1
        heapq.heappush(self.agenda, (self.now_us + round(after_s * SECOND), self.order, action))

    def journal(self, msg: Message, sender: str, to: str = "supervisor") -> None:
        """Journal an entry and the supervisor's cascade, then deliver the commands."""
        if self.state.is_terminal and sender != "supervisor":
            return  # the run's writer is closed: late messages are dropped
        root_seq = self.state.last_seq + 1
        entry = factories.entry(
            msg, seq=root_seq, run_id="world", at_us=self.now_us, sender=sender, recipient=to
        )
        result = cascade(self.state, entry, SUPERVISOR_POLICY)
        supervisor_seqs = {e.seq for e in result.entries if e.sender == "supervisor"}
        delivered: list[Entry] = []
        for done, after in zip(result.entries, result.states, strict=True):
            self.state = after
            self.entries.append(done)
            for check in self.checks:
                check(self, done)
            if done.sender == "supervisor":
                delivered.append(done)
        for cause in dict.fromkeys(e.cause for e in result.entries if e.cause in supervisor_seqs):
            self.violations.append(f"decide reacted to its own entry {cause}")
        self.batches.append((root_seq, self.state.last_seq))
        for done in delivered:
            self._deliver(done)

    # --------------------------------------------------------- delivery

    def _deliver(self, entry: Entry) -> None:
        msg = entry.msg
        match msg:
            case StepAssigned(step=step, agent=agent, attempt=n):
                self._begin(_Work("implement", step, n, agent, 0))
            case ReviewRequested(step=step, attempt=n, reviewer=agent):
                self._begin(_Work("review", step, n, agent, 0))
            case VerificationRequested(step=step, attempt=n, verifier=agent):
                self._begin(_Work("verify", step, n, agent, 0))
            case AttemptCancelled(step=step, attempt=n, agent=agent):
                work = self.working.get(agent)
                if work is not None and (work.step, work.attempt) == (step, n):
                    self.working[agent] = None
                found = self.state.agents.get(agent)
                if found is not None and found.status == "unresponsive":
                    # as the runtime promises: an actor whose heartbeat was
                    # missed drops its work and comes back (agent_restarted)
                    self.at(self.rnd.uniform(1, 120), self._restart(agent))
            case HumanApprovalRequested(request=request, step=step):
                if self.answers_left > 0 and self.rnd.random() < self.config.human_answers:
                    self.answers_left -= 1
                    self.at(self.rnd.uniform(1, 600), self._answer(request, step))
            case _:
                pass

    def _begin(self, work: _Work) -> None:
        agent = work.agent
        if agent in self.crashed:
            self.violations.append(f"{agent} got {work.kind} work while crashed")
            return
        if self.working.get(agent) is not None:
            self.violations.append(f"{agent} got {work.kind} work while busy")
        self.generation += 1
        work.generation = self.generation
        self.working[agent] = work
        behaviour = self.config.behaviours[agent]
        outcome = self.rnd.choices(OUTCOMES, weights=behaviour.weights)[0]
        timeout = max(self.config.policy.heartbeat_timeout_s, 0.001)
        beat = timeout * (1.3 if outcome == "slow" else 0.4)
        duration = self.rnd.uniform(0.2, 3.0) * timeout
        if work.kind == "implement":
            self.at(
                0.01,
                self._live(work, StepStarted(step=work.step, agent=agent, attempt=work.attempt)),
            )
        if outcome == "hang":
            return
        if outcome == "crash":
            self.at(self.rnd.uniform(0, duration), self._crash(work))
            return
        t = beat
        while t < duration:
            self.at(
                t, self._live(work, Heartbeat(agent=agent, step=work.step, attempt=work.attempt))
            )
            if self.rnd.random() < 0.5:
                self.at(t, self._live(work, self._usage(work, behaviour)))
            t += beat
        self.at(duration, self._live(work, self._usage(work, behaviour)))
        self.at(duration, self._finish(work, outcome))

    def _usage(self, work: _Work, behaviour: Behaviour) -> UsageReported:
        tokens = self.rnd.randint(0, behaviour.tokens)
        usage = Usage(
            tokens_in=tokens, tokens_out=tokens // 4, cost_usd=tokens / 10_000, wall_s=1.0
        )
        return UsageReported(agent=work.agent, usage=usage, step=work.step, attempt=work.attempt)

    def _current(self, work: _Work) -> bool:
        now = self.working.get(work.agent)
        return now is not None and now.generation == work.generation

    def _live(self, work: _Work, msg: Message) -> Callable[[], None]:
        def act() -> None:
            if self._current(work):
                self.journal(msg, work.agent)

        return act

    def _crash(self, work: _Work) -> Callable[[], None]:
        def act() -> None:
            if not self._current(work):
                return
            agent = work.agent
            self.working[agent] = None
            self.crashed.add(agent)
            failure = Failure(failure_class="agent", kind="crash", detail="boom")
            self.journal(
                AgentFailed(agent=agent, failure=failure, step=work.step, attempt=work.attempt),
                "runtime",
            )
            self.at(self.rnd.uniform(1, 60), self._restart(agent))

        return act

    def _restart(self, agent: str) -> Callable[[], None]:
        def act() -> None:
            self.crashed.discard(agent)
            restarts = self.state.agents[agent].restarts + 1
            self.journal(AgentRestarted(agent=agent, restarts=restarts), "runtime")

        return act

    def _finish(self, work: _Work, outcome: Outcome) -> Callable[[], None]:
        def act() -> None:
            if not self._current(work):
                return
            self.working[work.agent] = None
            self.journal(ResultProposed(result=self._result(work, outcome)), work.agent)

        return act

    def _result(self, work: _Work, outcome: Outcome) -> ResultEnvelope:
        step = self.state.steps[work.step].spec
        behaviour = self.config.behaviours[work.agent]
        role: Role = {"implement": step.role, "review": "reviewer", "verify": "verifier"}[work.kind]
        exit_status: ExitStatus = "error" if outcome == "error" else "ok"
        payload: RolePayload
        if outcome == "malformed":
            payload = (
                ImplementationPayload() if role != "executor" else ReviewPayload(verdict="pass")
            )
        elif role == "planner":
            n = self.rnd.randint(0, 2)
            payload = PlanPayload(
                steps=tuple(
                    StepSpec(id=f"{work.step}-p{i}", goal="planned", depends_on=(work.step,))
                    for i in range(n)
                )
            )
        elif role == "reviewer":
            passes = self.rnd.random() < behaviour.passes
            verdict = "pass" if passes else self.rnd.choice(["fail", "request_changes", "blocked"])
            payload = ReviewPayload(
                verdict=verdict,  # type: ignore[arg-type]
                findings=()
                if passes
                else (Finding(severity="major", message="redo", path="src/a.py", line=3),),
            )
        elif role == "verifier":
            checks = tuple(
                Check(name=f"c{i}", passed=self.rnd.random() < behaviour.passes)
                for i in range(self.rnd.randint(0, 2))
            )
            payload = VerificationPayload(checks=checks)
        else:
            payload = ImplementationPayload(summary="did it", changed_files=("src/a.py",))
        return ResultEnvelope(
            agent=work.agent,
            role=role,
            step=work.step,
            attempt=work.attempt,
            exit_status=exit_status,
            payload=payload,
        )

    # ------------------------------------------------------------- people

    def _answer(self, request: str, step: str | None) -> Callable[[], None]:
        def act() -> None:
            approval = self.state.approvals.get(request)
            if approval is None or approval.status != "pending":
                return
            if step is not None and self.rnd.random() < self.config.human_decides:
                action = self.rnd.choice(
                    [
                        "retry",
                        "skip",
                        "change_validator",
                        "decompose",
                        "change_agent",
                        "abort",
                        "escalate",
                    ]
                )
                agents = [a.id for a in self.config.plan.agents]
                decision = PolicyDecisionApplied(
                    action=action,  # type: ignore[arg-type]
                    reason="a person decided",
                    step=step,
                    new_agent=self.rnd.choice(agents) if agents else None,
                    new_validator=TestsPass() if action == "change_validator" else None,
                    new_steps=(
                        (StepSpec(id=f"{step}-d{len(self.entries)}", goal="part"),)
                        if action == "decompose"
                        else ()
                    ),
                )
                self.journal(decision, "human")
            elif self.rnd.random() < 0.5:
                approved = self.rnd.random() < 0.7
                self.journal(
                    HumanApprovalGiven(request=request, approved=approved, by="pat"), "cli"
                )
            else:
                action = "approve" if self.rnd.random() < 0.7 else "reject"
                self._control(action, step)()

        return act

    def _control(self, action: str, step: str | None = None) -> Callable[[], None]:
        def act() -> None:
            request = ControlRequest(action=action, step=step, by="pat")  # type: ignore[arg-type]
            msg = ControlRequested(request_id=self.state.last_request_id + 1, request=request)
            self.journal(msg, "control")

        return act

    def _meddle(self) -> None:
        steps = sorted(self.state.steps)
        if not steps:
            return
        step = self.rnd.choice(steps)
        kind = self.rnd.choice(["skip", "block", "change_agent", "retry"])
        if kind == "block":
            self.journal(StepBlocked(step=step, reason="a person wants a look"), "human")
            return
        agents = [a.id for a in self.config.plan.agents]
        decision = PolicyDecisionApplied(
            action=kind,  # type: ignore[arg-type]
            reason="a person meddled",
            step=step,
            new_agent=self.rnd.choice(agents) if kind == "change_agent" else None,
        )
        self.journal(decision, "human")

    def _pause(self) -> None:
        self._control("pause")()
        self.at(self.rnd.uniform(1, 300), self._control("resume"))
