"""Loading plan files: TOML into the attrs model with cattrs, every problem at once.

``parse_plan`` reads the TOML, structures each table on its own (so that one
bad step does not hide the problems of the next), runs the semantic checks
of ``playbill.plans._checks`` over whatever loaded, and raises one
``PlanError`` listing every problem, each with its path in the file:
``plan.toml:steps[2].depends_on[0]: unknown step 'desing' (did you mean
'design'?)``. Indices count from 0, as in the TOML arrays they index.

The converter is strict: a string is never a number, a number never a
string, ``"yes"`` never a boolean, and a key the model does not know is an
error (with the closest known key, when one is close).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TypeVar, cast

import attrs

from playbill._inputs import MAX_DEPTH, MAX_PLAN_BYTES, InputRefused, read_input, too_deep
from playbill._problems import Problem, ProblemsError
from playbill._strict import describe, metadata, unknown_key
from playbill.simulation import ProfileSet

from ._checks import check_parts
from ._convert import structure
from ._model import AgentTable, CriterionTable, PlanFile, RunTable, StepTable
from ._problems import toml_key, where_in_file
from ._types import Text

_T = TypeVar("_T")

SECTIONS: Mapping[str, str] = {
    "run": "[run]",
    "agents": "[[agents]]",
    "steps": "[[steps]]",
    "criteria": "[[criteria]]",
}
"""The top-level tables of a plan file, as they are written."""


class PlanError(ProblemsError):
    """A plan file is invalid. Lists every problem, one per line, in the order of the file."""


def load_plan(
    path: str | Path,
    *,
    profiles: ProfileSet | None = None,
    strategies: Collection[str] | None = None,
) -> PlanFile:
    """Load and check a plan file (TOML).

    Blocking file I/O: call it before ``trio.run``, or through
    ``trio.to_thread.run_sync``.

    Args:
        path: The file.
        profiles: The agent profiles simulated agents may name; the built-ins
            when ``None``.
        strategies: The coordination strategies steps may name; the
            runtime's (``STRATEGIES``) when ``None``.

    Raises:
        PlanError: The file cannot be read, is not TOML, or is not a valid
            plan; every problem is reported, each with its path.
    """
    source = str(path)
    try:
        text = read_input(path, MAX_PLAN_BYTES).decode("utf-8")
    except (InputRefused, UnicodeDecodeError) as error:
        detail = error.detail if isinstance(error, InputRefused) else str(error)
        if isinstance(error, InputRefused) and error.missing:
            detail += " (`playbill init` writes a starter plan)"
        raise PlanError(source, [Problem("", f"cannot read the plan: {detail}")]) from None
    return parse_plan(text, source=source, profiles=profiles, strategies=strategies)


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def _toml(text: str, source: str) -> dict[str, object]:
    """The TOML document, or ``PlanError`` (bad TOML, nested past ``MAX_DEPTH``)."""
    try:
        document = tomllib.loads(text)
    except RecursionError:
        document = None  # nested deeper than the parser can go: too deep by far
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = _TOML_POSITION.search(message)
        # The position is shown where every problem shows its place.
        location = f"line {found[1]}, column {found[2]}" if found else ""
        detail = message[: found.start()] if found else message
        raise PlanError(source, [Problem(location, f"not valid TOML: {detail}")]) from None
    if document is None or too_deep(document):
        detail = f"tables and arrays nest more than {MAX_DEPTH} levels deep, the limit"
        raise PlanError(source, [Problem("", detail)])
    return document


def parse_plan(
    text: str,
    *,
    source: str = "<plan>",
    profiles: ProfileSet | None = None,
    strategies: Collection[str] | None = None,
) -> PlanFile:
    """Parse and check the text of a plan file (see docs/plans.md).

    A step's ``decompose_into`` fragment is read relative to ``source``.

    Args:
        text: TOML.
        source: The file it came from, for error messages.
        profiles: The agent profiles simulated agents may name; the built-ins
            when ``None``.
        strategies: The coordination strategies steps may name; the
            runtime's (``STRATEGIES``) when ``None``.

    Raises:
        PlanError: Every problem found, each with its path.
    """
    document = _toml(text, source)
    loader = _Loader()
    for key in document:
        if key not in SECTIONS:
            loader.problems.append(unknown_key(toml_key(key), key, list(SECTIONS)))
    run = loader.run(document)
    agents, _ = loader.array(document, "agents", AgentTable)
    steps, step_ids = loader.array(document, "steps", StepTable)
    criteria, _ = loader.array(document, "criteria", CriterionTable)
    problems = loader.problems
    from ._fragment import step_fragments  # here: it raises this module's PlanError

    fragments, fragment_problems = step_fragments(steps, source=source, step_ids=step_ids)
    problems.extend(fragment_problems)
    problems.extend(
        check_parts(
            run,
            agents,
            steps,
            criteria,
            step_ids=step_ids,
            partial=loader.partial,
            profiles=profiles,
            strategies=strategies,
        )
    )
    if problems or run is None:
        raise PlanError(source, sorted(problems, key=lambda p: where_in_file(p.location)))
    return PlanFile(
        run=run,
        agents=tuple(a for a in agents if a is not None),
        steps=tuple(s for s in steps if s is not None),
        criteria=tuple(c for c in criteria if c is not None),
        fragments=fragments,
    )


@attrs.define
class _Loader:
    """Structures a plan's tables one by one, collecting their problems.

    A table with problems is loaded again without its bad keys, for the
    semantic checks alone (its location goes into ``partial``): so that an
    unknown step in ``depends_on`` is reported together with a typo in the
    same step's ``scope``, not only once the typo is fixed. What such a table
    lacks takes its default, or a placeholder for a required text; a bad
    validator is stood in for by one no check looks at, so that the others
    keep their index.
    """

    problems: list[Problem] = attrs.Factory(list)
    partial: set[str] = attrs.Factory(set)

    def run(self, document: Mapping[str, object]) -> RunTable | None:
        if "run" not in document:
            detail = 'required table missing: [run], with at least goal = "what the run is for"'
            self.problems.append(Problem("run", detail))
            return None
        return self.part(document["run"], RunTable, "run")

    def array(
        self, document: Mapping[str, object], key: str, cl: type[_T]
    ) -> tuple[list[_T | None], list[str]]:
        """The tables of an array of tables; ``None`` for those that did not load.

        Also returns the ids the tables give, loaded or not, so that
        references to a table with problems of its own are not reported as
        unknown.
        """
        value = document.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            detail = f"expected an array of tables ({SECTIONS[key]}), got {describe(value)}"
            self.problems.append(Problem(key, detail))
            self.partial.add(key)
            return [], []
        loaded = [self.part(item, cl, f"{key}[{i}]") for i, item in enumerate(value)]
        ids = [item["id"] for item in value if isinstance(item.get("id"), str)]
        return loaded, ids

    def part(self, value: object, cl: type[_T], where: str) -> _T | None:
        before = len(self.problems)
        found = structure(value, cl, where, self.problems)
        if found is not None or not isinstance(value, dict):
            return found
        mine = self.problems[before:]
        if any(p.location == where for p in mine):
            return None
        table = {}
        for key, item in value.items():
            here = f"{where}.{toml_key(key)}"
            if not _has_problem(mine, here):
                table[key] = item
            elif key == "validators" and isinstance(item, list):
                table[key] = [
                    _INERT_VALIDATOR if _has_problem(mine, f"{here}[{i}]") else v
                    for i, v in enumerate(item)
                ]
            elif key == "options" and isinstance(item, dict):
                # The backend's other options, roles and edits_files are still checked.
                table[key] = {
                    k: v for k, v in item.items() if not _has_problem(mine, f"{here}.{toml_key(k)}")
                }
        for field in attrs.fields(cast("type[attrs.AttrsInstance]", cl)):
            text = metadata(field.type, Text)
            required = field.default is attrs.NOTHING
            if field.name not in table and required and text is not None and text.pattern is None:
                table[field.name] = "?"
        salvaged = structure(table, cl, where, [])
        if salvaged is not None:
            self.partial.add(where)
        return salvaged


_INERT_VALIDATOR = {"kind": "human_approval"}
"""Stands in for a validator with problems: the semantic checks ignore it."""


def _has_problem(problems: Sequence[Problem], here: str) -> bool:
    return any(
        p.location == here or p.location.startswith((here + ".", here + "[")) for p in problems
    )
