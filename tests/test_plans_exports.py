"""``playbill.plans``: a curated, documented surface, on top of the kernel and the actors."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import playbill
import playbill.plans

SRC = Path(playbill.__file__).parent


def test_the_package_is_documented() -> None:
    assert (playbill.plans.__doc__ or "").strip()


def test_all_lists_only_public_names_that_exist() -> None:
    names = playbill.plans.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert not name.startswith("_")
        assert hasattr(playbill.plans, name), name


def test_nothing_public_is_left_out_of_all() -> None:
    public = {
        name
        for name, value in vars(playbill.plans).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public <= set(playbill.plans.__all__)


def public_objects() -> list[tuple[str, object]]:
    return [
        (name, obj)
        for name in playbill.plans.__all__
        if inspect.isclass(obj := getattr(playbill.plans, name)) or inspect.isfunction(obj)
    ]


@pytest.mark.parametrize(("name", "obj"), public_objects())
def test_every_public_class_and_function_is_documented(name: str, obj: object) -> None:
    assert (inspect.getdoc(obj) or "").strip(), name
    assert obj.__module__.startswith("playbill.plans._"), (name, obj.__module__)
    if inspect.isclass(obj):
        assert obj.__doc__, f"{name} only inherits its docstring"
        for method_name, method in vars(obj).items():
            if inspect.isfunction(method) and not method_name.startswith("_"):
                assert method.__doc__, f"{name}.{method_name}"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", ["runtime", "actors"])
def test_the_kernel_and_the_actors_never_import_plans(package: str) -> None:
    for path in sorted((SRC / package).rglob("*.py")):
        assert not any(m.startswith("playbill.plans") for m in imported_modules(path)), path


def test_plans_never_import_the_cli() -> None:
    for path in sorted((SRC / "plans").rglob("*.py")):
        assert not any(m.startswith("playbill.cli") for m in imported_modules(path)), path


def test_no_module_of_plans_is_long() -> None:
    for path in sorted((SRC / "plans").rglob("*.py")):
        assert len(path.read_text().splitlines()) <= 400, path
