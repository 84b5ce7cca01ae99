"""docs/plans.md keeps up with the code: its example loads, every key is described."""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path

import attrs
import pytest

from playbill.backends import PLACEHOLDERS
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


def option_tables() -> dict[str, dict[str, tuple[str, str, str]]]:
    """Each backend's rows in the reference: key -> (type, default, meaning).

    A backend's table is the first one under a ``#####`` heading that names
    it; in a table shared by several backends, a row whose meaning starts
    with "`codex` only" is that backend's alone.
    """
    tables: dict[str, dict[str, tuple[str, str, str]]] = {}
    for section in re.split(r"^(?=#+ )", PAGE, flags=re.MULTILINE):
        heading, _, body = section.partition("\n")
        if not heading.startswith("##### "):
            continue
        named = [n for n in re.findall(r"`(\w+)`", heading.split(":")[0]) if n in BACKENDS]
        table = re.search(r"^\| Key \|.*\n\|[-|]+\|\n((?:\|.*\n)+)", body, re.MULTILINE)
        if not named or table is None:
            continue
        for line in table[1].splitlines():
            key, kind, default, meaning = re.findall(r"\| ((?:[^|`]|`[^`]*`)*?) (?=\|)", line)
            only = re.match(r"`(\w+)` only", meaning)
            for backend in named:
                if only is None or only[1] == backend:
                    tables.setdefault(backend, {})[key.strip("`")] = (kind, default, meaning)
    return tables


OPTION_TABLES = option_tables()


def test_the_reference_finds_a_table_for_every_backend() -> None:
    assert set(OPTION_TABLES) == set(BACKENDS)
    assert OPTION_TABLES["codex"]["env_key"][0] == "name"  # the cells are read right


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_each_backends_table_lists_exactly_its_options(backend: str) -> None:
    fields = {f.name for f in attrs.fields(BACKENDS[backend])}
    documented = set(OPTION_TABLES[backend])
    assert not fields - documented, f"{backend}: undocumented options"
    assert not documented - fields, f"{backend}: documented options it does not have"


def shown(value: object) -> str:
    """A default as TOML, the way the reference writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "[]" if not value else repr(list(value))
    return "{}" if value == {} else repr(value)


TYPE_WORDS: dict[object, tuple[str, ...]] = {
    bool: ("boolean",),
    int: ("integer",),
    float: ("float",),
    tuple: ("array",),
    Mapping: ("table",),
    str: ("string", "URL", "name"),
    typing.Literal: ("string",),
}
"""The words the reference may give an option's type in, by the type's base."""


def base_type(hint: object) -> object:
    """The type an option holds, without ``Annotated``, ``None`` or parameters."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        [hint] = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return typing.get_origin(hint) or hint


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_the_types_and_defaults_in_the_reference_are_the_options(backend: str) -> None:
    hints = typing.get_type_hints(BACKENDS[backend])  # Annotated stripped
    for field in attrs.fields(BACKENDS[backend]):
        kind, default, _ = OPTION_TABLES[backend][field.name]
        words = TYPE_WORDS[base_type(hints[field.name])]
        assert kind.startswith(words), (backend, field.name, kind)
        value = field.default
        if isinstance(value, attrs.Factory):  # type: ignore[arg-type]
            value = value.factory()  # type: ignore[attr-defined]
        literals = re.fullmatch(r"`[^`]*`(?:, `[^`]*`)*", default)
        if literals is not None and value is not attrs.NOTHING and value is not None:
            assert f"`{shown(value)}`" in default, (backend, field.name, default)
        if value is attrs.NOTHING:
            assert default == "required", (backend, field.name, default)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_every_option_has_its_docstring(backend: str) -> None:
    # a class documents its own options, then each base class its own
    cl = BACKENDS[backend]
    described = []
    for klass in cl.__mro__:
        doc = inspect.cleandoc(klass.__dict__.get("__doc__") or "")
        attributes = doc.partition("\nAttributes:\n")[2]
        described += re.findall(r"^    (\w+): \S", attributes, re.MULTILINE)
    assert described == [f.name for f in attrs.fields(cl)], backend
