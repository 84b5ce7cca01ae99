"""The cast and plan of the demo run: its goal, budget, agents, steps and criteria.

Pure data, shared by the demo script (``_demo``) and anyone who wants to build
on the demo's plan.
"""

from __future__ import annotations

from playbill.runtime import AgentSpec, Budget, CommandPasses, Criterion, Plan, StepSpec, TestsPass

GOAL = "Add CSV export to the ledger tool: `ledger export --csv FILE`, with tests"
"""What the demo run is for."""

RUN_BUDGET = Budget(tokens=400_000, cost_usd=5.0, wall_s=3600.0, attempts=12, retries=3)
"""The demo run's budget."""

LABELS = {"repo": "example/ledger", "demo": "true"}
"""The demo run's labels."""

# Made-up commits of the example repository.
BASE_COMMIT = "4f3a9c1e0b7d2a6851c3e9f0a4b7d1c2e8f6a903"
WRITER_COMMITS = (
    "a1c93e7f52d04b8e9c6a3f1d0e7b2c5a8d4f6e19",
    "b7e2d4a9c1f05e3b8a6d2c9f4e1a7b0d3c5e8f27",
)
FLAG_COMMITS = (
    "c3f8a1d6e9b24c7f0a5e8d3b1c6f9a2e4d7b0c35",
    "d9b4e7a2c5f18d3a6e0b9c4f7a2d5e8b1c3f6a40",
)
MERGE_WRITER = "e5a1c8f3b6d92e4a7c0f3b8d1e6a9c2f5b4d7e58"
MERGE_FLAG = "f2d7b0e5a8c31f6b9d4e7a0c3f8b1d6e9a2c5f63"

ROUNDTRIP = CommandPasses(argv=("python", "scripts/csv_roundtrip.py"), timeout_s=120.0)
SUITE = TestsPass(min_passed=100)

AGENTS = (
    AgentSpec(
        id="planner",
        roles=("planner",),
        backend="claude-code",
        edits_files=False,
        budget=Budget(tokens=60_000, cost_usd=0.5),
    ),
    AgentSpec(
        id="executor-a",
        roles=("executor",),
        backend="claude-code",
        budget=Budget(tokens=200_000, cost_usd=2.0, attempts=4),
    ),
    AgentSpec(
        id="executor-b",
        roles=("executor",),
        backend="codex",
        budget=Budget(tokens=200_000, cost_usd=2.0, attempts=4),
    ),
    AgentSpec(
        id="reviewer",
        roles=("reviewer",),
        backend="openai-http",
        edits_files=False,
        budget=Budget(tokens=60_000, cost_usd=0.4),
    ),
    AgentSpec(
        id="verifier",
        roles=("verifier",),
        backend="command",
        edits_files=False,
        budget=Budget(wall_s=900.0),
    ),
)
"""The demo's agents: a planner, two executors, a reviewer and a verifier."""

PLAN_STEP = StepSpec(id="plan", goal="Read the ledger code and plan the CSV export", role="planner")
WRITER_STEP = StepSpec(
    id="csv-writer",
    goal="Add ledger/export.py: write ledger entries as RFC 4180 CSV",
    depends_on=("plan",),
    scope=("ledger/export.py", "tests/test_export.py"),
    validators=(TestsPass(argv=("python", "-m", "pytest", "tests/test_export.py")),),
    max_attempts=3,
)
FLAG_STEP = StepSpec(
    id="cli-flag",
    goal="Wire `ledger export --csv FILE` into the command line",
    depends_on=("csv-writer",),
    scope=("ledger/cli.py", "tests/test_cli.py"),
    validators=(CommandPasses(argv=("python", "-m", "ledger", "export", "--csv", "out.csv")),),
    strategy="competitive",
    max_attempts=2,
)
VERIFY_STEP = StepSpec(
    id="verify",
    goal="Run the whole suite and a CSV round trip end to end",
    role="verifier",
    depends_on=("csv-writer", "cli-flag"),
    validators=(SUITE, ROUNDTRIP),
)
CRITERIA = (
    Criterion(
        id="suite-green",
        description="The full test suite passes, at least 100 tests",
        validator=SUITE,
    ),
    Criterion(
        id="csv-roundtrip",
        description="An exported CSV imports back into an identical ledger",
        validator=ROUNDTRIP,
    ),
)
PLAN = Plan(steps=(PLAN_STEP,), agents=AGENTS)
"""The plan attached to the demo run: the planner's step; the planner proposes the rest."""
