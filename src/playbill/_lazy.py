"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package imports its public names under ``if TYPE_CHECKING:`` (so type
checkers and readers see them, once) and calls ``lazy_exports(globals())``
at run time: the hook reads those imports from the package's own source and
imports each name's module the first time the name is read; the value is
then kept in the package's namespace (later reads are plain attribute
reads). ``dir()`` lists the names not loaded yet too. The hooks are defined
only at run time, so a misspelt name stays an error for mypy.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable, MutableMapping
from typing import Any


def lazy_exports(
    namespace: MutableMapping[str, Any],
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for names loaded on first use.

    Args:
        namespace: The package's ``globals()``: its ``__name__`` names it, and
            its source (from its loader) holds the ``if TYPE_CHECKING:``
            imports that say where each name lives.

    Returns:
        ``(__getattr__, __dir__)``, to assign at the package's top level.
    """
    package: str = namespace["__name__"]
    source = namespace["__loader__"].get_source(package)
    if source is None:  # installed without its sources
        raise ImportError(f"{package} needs its source to find its names", name=package)
    home_of = type_checking_imports(source)

    def __getattr__(name: str) -> Any:
        home = home_of.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, original = home
        value = getattr(importlib.import_module(module, package), original)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *home_of})

    return __getattr__, __dir__


def type_checking_imports(source: str) -> dict[str, tuple[str, str]]:
    """The names a module imports under ``if TYPE_CHECKING:``, each with its home.

    Returns:
        For each name bound there, ``(module, name in that module)``; the
        module is written as imported (``"._sync"`` for a relative import).
    """
    homes: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    module = "." * statement.level + (statement.module or "")
                    for alias in statement.names:
                        homes[alias.asname or alias.name] = (module, alias.name)
    return homes


def _is_type_checking(test: ast.expr) -> bool:
    """Whether ``test`` is ``TYPE_CHECKING`` (bare, or an attribute of a module)."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
