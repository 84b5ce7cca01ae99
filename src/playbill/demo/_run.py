"""The demo run: the scripted team at work on a real repository, journaled.

``run_demo`` runs the demo's plan (see ``_script``) on a repository made by
``create_demo_repository``, with a ``Workbench``: every executor attempt in
a worktree of its own, the verifier running the project's tests with pytest
there, accepted work applied onto ``playbill/<run>/integration``. The
user's ``main`` is never touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Final, final

import attrs
import trio

from playbill._run import Run, RunSpec, open_run
from playbill.actors import Workbench
from playbill.backends import AgentBackend
from playbill.runtime import (
    AgentSpec,
    Entry,
    Journal,
    PlaybillError,
    RunState,
    WorkspaceMerged,
)
from playbill.validators import command_env
from playbill.workspaces import MergeReport

from ._script import BUDGET, GOAL, POLICY, demo_backends, demo_plan

LABELS: Final = {"demo": "real"}
"""The demo run's labels (the workbench adds the repository and base commit)."""

PYTEST_CHECK_TIMEOUT_S: Final = 60.0
"""How long ``require_pytest`` waits for ``python -c "import pytest"``."""


class PytestMissing(PlaybillError):
    """The interpreter cannot import pytest, so the demo's verifier could not run the tests.

    pytest is not a dependency of playbill's core: the ``demo`` extra brings
    it (``pip install 'playbill[demo]'``), which the message says.

    Attributes:
        python: The interpreter that was asked.
        detail: What it said.
    """

    def __init__(self, python: str, detail: str) -> None:
        install = (
            "pip install 'playbill[demo]'"
            if python == sys.executable
            else f"{python} -m pip install pytest"
        )
        super().__init__(
            f"the demo runs the project's tests with pytest, and {python} cannot import it "
            f"({detail}): {install}, or try `playbill demo --simulated`"
        )
        self.python = python
        self.detail = detail


def require_pytest(python: str | None = None) -> None:
    """Check that ``python`` imports pytest in the environment validators get.

    The verifier runs ``python -m pytest`` with only the allowlisted
    environment variables (``command_env``), so that is what is checked.

    Args:
        python: The interpreter; this one (``sys.executable``) by default,
            which is the one the demo's validators run.

    Raises:
        PytestMissing: It does not.
    """
    python = python if python is not None else sys.executable
    try:
        done = subprocess.run(
            [python, "-c", "import pytest"],
            env=command_env(),
            capture_output=True,
            text=True,
            timeout=PYTEST_CHECK_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as broken:
        raise PytestMissing(python, type(broken).__name__) from broken
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise PytestMissing(python, lines[-1] if lines else f"exit status {done.returncode}")


@final
@attrs.frozen
class DemoResult:
    """How the demo run went.

    Attributes:
        run_id: The run.
        repo: The repository it worked on.
        branch: The run's integration branch (in ``repo``).
        state: The run's state when it settled.
        merges: What integration did, from the journal's ``workspace_merged``.
        entries: How many entries the run journaled.
    """

    run_id: str
    repo: Path
    branch: str
    state: RunState
    merges: MergeReport
    entries: int

    @property
    def completed(self) -> bool:
        """Whether the run completed."""
        return self.state.status == "completed"


async def run_demo(
    journal: Journal,
    run_id: str,
    repo: str | os.PathLike[str],
    *,
    observe: Callable[[Sequence[Entry]], None] | None = None,
    wait: Callable[[Run], Awaitable[RunState]] | None = None,
    worktrees: str | os.PathLike[str] | None = None,
) -> DemoResult:
    """Run the demo's team on ``repo`` into ``journal`` until it settles.

    Args:
        journal: Where the run is journaled.
        run_id: A run id the journal does not hold yet.
        repo: A repository made by ``create_demo_repository``.
        observe: Called with every committed batch of entries (a progress display).
        wait: Waits for the run to settle (``Run.wait`` by default); the CLI
            also stops it on SIGINT and SIGTERM.
        worktrees: The directory of the attempts' worktrees (see ``Workbench``);
            ``${XDG_DATA_HOME:-~/.local/share}/playbill/worktrees`` by default.

    Returns:
        The run's outcome, with the merge report.

    Raises:
        WorkspaceError: ``repo`` is not a usable repository.
        WriterConflictError: Another process writes ``run_id``.
    """
    bench = await trio.to_thread.run_sync(partial(Workbench, repo, run_id, worktrees=worktrees))
    backends = demo_backends()

    def backend_of(agent: AgentSpec) -> AgentBackend:
        return backends[agent.id]

    spec = RunSpec(goal=GOAL, plan=demo_plan(), budget=BUDGET, policy=POLICY, labels=dict(LABELS))
    async with open_run(
        journal, run_id, backend_of, spec=spec, workbench=bench, observe=observe
    ) as run:
        state = await (wait(run) if wait is not None else run.wait())
    entries = await journal.read(run_id)
    merged = [e.msg for e in entries if isinstance(e.msg, WorkspaceMerged)]
    return DemoResult(
        run_id=run_id,
        repo=bench.workspaces.repo_path,
        branch=bench.integration_branch,
        state=state,
        merges=MergeReport.from_messages(merged),
        entries=len(entries),
    )
