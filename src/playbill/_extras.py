"""Optional dependencies: import one, or say in one line which extra brings it.

``pip install playbill`` is the kernel, the journal, the CLI and git
workspaces. Plots, the OpenAI-compatible backend, PostgreSQL, Ray, the web
view and tracing come with extras (``pip install 'playbill[sweeps]'``...).
``require`` imports an optional module, or raises ``MissingExtraError``,
which the CLI prints as one line.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from .runtime import PlaybillError


class MissingExtraError(PlaybillError):
    """An optional dependency is not installed.

    Attributes:
        module: The module that could not be imported.
        extra: The extra of playbill that installs it.
        purpose: What needed it (``plots``, ``the web view``...).
        hint: What else would do, appended in parentheses (``pass --no-plots``).
    """

    def __init__(self, module: str, extra: str, purpose: str, hint: str = "") -> None:
        self.module = module
        self.extra = extra
        self.purpose = purpose
        self.hint = hint
        super().__init__(
            f"{purpose} need{'s' if not purpose.endswith('s') else ''} {module}, which is not "
            f"installed: pip install 'playbill[{extra}]'" + (f" (or {hint})" if hint else "")
        )


def available(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise ``MissingExtraError`` naming ``extra``.

    Args:
        module: The module to import (``matplotlib.figure``).
        extra: The extra of playbill that installs it (``sweeps``).
        purpose: What needs it, for the message (``plots``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtraError(module.split(".")[0], extra, purpose) from error
