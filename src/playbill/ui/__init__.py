"""The web view of runs (``playbill ui``) and the one-file run report (``playbill report``).

Server-rendered HTML from the journal, with a little plain script: the runs,
a run's timeline and step graph, its history (filtered, paginated, followed
live), its state at any seq, its attempts (output, diff, checks), and a
sweep. Starlette on Hypercorn's trio worker (``pip install 'playbill[ui]'``).
Read-only unless started with ``--allow-control``; bound to loopback unless
told otherwise. See docs/ui.md.

Builds on :mod:`playbill.runtime` (the journal), :mod:`playbill.actors` (a
run's repository label) and :mod:`playbill.sweeps` (a sweep's files).
"""

from __future__ import annotations

from ._report import render_report
from ._serve import is_loopback, serve_ui

__all__ = ["is_loopback", "render_report", "serve_ui"]
