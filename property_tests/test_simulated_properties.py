"""Properties of simulated agents' draws, over arbitrary profiles, faults and orders."""

from __future__ import annotations

import fnmatch
import itertools

from hypothesis import given
from hypothesis import strategies as st

from playbill.backends._backend import WorkOrder
from playbill.runtime import ROLES, Failure, ImplementationPayload, StepSpec
from playbill.runtime.model._faults import FaultPlan
from playbill.simulation._profiles import AgentProfile, FaultOdds, Latency, RoleOdds, Tokens
from playbill.simulation._sim_draws import draw_outcome

probabilities = st.floats(min_value=0.0, max_value=1.0)
sigmas = st.floats(min_value=0.0, max_value=5.0)

profiles = st.builds(
    AgentProfile,
    success=st.builds(
        RoleOdds,
        planner=probabilities,
        executor=probabilities,
        reviewer=probabilities,
        verifier=probabilities,
    ),
    latency=st.builds(Latency, median_s=st.floats(min_value=0.01, max_value=3600.0), sigma=sigmas),
    tokens_in=st.builds(Tokens, median=st.floats(min_value=1.0, max_value=1e6), sigma=sigmas),
    faults=st.builds(FaultOdds, crash=probabilities, hang=probabilities, transient=probabilities),
    heartbeat_interval_s=st.floats(min_value=5.0, max_value=600.0),
    planner_substeps=st.integers(min_value=0, max_value=5),
)
faults = st.builds(
    FaultPlan,
    crash=probabilities,
    hang=probabilities,
    slow=probabilities,
    slow_factor=st.floats(min_value=1.0, max_value=10.0),
    transient=probabilities,
)
patterns = st.sampled_from(
    ["src/**", "src/*.py", "tests/test_?.py", "docs/", "a/**/b.md", "lib/[abc]x.c", "Makefile"]
)
works = st.sampled_from(
    [("work", "executor"), ("work", "planner"), ("review", "reviewer"), ("verify", "verifier")]
)
orders = st.builds(
    lambda step, scope, attempt, work, feedback: WorkOrder(
        run_id="run",
        agent="a",
        role=work[1],
        kind=work[0],
        step=StepSpec(
            id=step, goal="g", role=work[1] if work[0] == "work" else "executor", scope=tuple(scope)
        ),
        attempt=attempt,
        feedback=Failure(failure_class="validation", kind="x") if feedback else None,
    ),
    st.text(min_size=1, max_size=8),
    st.lists(patterns, max_size=3),
    st.integers(min_value=1, max_value=50),
    works,
    st.booleans(),
)


@given(profiles, faults, st.integers(), st.text(max_size=8), orders)
def test_draws_are_deterministic_and_consistent(
    profile: AgentProfile, plan: FaultPlan, seed: int, agent: str, order: WorkOrder
) -> None:
    outcome = draw_outcome(profile, plan, seed, agent, order)
    assert draw_outcome(profile, plan, seed, agent, order) == outcome
    assert outcome.kind in ("success", "failure", "crash", "hang", "transient")
    assert (outcome.payload is None) == (outcome.kind in ("crash", "hang", "transient"))
    assert (outcome.failure is not None) == (outcome.kind == "transient")
    chunks = list(outcome.chunks())
    assert chunks and chunks[-1].end_us == outcome.work_us
    ends = [0, *(c.end_us for c in chunks)]
    assert all(0 < b - a <= outcome.interval_us for a, b in itertools.pairwise(ends))
    assert sum(c.usage.tokens_in for c in chunks) == outcome.tokens_in
    assert sum(c.usage.tokens_out for c in chunks) == outcome.tokens_out
    assert all(c.usage.tokens_in >= 0 and c.usage.cost_usd >= -1e-12 for c in chunks)
    if isinstance(outcome.payload, ImplementationPayload):
        for path in outcome.payload.changed_files:
            globs = [p + "**" if p.endswith("/") else p for p in order.step.scope]
            assert any(fnmatch.fnmatchcase(path, glob) for glob in globs), path
    assert order.role in ROLES
