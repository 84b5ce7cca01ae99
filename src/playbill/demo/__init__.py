"""The demo: a scripted team of agents fixing a small Python project in a real git repository.

``playbill demo`` uses it: ``create_demo_repository`` makes a repository of
the bundled ``textkit`` project (failing tests included), ``require_pytest``
checks that the verifier can run its tests, and ``run_demo`` runs the team on
it. The agents are scripted (deterministic, no model is called) but their
edits, worktrees, test runs and integration are real.
"""

from __future__ import annotations

from ._project import BRANCH as BRANCH
from ._project import DemoRepositoryError as DemoRepositoryError
from ._project import create_demo_repository as create_demo_repository
from ._project import project_files as project_files
from ._run import DemoResult as DemoResult
from ._run import PytestMissing as PytestMissing
from ._run import require_pytest as require_pytest
from ._run import run_demo as run_demo
from ._script import AGENTS as AGENTS
from ._script import CHANGELOG_STEP as CHANGELOG_STEP
from ._script import GOAL as GOAL
from ._script import PLAN_STEP as PLAN_STEP
from ._script import WORK_STEPS as WORK_STEPS
from ._script import demo_backends as demo_backends
from ._script import demo_plan as demo_plan
from ._script import proposed_steps as proposed_steps

__all__ = [
    "AGENTS",
    "BRANCH",
    "CHANGELOG_STEP",
    "GOAL",
    "PLAN_STEP",
    "WORK_STEPS",
    "DemoRepositoryError",
    "DemoResult",
    "PytestMissing",
    "create_demo_repository",
    "demo_backends",
    "demo_plan",
    "project_files",
    "proposed_steps",
    "require_pytest",
    "run_demo",
]
