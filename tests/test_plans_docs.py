"""docs/plans.md keeps up with the code: its example loads, every key is described."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest

from playbill.actors import PLACEHOLDERS
from playbill.plans import (
    BACKENDS,
    VALIDATORS,
    AgentTable,
    BudgetTable,
    CriterionTable,
    PolicyTable,
    RunTable,
    StepTable,
    parse_plan,
    plan_backends,
)
from playbill.runtime import DEFAULT_POLICY

PAGE = (Path(__file__).resolve().parents[1] / "docs" / "plans.md").read_text(encoding="utf-8")


def test_the_examples_of_the_page_are_valid_plans() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", PAGE, re.DOTALL)
    assert blocks
    for block in blocks:
        parse_plan(block, source="docs/plans.md")


@pytest.mark.parametrize(
    "cl",
    [
        RunTable,
        BudgetTable,
        PolicyTable,
        AgentTable,
        StepTable,
        CriterionTable,
        *VALIDATORS.values(),
        *BACKENDS.values(),
    ],
)
def test_every_key_is_in_the_reference(cl: type) -> None:
    for field in attrs.fields(cl):
        assert f"| `{field.name}` |" in PAGE, (cl.__name__, field.name)


def test_every_validator_kind_and_backend_is_in_the_reference() -> None:
    for name in [*VALIDATORS, *BACKENDS]:
        assert f"`{name}`" in PAGE, name


def test_the_policy_defaults_in_the_reference_are_the_codes() -> None:
    for field in attrs.fields(PolicyTable):
        default = getattr(DEFAULT_POLICY, field.name)
        shown = f'"{default}"' if isinstance(default, str) else f"{default:g}"
        assert f"| `{field.name}` | " in PAGE
        row = next(line for line in PAGE.splitlines() if line.startswith(f"| `{field.name}` |"))
        assert f"`{shown}`" in row, (field.name, row)


BACKENDS_PAGE = (Path(__file__).resolve().parents[1] / "docs" / "backends.md").read_text(
    encoding="utf-8"
)


def test_the_backends_page_has_every_real_backend_and_placeholder() -> None:
    for name in BACKENDS:
        if name != "simulated":
            assert re.search(rf"^## .*`{name}`", BACKENDS_PAGE, re.MULTILINE), name
    for placeholder in PLACEHOLDERS:
        assert f"| `{{{placeholder}}}` | `PLAYBILL_{placeholder.upper()}` |" in BACKENDS_PAGE


def test_the_agents_of_the_backends_page_are_valid() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", BACKENDS_PAGE, re.DOTALL)
    assert len(blocks) >= 6
    for block in blocks:
        roles = re.search(r"roles = \[(.*)\]", block)
        assert roles is not None
        steps = "".join(
            f'[[steps]]\nid = "s{i}"\ngoal = "g"\nrole = {role}\n'
            for i, role in enumerate(roles[1].split(", "))
        )
        plan = parse_plan(f'[run]\ngoal = "g"\n{block}\n{steps}', source="docs/backends.md")
        assert plan_backends(plan)
