"""The three tiers of the public API place every public name once, documented.

The tiers are ``playbill`` (what a program that embeds playbill uses),
``playbill.lowlevel`` (the kernel's machinery, for those who build on it) and
``playbill.testing`` (virtual time, faults and invariants). Checked here:

* no name and no object is exported by two tiers;
* every name in the ``__all__`` of any public module under ``playbill`` (found
  with ``pkgutil``, so a package added later is checked too) is exported by
  exactly one tier, as the same object, unless ``INTERNAL`` lists it: a
  public name added to a package fails here until it is placed;
* every name of a tier is documented: a class or function by its own
  docstring, a constant or type alias by the string literal right after its
  assignment in the module that defines it (found by following the imports
  from the tier, in the source).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

import playbill
import playbill.demo
import playbill.lowlevel
import playbill.testing

TIERS: dict[str, ModuleType] = {
    "playbill": playbill,
    "playbill.lowlevel": playbill.lowlevel,
    "playbill.testing": playbill.testing,
}
"""The tiers by module name, first tier first."""

INTERNAL = frozenset(
    {
        # The CLI's entry points: reached as the ``playbill`` command (and
        # ``python -m playbill``), not by importing them.
        "playbill.cli.cli",
        "playbill.cli.main",
        # The web view's entry points: reached as ``playbill ui`` and
        # ``playbill report``.
        "playbill.ui.is_loopback",
        "playbill.ui.render_report",
        "playbill.ui.serve_ui",
        # The whole of ``playbill.demo``: what ``playbill demo`` runs (the
        # bundled project, its scripted cast and script). A program that
        # wants a run uses the first tier.
        *(f"playbill.demo.{name}" for name in playbill.demo.__all__),
        # ``playbill.asyncio``: the first tier's ``start`` and ``resume`` (and
        # the handle they yield) for asyncio programs, under the same names in
        # a module of their own, as ``playbill.asyncio.start``.
        "playbill.asyncio.AsyncioRun",
        "playbill.asyncio.resume",
        "playbill.asyncio.start",
    }
)
"""Names in a module's ``__all__``, qualified, that no tier exports on purpose (see each group)."""

IMMUTABLE = (str, bytes, int, float, bool, type(None), tuple, frozenset)
"""Values that may be one object by accident (interned strings, small ints...)."""


def public_modules() -> list[str]:
    """Every module under ``playbill`` with no ``_``-prefixed part, tiers excluded."""
    found = []
    for info in pkgutil.walk_packages(playbill.__path__, "playbill."):
        parts = info.name.split(".")[1:]
        if info.name not in TIERS and not any(part.startswith("_") for part in parts):
            found.append(info.name)
    return sorted(found)


def exported(modules: Iterable[str]) -> dict[str, dict[str, object]]:
    """``{module: {name: value}}`` for the ``__all__`` of each module that has one."""
    out: dict[str, dict[str, object]] = {}
    for name in modules:
        module = importlib.import_module(name)
        names = getattr(module, "__all__", None)
        if names is not None:
            out[name] = {n: getattr(module, n) for n in names}
    return out


def misplaced(
    packages: Mapping[str, Mapping[str, object]],
    tiers: Mapping[str, Mapping[str, object]],
    internal: frozenset[str],
) -> list[str]:
    """Each name of a package not exported by exactly one tier, as the same object."""
    problems = []
    for package, names in packages.items():
        for name, value in names.items():
            homes = [tier for tier, exports in tiers.items() if name in exports]
            if f"{package}.{name}" in internal:
                if any(tiers[tier][name] is value for tier in homes):
                    problems.append(f"{package}.{name} is INTERNAL but exported by {homes}")
            elif len(homes) != 1:
                problems.append(f"{package}.{name} is exported by {len(homes)} tiers {homes}")
            elif tiers[homes[0]][name] is not value:
                problems.append(f"{package}.{name} is not the object {homes[0]}.{name}")
    return problems


def tier_exports() -> dict[str, dict[str, object]]:
    return {name: {n: getattr(tier, n) for n in tier.__all__} for name, tier in TIERS.items()}


def test_the_check_finds_a_public_name_left_out_of_the_tiers() -> None:
    """A name added to a package and not placed is reported (the check can fail)."""
    value = object()
    packages = {"playbill.new": {"placed": value, "forgotten": object(), "helper": object()}}
    tiers = {"playbill": {"placed": value}, "playbill.lowlevel": {}}
    internal = frozenset({"playbill.new.helper"})
    assert misplaced(packages, tiers, internal) == [
        "playbill.new.forgotten is exported by 0 tiers []"
    ]
    helper = packages["playbill.new"]["helper"]
    tiers["playbill.lowlevel"] = {"placed": value, "helper": helper, "forgotten": value}
    assert misplaced(packages, tiers, internal) == [
        "playbill.new.placed is exported by 2 tiers ['playbill', 'playbill.lowlevel']",
        "playbill.new.forgotten is not the object playbill.lowlevel.forgotten",
        "playbill.new.helper is INTERNAL but exported by ['playbill.lowlevel']",
    ]


def test_the_packages_are_found_and_checked() -> None:
    packages = exported(public_modules())
    assert {"playbill.runtime", "playbill.actors", "playbill.plans", "playbill.demo"} <= set(
        packages
    )
    assert "playbill.cli" in packages


def test_every_public_name_of_every_package_is_in_exactly_one_tier() -> None:
    assert misplaced(exported(public_modules()), tier_exports(), INTERNAL) == []


def test_internal_lists_only_names_that_a_package_exports() -> None:
    everywhere = {
        f"{package}.{name}"
        for package, names in exported(public_modules()).items()
        for name in names
    }
    assert everywhere >= INTERNAL  # no stale entry hides a future name


def test_no_name_or_object_is_in_two_tiers() -> None:
    seen_names: dict[str, str] = {}
    seen_objects: dict[int, str] = {}
    for tier, names in tier_exports().items():
        for name, value in names.items():
            assert name not in seen_names, f"{name} is in {seen_names[name]} and {tier}"
            seen_names[name] = tier
            if isinstance(value, IMMUTABLE):
                continue
            assert id(value) not in seen_objects, (
                f"{tier}.{name} is the object {seen_objects[id(value)]}"
            )
            seen_objects[id(value)] = f"{tier}.{name}"


def test_the_tiers_have_sizes_in_proportion() -> None:
    """The first tier is the largest; testing is small (a guard against dumping names)."""
    sizes = {name: len(tier.__all__) for name, tier in TIERS.items()}
    assert sizes["playbill.testing"] < 30
    assert sizes["playbill.testing"] < sizes["playbill.lowlevel"] < sizes["playbill"]


# ------------------------------------------------------------------ docstrings


@cache
def module_tree(module: str) -> tuple[Path, ast.Module]:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    path = Path(spec.origin)
    return path, ast.parse(path.read_text(), filename=str(path))


def top_level(tree: ast.Module) -> list[ast.stmt]:
    """The module's statements, with those under ``if TYPE_CHECKING:`` (and else) inlined."""
    out: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.If):
            out.extend(node.body)
            out.extend(node.orelse)
        else:
            out.append(node)
    return out


def absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    path, _ = module_tree(module)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    base = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def attribute_docstring(module: str, name: str, depth: int = 0) -> str | None:
    """The docstring after ``name``'s assignment where it is defined (following imports)."""
    assert depth < 10, (module, name)
    _, tree = module_tree(module)
    body = top_level(tree)
    for i, node in enumerate(body):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            after = body[i + 1] if i + 1 < len(body) else None
            if (
                isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                return after.value.value
            return None
    for node in body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    return attribute_docstring(absolute(module, node), alias.name, depth + 1)
    raise AssertionError(f"{name} is neither assigned nor imported in {module}")


def tier_names() -> list[tuple[str, str]]:
    return [(tier, name) for tier, module in TIERS.items() for name in module.__all__]


@pytest.mark.parametrize(("tier", "name"), tier_names())
def test_every_name_of_a_tier_is_documented(tier: str, name: str) -> None:
    value = getattr(TIERS[tier], name)
    if inspect.isclass(value):
        assert (value.__dict__.get("__doc__") or "").strip(), f"{name}: no docstring of its own"
    elif inspect.isfunction(value) or inspect.isbuiltin(value):
        assert (value.__doc__ or "").strip(), f"{name}: no docstring"
    else:
        doc = attribute_docstring(tier, name)
        assert (doc or "").strip(), f"{name}: no docstring after its assignment"
