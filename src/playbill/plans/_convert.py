"""The cattrs converter of plan files, and its errors turned into problems with paths.

The converter is ``playbill._strict``'s, strict: a string is never a
number, a number never a string, ``"yes"`` never a boolean, an array is
never a string's characters, and a key the model does not know is an error
(with the closest known key, when one is close). Numbers are checked
against their ``Range``, strings against their ``Text``, names against
their ``Choice``. Here it learns the plan's own two tables: a validator
table is structured by its ``kind``, an agent's ``options`` by its
``backend`` (the options class the backend declares).
"""

from __future__ import annotations

from typing import Any, TypeVar

import attrs
import cattrs

from playbill._problems import Problem
from playbill._strict import (
    Expected,
    Nested,
    add_problems,
    describe,
    did_you_mean,
    strict_converter,
    table_hook,
)

from ._model import BACKENDS, AgentTable, BackendOptions
from ._validators import VALIDATORS, ValidatorTable

_T = TypeVar("_T")


def _make_converter() -> cattrs.Converter:
    # The plan's own hooks are registered before any table's structure
    # function is made (AgentTable's, below, or lazily at the first load).
    converter = strict_converter()

    def structure_validator(value: object, _: Any) -> ValidatorTable:
        if not isinstance(value, dict):
            raise Expected(f"expected a table, got {describe(value)}")
        known = ", ".join(VALIDATORS)
        kind = value.get("kind")
        if kind is None:
            raise Nested([(".kind", Expected(f"required key missing (one of {known})"))])
        if not isinstance(kind, str):
            detail = f"expected a validator kind ({known}), got {describe(kind)}"
            raise Nested([(".kind", Expected(detail))])
        if kind not in VALIDATORS:
            hint = did_you_mean(kind, VALIDATORS)
            detail = f"unknown validator kind {kind!r} (known: {known}){hint}"
            raise Nested([(".kind", Expected(detail))])
        table = {k: v for k, v in value.items() if k != "kind"}
        found: ValidatorTable = converter.structure(table, VALIDATORS[kind])
        return found

    converter.register_structure_hook_func(lambda t: t == ValidatorTable, structure_validator)

    def structure_options(value: object, _: Any) -> BackendOptions:
        # An agent's options are structured by its backend (structure_agent),
        # never as the union of every backend's table.
        raise Expected("expected the options of the agent's backend")

    converter.register_structure_hook_func(lambda t: t == BackendOptions, structure_options)
    structure_agent_table = table_hook(converter, AgentTable)

    def structure_agent(value: object, annotation: Any) -> AgentTable:
        if not isinstance(value, dict):
            raise Expected(f"expected a table, got {describe(value)}")
        table = {k: v for k, v in value.items() if k != "options"}
        errors: list[tuple[str, BaseException]] = []
        agent = None
        try:
            agent = structure_agent_table(table, annotation)
        except Exception as error:  # reported with the options' problems
            errors.append(("", error))
        backend = value.get("backend", "simulated")
        options = None
        if isinstance(backend, str) and backend not in BACKENDS:
            hint = did_you_mean(backend, BACKENDS)
            detail = f"unknown backend {backend!r} (known: {', '.join(BACKENDS)}){hint}"
            errors.append((".backend", Expected(detail)))
        elif isinstance(backend, str) and "options" in value:
            try:
                options = converter.structure(value["options"], BACKENDS[backend])
            except Exception as error:  # reported at .options
                errors.append((".options", error))
        elif isinstance(backend, str):
            cl = BACKENDS[backend]
            required = [a.name for a in attrs.fields(cl) if a.default is attrs.NOTHING]
            if required:
                detail = (
                    f"required table missing: [agents.options], with {', '.join(required)} "
                    f"(backend {backend!r} needs it)"
                )
                errors.append((".options", Expected(detail)))
            else:
                options = cl()  # type: ignore[call-arg]  # it has no required option
        if errors:
            raise Nested(errors)
        assert isinstance(agent, AgentTable)
        return agent if options is None else attrs.evolve(agent, options=options)

    converter.register_structure_hook(AgentTable, structure_agent)

    return converter


_CONVERTER = _make_converter()


def structure(value: object, cl: type[_T], where: str, problems: list[Problem]) -> _T | None:
    """``value`` structured as ``cl``; ``None``, with its problems added, when it is not one."""
    try:
        found: _T = _CONVERTER.structure(value, cl)
    except Exception as error:  # every error of cattrs' tree is turned into problems
        add_problems(error, where, problems, keys=_keys)
        return None
    return found


def _keys(cl: type) -> list[str]:
    names = [a.name for a in attrs.fields(cl)]
    return ["kind", *names] if cl in VALIDATORS.values() else names
