"""The demo's cast and script: who works on ``textkit``, and what each of them does.

A planner reads the project and proposes four steps: fix ``slugify``, fix
``wrap``, add ``reading_time`` (each confined to its module and checked by
that module's tests, run for real with pytest), and, once all three are in,
a changelog entry. Two executors take the three independent steps in
parallel, each attempt in a worktree of its own; a reviewer reads each
attempt; a verifier runs the step's validators in the attempt's worktree.

The script has a little drama, as real runs do:

* ``fix-wrap``: the first attempt over-corrects the off-by-one (a line that
  fills the width exactly is now broken too). The reviewer misses it, the
  tests do not: verification fails, the attempt fails with a ``validation``
  failure, and the retry, given that failure as feedback, fixes it.
* ``fix-slugify``: the first attempt splits on non-word characters, which keep
  underscores; the reviewer asks for changes, and the second attempt passes.

Every edit is a small replacement in the bundled file, so the scripted work
reads as the patch it is. Tokens and cost are the script's own figures (no
model is called); they make the budget accounting visible.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Final

from playbill.backends import AgentBackend, Edit, Scripted, ScriptedBackend, checks
from playbill.runtime import (
    AgentSpec,
    Budget,
    FileChanged,
    Finding,
    Plan,
    PolicySettings,
    StepSpec,
    TestsPass,
)

from ._project import project_files

GOAL: Final = "Make textkit's tests pass: fix slugify and wrap, add reading_time"
"""The demo run's goal."""

PLAN_STEP: Final = "plan"
"""The planner's step, the only one planned before the run starts."""

WORK_STEPS: Final = ("fix-slugify", "fix-wrap", "add-reading-time")
"""The independent steps the planner proposes, one module and its tests each."""

CHANGELOG_STEP: Final = "changelog"
"""The last step: a changelog entry, once all the work is in."""

BUDGET: Final = Budget(tokens=100_000, cost_usd=2.0, attempts=12, retries=4)
"""The run's budget: far more than the script uses."""

POLICY: Final = PolicySettings(backoff_base_s=0.5, heartbeat_timeout_s=120.0)
"""Short retry backoff, so the demo takes seconds."""

AGENTS: Final = (
    AgentSpec(id="planner", roles=("planner",), backend="scripted", edits_files=False),
    AgentSpec(id="ex-1", roles=("executor",), backend="scripted"),
    AgentSpec(id="ex-2", roles=("executor",), backend="scripted"),
    AgentSpec(id="reviewer", roles=("reviewer",), backend="scripted", edits_files=False),
    AgentSpec(id="verifier", roles=("verifier",), backend="checks", edits_files=False),
)
"""The team: a planner, two executors, a reviewer and a verifier."""

PYTEST_TIMEOUT_S: Final = 120.0
"""A test file of textkit runs in well under a second; this only bounds a hang."""


def pytest_of(test_file: str) -> TestsPass:
    """A validator that runs one test file with this interpreter's pytest."""
    return TestsPass(
        argv=(sys.executable, "-m", "pytest", "-q", test_file), timeout_s=PYTEST_TIMEOUT_S
    )


def demo_plan() -> Plan:
    """The plan the run starts with: one planner step, and the team."""
    plan = StepSpec(
        id=PLAN_STEP,
        goal="Read textkit and its failing tests; propose the steps that make them pass",
        role="planner",
    )
    return Plan(steps=(plan,), agents=AGENTS)


def proposed_steps() -> tuple[StepSpec, ...]:
    """The steps the planner proposes."""
    return (
        StepSpec(
            id="fix-slugify",
            goal="slugify: lower-case ASCII words joined by single dashes",
            scope=("textkit/slug.py",),
            validators=(pytest_of("tests/test_slug.py"),),
        ),
        StepSpec(
            id="fix-wrap",
            goal="wrap: no line longer than the width (it lets lines run one over)",
            scope=("textkit/wrap.py",),
            validators=(pytest_of("tests/test_wrap.py"),),
        ),
        StepSpec(
            id="add-reading-time",
            goal="stats: add reading_time(text, words_per_minute=200), whole minutes, at least 1",
            scope=("textkit/stats.py",),
            validators=(pytest_of("tests/test_stats.py"),),
        ),
        StepSpec(
            id=CHANGELOG_STEP,
            goal="Record the fixes and the new function in CHANGELOG.md",
            depends_on=WORK_STEPS,
            scope=("CHANGELOG.md",),
            validators=(FileChanged(path="CHANGELOG.md"),),
        ),
    )


def _replaced(path: str, *changes: tuple[str, str]) -> Edit:
    """An edit of a bundled file: each ``(old, new)``, where ``old`` occurs once, is applied."""
    text = project_files()[path]
    for old, new in changes:
        if text.count(old) != 1:
            raise LookupError(f"the demo script expects {old!r} once in {path}")
        text = text.replace(old, new)
    return Edit(path, text)


_SLUG_BUG = 're.sub(r"[^A-Za-z0-9]", "-", title.strip())'
_WRAP_BUG = "len(line) + 1 + len(word) > width + 1"
_READING_TIME = '''

def reading_time(text: str, words_per_minute: int = 200) -> int:
    """Minutes to read ``text``, rounded up to whole minutes; at least 1."""
    return max(1, math.ceil(word_count(text) / words_per_minute))
'''
_CHANGELOG_ENTRY = """
### Fixed

- `slugify` lower-cases, and joins words with single dashes (underscores and
  punctuation included).
- `wrap` no longer lets a line run one character over the width.

### Added

- `reading_time(text, words_per_minute=200)`: minutes to read a text.
"""


def executor_script() -> dict[str, list[Scripted]]:
    """What the executors do, per step and attempt (either executor plays any step)."""
    changelog = project_files()["CHANGELOG.md"]
    return {
        "fix-slugify": [
            Scripted(
                edits=(
                    _replaced(
                        "textkit/slug.py",
                        (_SLUG_BUG, 're.sub(r"\\W+", "-", title.lower()).strip("-")'),
                    ),
                ),
                summary="slugify lower-cases and collapses runs of non-word characters",
                tokens_in=3_100,
                tokens_out=420,
                cost_usd=0.021,
            ),
            Scripted(
                edits=(
                    _replaced(
                        "textkit/slug.py",
                        (_SLUG_BUG, 're.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")'),
                    ),
                ),
                summary="slugify keeps only a-z and 0-9; everything else separates words",
                tokens_in=3_600,
                tokens_out=380,
                cost_usd=0.023,
            ),
        ],
        "fix-wrap": [
            Scripted(
                edits=(
                    _replaced("textkit/wrap.py", (_WRAP_BUG, "len(line) + 1 + len(word) >= width")),
                ),
                summary="wrap breaks before a line reaches the width",
                tokens_in=2_800,
                tokens_out=350,
                cost_usd=0.018,
            ),
            Scripted(
                edits=(
                    _replaced("textkit/wrap.py", (_WRAP_BUG, "len(line) + 1 + len(word) > width")),
                ),
                summary="wrap breaks only past the width: a line may fill it exactly",
                tokens_in=4_200,
                tokens_out=310,
                cost_usd=0.025,
            ),
        ],
        "add-reading-time": [
            Scripted(
                edits=(
                    _replaced(
                        "textkit/stats.py",
                        (
                            '"""Reading statistics."""\n',
                            '"""Reading statistics."""\n\nimport math\n',
                        ),
                        (
                            "return len(text.split())\n",
                            "return len(text.split())\n" + _READING_TIME,
                        ),
                    ),
                ),
                summary="added reading_time, built on word_count",
                tokens_in=2_500,
                tokens_out=460,
                cost_usd=0.019,
            ),
        ],
        CHANGELOG_STEP: [
            Scripted(
                edits=(Edit("CHANGELOG.md", changelog + _CHANGELOG_ENTRY),),
                summary="changelog: two fixes and reading_time",
                tokens_in=1_900,
                tokens_out=240,
                cost_usd=0.012,
            ),
        ],
    }


def reviewer_script() -> dict[str, list[Scripted]]:
    """What the reviewer says, per step and attempt."""
    passing = Scripted(verdict="pass", tokens_in=1_500, tokens_out=120, cost_usd=0.009)
    return {
        "fix-slugify": [
            Scripted(
                verdict="request_changes",
                findings=(
                    Finding(
                        severity="major",
                        message=(
                            "\\W+ keeps underscores (and non-ASCII letters): "
                            "slugify('snake_case title') gives 'snake_case-title'; "
                            "split on [^a-z0-9]+ instead"
                        ),
                        path="textkit/slug.py",
                        line=11,
                    ),
                ),
                tokens_in=1_700,
                tokens_out=210,
                cost_usd=0.011,
            ),
            passing,
        ],
        "fix-wrap": [passing],
        "add-reading-time": [passing],
        CHANGELOG_STEP: [passing],
    }


def planner_script() -> dict[str, list[Scripted]]:
    """What the planner proposes."""
    return {
        PLAN_STEP: [
            Scripted(
                steps=proposed_steps(),
                summary=(
                    "three independent fixes, one module and its test file each, so two "
                    "executors can work in parallel; the changelog once they are all in"
                ),
                tokens_in=5_200,
                tokens_out=900,
                cost_usd=0.041,
            )
        ]
    }


def demo_backends() -> Mapping[str, AgentBackend]:
    """Each agent's backend, by agent id: scripted agents, and a verifier running pytest."""
    executors = ScriptedBackend(executor_script(), roles=frozenset({"executor"}))
    return {
        "planner": ScriptedBackend(planner_script(), roles=frozenset({"planner"})),
        "ex-1": executors,
        "ex-2": executors,
        "reviewer": ScriptedBackend(reviewer_script(), roles=frozenset({"reviewer"})),
        # the project's tests need no pytest plugin: loading every one
        # installed beside playbill would cost seconds per test run
        "verifier": checks(env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}),
    }
