"""Benchmark: orchestration overhead per step, against LangGraph.

Run with ``python -m bench.orchestration`` (``--quick`` for a short run), or
as part of ``python -m bench``. The agents do nothing: what is measured is
what the orchestrator costs per step. Figures are wall microseconds per step
(lower is better), each the median of 3 repeats; each repeat measures every
case. Graph compilation and plan construction are not timed.

playbill: a real run (``open_run``: the journal writer with the supervisor's
policy as its reactor, the router, timers, the supervision tree, role
actors) on a ``MemoryJournal`` and the wall clock, whose agents' backend
returns a result at once. Every step is journaled as a run journals it:
assigned, heartbeat deadline set, started, result proposed, deadline
cancelled, completed (6 entries), each folded and decided on.

(a) a chain of 1,000 steps (each depends on the one before), one executor;
(b) a chain of 10,000 steps, timed over its first steps only (the full
    run): the policy's cost per step grows with the size of the plan, and
    the whole chain would take minutes;
(c) a wide DAG of 1,000 independent steps, 4 executors.

LangGraph: a ``StateGraph`` of no-op nodes (``bench/_langgraph.py``), without
a checkpointer and with ``InMemorySaver`` (a checkpoint per superstep: the
durable configuration, comparable to playbill's journal): a chain of the same
length (per superstep; for (b), its first supersteps, stopped by the
recursion limit), and a fan-out of 1,000 nodes in one superstep (per node).

Also measured, as a floor: playbill's kernel alone over the journal of the
same run (``check_replay``: fold every entry and decide on it, no actors, no
trio), per step. No runtime built on this kernel can cost less per step.

Target: playbill's overhead per step >= 50x lower than LangGraph's with
``InMemorySaver``. Not a test.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import trio

if __package__ in (None, ""):  # run as a script: import ``bench`` and ``playbill`` from here
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench import _langgraph
from bench._report import Figure, figure, finish, interleaved, machine, skipped, topic_args
from playbill import RunSpec, open_run
from playbill.backends import Capabilities, WorkOrder
from playbill.backends._backend import Reporter
from playbill.runtime import (
    AgentSpec,
    Entry,
    ImplementationPayload,
    MemoryJournal,
    Plan,
    ResultEnvelope,
    RunState,
    StepCompleted,
    StepSpec,
    check_replay,
)

TOPIC = "orchestration"
UNIT = "us/step"


class InstantBackend:
    """An agent that returns a good result at once: all that is left is orchestration."""

    name = "instant"
    capabilities = Capabilities(roles=frozenset({"executor"}), edits_files=True)

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        return ResultEnvelope(
            agent=order.agent,
            role=order.role,
            step=order.step.id,
            attempt=order.attempt,
            exit_status="ok",
            payload=ImplementationPayload(summary="done"),
        )


def plan(steps: int, *, chain: bool, agents: int) -> Plan:
    """``steps`` read-only executor steps, each depending on the one before if ``chain``."""
    return Plan(
        steps=tuple(
            StepSpec(
                id=f"s{i}",
                goal=f"step {i}",
                depends_on=(f"s{i - 1}",) if chain and i else (),
            )
            for i in range(steps)
        ),
        agents=tuple(AgentSpec(id=f"executor-{i}", roles=("executor",)) for i in range(agents)),
    )


_journals: dict[str, list[Entry]] = {}
"""The journal of each case's latest run, for ``kernel_us_per_step``."""


def playbill_us_per_step(
    the_plan: Plan, timed_steps: int | None = None, *, keep: str | None = None
) -> float:
    """Wall microseconds per step of a run of ``the_plan``, over its first ``timed_steps``.

    With ``keep``, the run's journal is kept under that name (read after the
    clock stopped).
    """
    steps = len(the_plan.steps) if timed_steps is None else timed_steps
    last = the_plan.steps[steps - 1].id

    def done(state: RunState) -> bool:
        if timed_steps is None:
            return state.is_terminal
        found = state.steps.get(last)
        return found is not None and found.status == "completed"

    async def main() -> float:
        with MemoryJournal() as journal:
            start = time.perf_counter()
            async with open_run(
                journal,
                "bench-run",
                lambda agent: InstantBackend(),
                spec=RunSpec(goal="orchestration overhead", plan=the_plan),
                control_poll_s=None,
                lease_ttl_s=1e9,
            ) as run:
                state = await run.wait(done)
            elapsed = time.perf_counter() - start
            if keep is not None:
                _journals[keep] = list(await journal.read("bench-run"))
        assert timed_steps is not None or state.status == "completed", state.status
        return elapsed

    return trio.run(main) / steps * 1e6


def kernel_us_per_step(keep: str) -> float:
    """Microseconds per completed step of the kernel alone over a kept journal.

    ``check_replay`` folds every entry and runs the policy on it, as the
    writer's reactor did during the run, and checks that it decides the same.
    """
    entries = _journals[keep]
    steps = sum(isinstance(entry.msg, StepCompleted) for entry in entries)
    start = time.perf_counter()
    divergence = check_replay(entries)
    elapsed = time.perf_counter() - start
    assert divergence is None, divergence
    return elapsed / steps * 1e6


def run(quick: bool, repeats: int = 3) -> list[Figure]:
    """Measure every case, interleaved; return the figures (printed as they come)."""
    chain_n, wide_n, agents = 1_000, 1_000, 4
    long_n, long_timed = 10_000, 300
    chain_plan = plan(chain_n, chain=True, agents=1)
    wide_plan = plan(wide_n, chain=False, agents=agents)
    print(
        f"{TOPIC}: agents that return at once; wall time per step; chain of {chain_n:,}, "
        f"wide DAG of {wide_n:,} over {agents} agents"
        + ("" if quick else f", chain of {long_n:,} timed over its first {long_timed}")
    )
    cases: dict[str, Callable[[], float]] = {
        "a": lambda: playbill_us_per_step(chain_plan, keep="a"),
        "a-kernel": lambda: kernel_us_per_step("a"),
        "c": lambda: playbill_us_per_step(wide_plan, keep="c"),
        "c-kernel": lambda: kernel_us_per_step("c"),
    }
    if not quick:
        long_plan = plan(long_n, chain=True, agents=1)
        cases["b"] = lambda: playbill_us_per_step(long_plan, long_timed, keep="b")
        cases["b-kernel"] = lambda: kernel_us_per_step("b")
    lg = _langgraph
    if lg.AVAILABLE:
        cases["lg-a"] = lambda: lg.chain_us_per_step(chain_n, saver=False)
        cases["lg-a-saver"] = lambda: lg.chain_us_per_step(chain_n, saver=True)
        cases["lg-c"] = lambda: lg.wide_us_per_node(wide_n, saver=False)
        cases["lg-c-saver"] = lambda: lg.wide_us_per_node(wide_n, saver=True)
        if not quick:
            cases["lg-b"] = lambda: lg.chain_us_per_step(long_n, saver=False, only=long_timed)
            cases["lg-b-saver"] = lambda: lg.chain_us_per_step(long_n, saver=True, only=long_timed)
    us = interleaved(cases, repeats)
    figures: list[Figure] = []
    rows = [
        ("a", f"(a) chain of {chain_n:,} steps", "supersteps"),
        ("b", f"(b) chain of {long_n:,} steps, first {long_timed}", "supersteps"),
        ("c", f"(c) wide DAG of {wide_n:,} steps", "nodes in one superstep"),
    ]
    for key, name, lg_what in rows:
        if key not in us:
            continue
        mine = us[key]
        figures.append(figure(TOPIC, f"{name}: playbill", mine, UNIT, lower_is_better=True))
        kernel_name = f"{name}: playbill's kernel alone (fold + decide)"
        kernel = us[f"{key}-kernel"]
        figures.append(
            figure(TOPIC, kernel_name, kernel, UNIT, subject="reference", lower_is_better=True)
        )
        if not lg.AVAILABLE:
            figures.append(skipped(TOPIC, f"{name}: langgraph", UNIT, "langgraph"))
            continue
        for suffix, label in (("", "no checkpointer"), ("-saver", "InMemorySaver")):
            theirs = us[f"lg-{key}{suffix}"]
            peer_name = f"{name}: langgraph, {label} ({lg_what})"
            figures.append(figure(TOPIC, peer_name, theirs, UNIT, subject="langgraph"))
            figures.append(
                figure(
                    TOPIC,
                    f"{name}: playbill",
                    mine,
                    UNIT,
                    versus=(f"langgraph {label}", theirs),
                    lower_is_better=True,
                    target=50.0 if suffix else None,
                )
            )
            if suffix:
                figures.append(
                    figure(
                        TOPIC,
                        kernel_name,
                        kernel,
                        UNIT,
                        subject="reference",
                        versus=(f"langgraph {label}", theirs),
                        lower_is_better=True,
                    )
                )
    return figures


def main() -> None:
    args = topic_args(__doc__.splitlines()[0], "no 10,000-step chain, for a smoke run")
    print(machine())
    finish(run(args.quick, args.repeats), args.json)


if __name__ == "__main__":
    main()
