"""The actors of a run: one role actor per agent, and the integrator.

A role actor takes the commands addressed to its agent and does the work
with the agent's backend, in a worktree of the run's ``Workbench``; the
integrator applies accepted attempts onto the run's integration branch. The
run's entry point (``playbill.open_run``) wires them to the kernel.

May import :mod:`playbill.runtime`, :mod:`playbill.backends`,
:mod:`playbill.validators`, :mod:`playbill.workspaces` and playbill's
top-level helper modules; nothing here imports the run or the simulation.
"""

from __future__ import annotations

from ._integrator import ADDRESS as INTEGRATOR_ADDRESS
from ._integrator import IntegratorActor
from ._role import RoleActor
from ._workbench import BASE_LABEL, REPO_LABEL, WORKTREES_LABEL, Workbench

__all__ = [
    "BASE_LABEL",
    "INTEGRATOR_ADDRESS",
    "REPO_LABEL",
    "WORKTREES_LABEL",
    "IntegratorActor",
    "RoleActor",
    "Workbench",
]
