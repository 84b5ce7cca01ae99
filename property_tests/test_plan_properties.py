"""Plan files, by property: valid plans round-trip through TOML; junk is only ever a PlanError.

A small TOML writer renders documents either with table headers
(``[run.budget]``, ``[[steps]]``, ``[[steps.validators]]``) or with inline
tables; random valid ``Plan``s (with the run's goal, budget, policy,
strategy and labels) are rendered from their msgspec form, whose keys are the
file's keys, and must load back to the same ``RunSpec``. Random text,
random documents and valid documents with one thing changed must load or
raise ``PlanError``, never anything else.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from playbill import RunSpec
from playbill.plans import (
    ID_PATTERN,
    RESERVED_ADDRESSES,
    PlanError,
    check_plan,
    parse_plan,
)
from playbill.runtime import (
    ROLES,
    AgentSpec,
    ArtifactExists,
    Budget,
    BuildPasses,
    CommandPasses,
    Criterion,
    FileChanged,
    HumanApproval,
    Plan,
    PolicySettings,
    Role,
    StepSpec,
    TestsPass,
)

# ----------------------------------------------------------- a TOML writer


def toml_string(text: str) -> str:
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    return key if bare else toml_string(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"cannot write {value!r} as TOML")


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def render(document: dict[str, Any], *, headers: bool = True) -> str:
    """``document`` as TOML: sub-tables under headers, or inline below the top level."""
    lines: list[str] = []

    def table(path: list[str], body: dict[str, Any]) -> None:
        nested = headers or not path
        for key, value in body.items():
            if not nested or not (isinstance(value, dict) or _is_tables(value)):
                lines.append(f"{toml_key(key)} = {toml_value(value)}")
        if not nested:
            return
        for key, value in body.items():
            name = ".".join(toml_key(k) for k in [*path, key])
            if isinstance(value, dict):
                lines.append(f"[{name}]")
                table([*path, key], value)
            elif _is_tables(value):
                for item in value:
                    lines.append(f"[[{name}]]")
                    table([*path, key], item)

    table([], document)
    return "\n".join(lines) + "\n"


def _builtins(value: msgspec.Struct) -> Any:
    """The journaled (JSON) form of a value: dicts, lists and scalars, defaults left out."""
    return msgspec.json.decode(msgspec.json.encode(value))


def document_of(spec: RunSpec) -> dict[str, Any]:
    """A run spec as a plan file's document: the journaled form is the file's form."""
    run: dict[str, Any] = {"goal": spec.goal, "strategy": spec.strategy}
    run["budget"] = _builtins(spec.budget)
    run["policy"] = _builtins(spec.policy)
    if spec.labels:
        run["labels"] = dict(spec.labels)
    plan: dict[str, Any] = _builtins(spec.plan)
    return {"run": run, **plan}


# ------------------------------------------------------- valid run specs

_ID = st.from_regex(ID_PATTERN, fullmatch=True).filter(lambda s: s not in RESERVED_ADDRESSES)
_PROSE = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=20).filter(
    str.strip
)
_ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
_SEGMENT = st.from_regex(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,6}", fullmatch=True).filter(
    lambda s: s != ".git"
)
_GLOB_SEGMENT = st.one_of(_SEGMENT, st.sampled_from(["*", "**", "*.py", "a?c", "[ab]*"]))
_DIR = st.one_of(st.just("."), st.lists(_SEGMENT, min_size=1, max_size=3).map("/".join))
_GLOB = st.lists(_GLOB_SEGMENT, min_size=1, max_size=3).map("/".join)
_ARGV = st.lists(_ANY_TEXT, max_size=3).flatmap(
    lambda rest: _PROSE.map(lambda first: (first, *rest))
)
_SECONDS = st.floats(min_value=1e-3, max_value=1e6)
_TIMEOUT = st.one_of(st.integers(1, 10_000).map(float), _SECONDS)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


budgets = st.builds(
    Budget,
    tokens=_optional(st.integers(1, 10**12)),
    cost_usd=_optional(st.floats(min_value=1e-6, max_value=1e6)),
    wall_s=_optional(_SECONDS),
    attempts=_optional(st.integers(1, 1000)),
    retries=_optional(st.integers(0, 1000)),
)

checked_validators = st.one_of(
    st.builds(
        CommandPasses,
        argv=_ARGV,
        cwd=_DIR,
        timeout_s=_TIMEOUT,
        expect_exit=st.integers(0, 255),
        shell=st.booleans(),
    ),
    st.builds(TestsPass, argv=_ARGV, cwd=_DIR, timeout_s=_TIMEOUT, min_passed=st.integers(0, 99)),
    st.builds(BuildPasses, argv=_ARGV, cwd=_DIR, timeout_s=_TIMEOUT),
    st.builds(FileChanged, path=_GLOB),
    st.builds(ArtifactExists, path=_DIR.filter(lambda d: d != ".")),
    st.just(TestsPass()),
)
approvals = st.builds(HumanApproval, prompt=_ANY_TEXT)
validators = st.one_of(checked_validators, approvals)


@st.composite
def policies(draw: st.DrawFn) -> PolicySettings:
    base = draw(st.floats(min_value=0, max_value=1e4))
    return PolicySettings(
        heartbeat_timeout_s=draw(_SECONDS.map(lambda s: s + 20)),  # beyond any profile's beat
        backoff_base_s=base,
        backoff_multiplier=draw(st.floats(min_value=1, max_value=100)),
        backoff_max_s=base + draw(st.floats(min_value=0, max_value=1e4)),
        max_attempts=draw(st.integers(1, 50)),
        max_review_rounds=draw(st.integers(1, 50)),
        on_exhausted=draw(st.sampled_from(["abort", "escalate", "skip"])),
    )


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    """A plan every check accepts: its team can do, change and verify every step."""
    agent_ids = draw(st.lists(_ID, min_size=1, max_size=4, unique=True))
    agents = tuple(
        AgentSpec(
            id=agent_id,
            roles=tuple(
                draw(st.lists(st.sampled_from(ROLES), min_size=1, max_size=4, unique=True))
            ),
            edits_files=draw(st.booleans()),
            budget=draw(budgets),
        )
        for agent_id in agent_ids
    )
    step_ids = draw(st.lists(_ID, min_size=1, max_size=6, unique=True))
    steps = []
    for i, step_id in enumerate(step_ids):
        role: Role = draw(st.sampled_from(sorted({r for a in agents for r in a.roles})))
        players = [a for a in agents if role in a.roles]
        editors = [a for a in players if a.edits_files]
        scope = ()
        if editors and draw(st.booleans()):
            scope = tuple(draw(st.lists(_GLOB, min_size=1, max_size=3)))
        doers = editors if scope else players
        verifiers = [a.id for a in agents if "verifier" in a.roles]
        can_verify = role == "verifier" or any(v != d.id for v in verifiers for d in doers)
        kinds = validators if can_verify else approvals
        steps.append(
            StepSpec(
                id=step_id,
                goal=draw(_PROSE),
                role=role,
                depends_on=tuple(
                    draw(st.lists(st.sampled_from(step_ids[:i]), unique=True)) if i else ()
                ),
                scope=scope,
                validators=tuple(draw(st.lists(kinds, max_size=3))),
                strategy=draw(st.sampled_from([None, "pipeline"])),
                max_attempts=draw(_optional(st.integers(1, 20))),
            )
        )
    criteria = tuple(
        Criterion(id=criterion_id, description=draw(_PROSE), validator=draw(_optional(validators)))
        for criterion_id in draw(st.lists(_ID, max_size=3, unique=True))
    )
    return Plan(steps=tuple(steps), agents=agents, criteria=criteria)


run_specs = st.builds(
    RunSpec,
    goal=_PROSE,
    plan=plans(),
    budget=budgets,
    policy=policies(),
    strategy=st.just("pipeline"),
    labels=st.dictionaries(_ANY_TEXT, _ANY_TEXT, max_size=3),
)


@pytest.mark.slow
@given(run_specs, st.booleans())
def test_a_valid_plan_loads_back_as_itself(spec: RunSpec, headers: bool) -> None:
    text = render(document_of(spec), headers=headers)
    loaded = parse_plan(text, source="plan.toml")
    assert loaded.to_plan() == spec.plan
    assert loaded.to_run_spec(labels=spec.labels) == spec
    # the journaled form is byte for byte the same, floats included
    assert msgspec.json.encode(loaded.to_plan()) == msgspec.json.encode(spec.plan)
    assert check_plan(loaded) == []


# ------------------------------------------------------------------- junk

_KEYS = st.sampled_from(
    [
        "run",
        "agents",
        "steps",
        "criteria",
        "goal",
        "id",
        "roles",
        "role",
        "budget",
        "policy",
        "labels",
        "options",
        "profile",
        "backend",
        "depends_on",
        "scope",
        "validators",
        "validator",
        "kind",
        "argv",
        "cwd",
        "path",
        "tokens",
        "on_exhausted",
        "strategy",
    ]
)
_SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    _ANY_TEXT,
    st.sampled_from([*ROLES, "tests_pass", "simulated", "pipeline", "../x", "/abs", ""]),
    st.dates(),
)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(_KEYS, _ANY_TEXT), inner, max_size=4),
    )


_VALUES = st.recursive(_SCALARS, _containers, max_leaves=12)
documents = st.dictionaries(st.one_of(_KEYS, _ANY_TEXT), _VALUES, max_size=5)


def _must_load_or_say_why(text: str) -> None:
    try:
        loaded = parse_plan(text, source="junk.toml")
    except PlanError as error:
        assert error.problems
        assert all(p.detail for p in error.problems)
        assert str(error).count("\n") == len(error.problems) - 1
    else:
        assert check_plan(loaded) == []


@given(st.text())
def test_any_text_loads_or_is_a_plan_error(text: str) -> None:
    _must_load_or_say_why(text)


@given(documents, st.booleans())
def test_any_document_loads_or_is_a_plan_error(document: dict[str, Any], headers: bool) -> None:
    _must_load_or_say_why(render(document, headers=headers))


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _places(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _places(item, (*path, i))
    return found


@st.composite
def changed_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid plan's document with one value replaced, removed or added."""
    document = document_of(draw(run_specs))
    place = draw(st.sampled_from(_places(document)[1:]))
    parent: Any = document
    for part in place[:-1]:
        parent = parent[part]
    last = place[-1]
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "replace":
        parent[last] = draw(_VALUES)
    elif action == "remove":
        del parent[last]
    elif isinstance(parent[last], dict):
        parent[last][draw(st.one_of(_KEYS, _ANY_TEXT))] = draw(_VALUES)
    elif isinstance(parent[last], list):
        parent[last].append(draw(_VALUES))
    else:
        parent[last] = [parent[last], draw(_VALUES)]
    return document


@given(changed_documents(), st.booleans())
def test_a_plan_with_one_thing_changed_loads_or_is_a_plan_error(
    document: dict[str, Any], headers: bool
) -> None:
    _must_load_or_say_why(render(document, headers=headers))
