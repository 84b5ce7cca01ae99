"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package lists where each public name lives; the name's module is imported
the first time the name is read, and the value is then kept in the package's
namespace (later reads are plain attribute reads). ``dir()`` lists the names
not loaded yet too. Type checkers see the names through the package's
``if TYPE_CHECKING:`` imports, so the hooks are defined only at run time:
a misspelt name stays an error for mypy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any


def lazy_exports(
    namespace: MutableMapping[str, Any], homes: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for names loaded on first use.

    Args:
        namespace: The package's ``globals()`` (its ``__name__`` and ``__all__``
            are read from it).
        homes: For each module (relative to the package, like ``"._sync"``),
            the names it provides.

    Returns:
        ``(__getattr__, __dir__)``, to assign at the package's top level.
    """
    package: str = namespace["__name__"]
    home_of = {name: module for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = home_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *home_of})

    return __getattr__, __dir__
