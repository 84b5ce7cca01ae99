"""The public surface: curated, documented, and free of private names."""

from __future__ import annotations

import importlib
import inspect
import typing

import pytest

import playbill
import playbill.actors
import playbill.backends
import playbill.lowlevel
import playbill.runtime
import playbill.simulation
import playbill.testing
import playbill.validators
import playbill.workspaces

PACKAGES = [
    "playbill",
    "playbill.lowlevel",
    "playbill.testing",
    "playbill.runtime",
    "playbill.actors",
    "playbill.backends",
    "playbill.simulation",
    "playbill.plans",
    "playbill.cli",
    "playbill.workspaces",
    "playbill.validators",
]

CURATED = [
    playbill,
    playbill.lowlevel,
    playbill.testing,
    playbill.runtime,
    playbill.actors,
    playbill.backends,
    playbill.simulation,
    playbill.workspaces,
    playbill.validators,
]


def is_type_alias(obj: object) -> bool:
    return typing.get_origin(obj) in (typing.Union, typing.Literal) or isinstance(
        obj, type(int | str)
    )


@pytest.mark.parametrize("name", PACKAGES)
def test_every_package_is_documented(name: str) -> None:
    assert (importlib.import_module(name).__doc__ or "").strip()


@pytest.mark.parametrize("package", CURATED)
def test_all_lists_only_public_names_that_exist(package: object) -> None:
    names = package.__all__  # type: ignore[attr-defined]
    assert len(names) == len(set(names))
    for name in names:
        assert not name.startswith("_") or name == "__version__"
        assert hasattr(package, name), name


@pytest.mark.parametrize("package", CURATED)
def test_nothing_public_is_left_out_of_all(package: object) -> None:
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public <= set(package.__all__)  # type: ignore[attr-defined]


def public_objects() -> list[tuple[str, object]]:
    out = []
    for package in CURATED[1:]:
        for name in package.__all__:
            obj = getattr(package, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                out.append((name, obj))
    return out


@pytest.mark.parametrize(("name", "obj"), public_objects())
def test_every_public_class_and_function_has_a_docstring(name: str, obj: object) -> None:
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{name} has no docstring"
    if inspect.isclass(obj):
        # a docstring inherited from a base class does not document the class
        assert obj.__doc__, f"{name} only inherits its docstring"


def test_public_objects_come_from_private_modules() -> None:
    """Each is defined in a ``_``-prefixed module (so only the re-exports are public)."""
    for name, obj in public_objects():
        parts = obj.__module__.split(".")
        assert parts[0] == "playbill", (name, obj.__module__)
        assert parts[-1].startswith("_"), (name, obj.__module__)


def test_type_aliases_are_exported_too() -> None:
    aliases = [n for n in playbill.runtime.__all__ if is_type_alias(getattr(playbill.runtime, n))]
    assert {"Message", "Role", "Validator", "RolePayload"} <= set(aliases)
