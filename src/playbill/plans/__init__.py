"""Plan files: a run described in TOML (``playbill.toml``), loaded, checked, run.

``load_plan`` reads a file into a ``PlanFile`` (attrs classes, loaded with
cattrs) and checks it, reporting every problem at once in a ``PlanError``;
``PlanFile.to_run_spec`` makes the ``RunSpec`` a run starts from and
``plan_backends`` the agents' backends. The format is described in
docs/plans.md (the backends in docs/backends.md); ``STARTER_PLAN`` is what
``playbill init`` writes (a simulated team), ``starter_plan`` a real team.
An agent's ``[agents.options]`` table is loaded into the options class its
backend declares (``playbill.backends.ClaudeCodeOptions``...; ``BACKENDS``).
"""

from __future__ import annotations

from ._backend_checks import check_backend
from ._budget_tables import BudgetTable, StepBudgetTable
from ._build import make_backend, plan_backends
from ._checks import RESERVED_ADDRESSES, check_plan
from ._fragment import load_fragment, parse_fragment, parse_validator
from ._load import PlanError, load_plan, parse_plan
from ._model import (
    BACKENDS,
    AgentTable,
    BackendOptions,
    CriterionTable,
    PlanFile,
    PolicyTable,
    RunTable,
    SimulatedOptions,
    StepTable,
)
from ._secrets import secret_names
from ._starter import PYTEST, guess_test_command, starter_plan
from ._starter_sim import STARTER_PLAN
from ._types import ID_PATTERN
from ._validators import (
    VALIDATORS,
    ArtifactExistsTable,
    BuildPassesTable,
    CommandPassesTable,
    FileChangedTable,
    HumanApprovalTable,
    TestsPassTable,
    ValidatorTable,
)

__all__ = [
    "BACKENDS",
    "ID_PATTERN",
    "PYTEST",
    "RESERVED_ADDRESSES",
    "STARTER_PLAN",
    "VALIDATORS",
    "AgentTable",
    "ArtifactExistsTable",
    "BackendOptions",
    "BudgetTable",
    "BuildPassesTable",
    "CommandPassesTable",
    "CriterionTable",
    "FileChangedTable",
    "HumanApprovalTable",
    "PlanError",
    "PlanFile",
    "PolicyTable",
    "RunTable",
    "SimulatedOptions",
    "StepBudgetTable",
    "StepTable",
    "TestsPassTable",
    "ValidatorTable",
    "check_backend",
    "check_plan",
    "guess_test_command",
    "load_fragment",
    "load_plan",
    "make_backend",
    "parse_fragment",
    "parse_plan",
    "parse_validator",
    "plan_backends",
    "secret_names",
    "starter_plan",
]
