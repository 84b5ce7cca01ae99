"""Pieces of a plan a person hands a run in progress: a plan fragment, a validator.

``playbill decompose RUN STEP --into fragment.toml`` reads a *plan
fragment*: a TOML file of ``[[steps]]`` tables written as in a plan file
(docs/plans.md), which replace the step. ``playbill change-validator``
reads one validator written as an inline TOML table
(``{kind = "tests_pass", command = ["pytest", "-q"]}``). Both go through
the plan's own converter and step checks (ids, dependencies on steps of the
run or of the fragment, scopes confined to the repository, validators), and
every problem is reported at once, with its place in the file. A plan's
step can name a fragment itself: ``on_exhausted = "decompose"`` with
``decompose_into = "fragment.toml"`` (``step_fragments``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Sequence
from pathlib import Path

from playbill._problems import Problem
from playbill._strict import describe, unknown_key
from playbill.runtime import STRATEGIES, StepSpec, Validator

from ._checks import _check_step, _check_validator
from ._convert import structure
from ._load import PlanError
from ._model import StepTable
from ._problems import where_in_file
from ._validators import ValidatorTable


def parse_fragment(
    text: str, *, source: str = "<fragment>", known_steps: Collection[str] = ()
) -> tuple[StepSpec, ...]:
    """The steps of a plan fragment (see the module).

    Args:
        text: TOML with ``[[steps]]`` tables only.
        source: The file it came from, for error messages.
        known_steps: The ids of the run's steps: the new steps may depend
            on them, and must not reuse them.

    Raises:
        PlanError: Every problem found, each with its path.
    """
    document = _toml(text, source)
    problems: list[Problem] = [
        unknown_key(key, key, ["steps"]) for key in document if key != "steps"
    ]
    value = document.get("steps")
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        detail = f"expected a non-empty array of tables ([[steps]]), got {describe(value)}"
        raise PlanError(source, [*problems, Problem("steps", detail)])
    tables = [structure(item, StepTable, f"steps[{i}]", problems) for i, item in enumerate(value)]
    ids = [t.id for t in tables if t is not None]
    known = {*known_steps, *ids}
    seen: set[str] = set()
    for i, table in enumerate(tables):
        if table is None:
            continue
        here = f"steps[{i}]"
        if table.id in known_steps or table.id in seen:
            problems.append(Problem(f"{here}.id", f"step {table.id!r} already exists"))
        seen.add(table.id)
        problems.extend(_check_step(here, table, None, known, list(STRATEGIES)))
    if problems:
        raise PlanError(source, sorted(problems, key=lambda p: where_in_file(p.location)))
    return tuple(t.to_step_spec() for t in tables if t is not None)


def load_fragment(path: str | Path, *, known_steps: Collection[str] = ()) -> tuple[StepSpec, ...]:
    """The steps of a plan fragment file (blocking I/O; see ``parse_fragment``).

    Raises:
        PlanError: The file cannot be read, or has problems.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PlanError(str(path), [Problem("", f"cannot be read: {error}")]) from None
    return parse_fragment(text, source=str(path), known_steps=known_steps)


def parse_validator(text: str, *, source: str = "--validator") -> Validator:
    """A validator written as an inline TOML table, e.g. ``{kind = "tests_pass"}``.

    Raises:
        PlanError: It is not valid TOML, or not a validator.
    """
    document = _toml(f"validator = {text}", source)
    problems: list[Problem] = []
    table = structure(document["validator"], ValidatorTable, "validator", problems)  # type: ignore[arg-type]
    if table is not None:
        problems.extend(_check_validator("validator", table))
    if problems or table is None:
        raise PlanError(source, problems)
    return table.to_validator()


def _toml(text: str, source: str) -> dict[str, object]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PlanError(source, [Problem("", f"not valid TOML: {error}")]) from None


def step_fragments(
    steps: Sequence[StepTable | None], *, source: str, step_ids: Collection[str]
) -> tuple[dict[str, tuple[StepSpec, ...]], list[Problem]]:
    """The fragments of a plan's steps that say ``on_exhausted = "decompose"``.

    Each ``decompose_into`` is read relative to the plan file (``source``)
    and checked as ``parse_fragment`` does, its new ids unused by the plan
    and by the other fragments. ``decompose`` without a fragment, and a
    fragment without ``decompose``, are problems too.

    Returns:
        The steps of each fragment, by the id of the step they replace, and
        the problems found (each at its step's ``decompose_into``).
    """
    base = Path(source).parent
    fragments: dict[str, tuple[StepSpec, ...]] = {}
    problems: list[Problem] = []
    taken = set(step_ids)
    for i, step in enumerate(steps):
        if step is None:
            continue
        here = f"steps[{i}]"
        decompose = step.on_exhausted == "decompose"
        if step.decompose_into is None:
            if decompose:
                detail = 'decompose needs decompose_into = "FRAGMENT.toml", the steps to use'
                problems.append(Problem(f"{here}.on_exhausted", detail))
            continue
        if not decompose:
            detail = 'a fragment is used only with on_exhausted = "decompose"'
            problems.append(Problem(f"{here}.decompose_into", detail))
            continue
        path = base / step.decompose_into
        try:
            specs = load_fragment(path, known_steps=taken)
        except PlanError as error:
            problems.extend(
                Problem(f"{here}.decompose_into", f"{path}: {p}") for p in error.problems
            )
            continue
        taken.update(s.id for s in specs)
        fragments[step.id] = specs
    return fragments, problems
