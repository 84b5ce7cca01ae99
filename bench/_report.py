"""What every benchmark prints the same way: the machine, and figures with ratios."""

from __future__ import annotations

import os
import platform
import sqlite3

import msgspec
import trio


def machine() -> str:
    """One line naming the machine and the versions that matter to the figures."""
    return (
        f"cpus {os.cpu_count()}, {platform.machine()}, python {platform.python_version()}, "
        f"sqlite {sqlite3.sqlite_version}, trio {trio.__version__}, msgspec {msgspec.__version__}"
    )


def ratio_line(
    name: str, rate: float, unit: str, ratio: float | None, *, target: float | None = None
) -> str:
    """``name  rate unit  ratio x (target >= t)``, aligned."""
    text = f"  {name:<44} {rate:>12,.0f} {unit}"
    if ratio is not None:
        text += f"  ratio {ratio:.2f}"
    if target is not None:
        verdict = "met" if ratio is not None and ratio >= target else "MISSED"
        text += f" (target >= {target}: {verdict})"
    return text
