"""Plan files: a run described in TOML (``playbill.toml``), loaded, checked, run.

``load_plan`` reads a file into a ``PlanFile`` (attrs classes, loaded with
cattrs) and checks it, reporting every problem at once in a ``PlanError``;
``PlanFile.to_run_spec`` makes the ``RunSpec`` a run starts from. The format
is described in docs/plans.md; ``STARTER_PLAN`` is what ``playbill init``
writes.
"""

from __future__ import annotations

from ._checks import RESERVED_ADDRESSES, check_plan, outside_repository
from ._load import PlanError, load_plan, parse_plan
from ._model import (
    BACKENDS,
    AgentTable,
    BackendOptions,
    BudgetTable,
    CriterionTable,
    PlanFile,
    PolicyTable,
    RunTable,
    SimulatedOptions,
    StepTable,
)
from ._starter import STARTER_PLAN
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
    "StepTable",
    "TestsPassTable",
    "ValidatorTable",
    "check_plan",
    "load_plan",
    "outside_repository",
    "parse_plan",
]
