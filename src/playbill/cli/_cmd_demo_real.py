"""``playbill demo``: a scripted team fixes a small project in a real git repository.

The command makes a repository of the bundled ``textkit`` project (failing
tests included) in a temporary directory, runs the demo's team on it (see
``playbill.demo``) into the usual journal, and prints the summary, the merge
report, where the repository and the journal are, and what to try next. On
a terminal the run is shown live (``LiveView``); otherwise each milestone
gets a plain line. SIGINT (Ctrl-C) or SIGTERM stops its agents and exits
130 or 143 (see ``_signals``).
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.live import Live

from playbill._run import Run
from playbill.demo import (
    DemoResult,
    create_demo_repository,
    require_pytest,
    run_demo,
)
from playbill.runtime import (
    Entry,
    PlanAttached,
    ReviewGiven,
    RunState,
    StepAssigned,
    StepCompleted,
    StepFailed,
    ValidationFailed,
    ValidationPassed,
    WorkspaceMerged,
)

from ._app import CommandFailed, Settings, make_console, playbill_command, run_async, say
from ._demo import next_demo_run_id
from ._format import clip, format_cost, format_failure, format_seconds, format_tokens
from ._live import LiveView
from ._load import make_journal_dir, opened_journal
from ._render import steps_table
from ._signals import stop_on_signals, stop_signals

REFRESH_S: Final = 0.1
"""The live display redraws at most this often (and once more at the end)."""


def run_real_demo(
    settings: Settings, parent: Path | None = None, worktrees: Path | None = None
) -> DemoResult:
    """Make the demo repository, run the team on it, and report (see the module).

    Args:
        settings: The global options (the journal).
        parent: Where to make the repository; the system's temporary directory by default.
        worktrees: Where the attempts' worktrees live; ``default_worktrees()`` by default.

    Returns:
        How the run went.

    Raises:
        PytestMissing: This interpreter cannot import pytest.
        DemoRepositoryError: git is missing or failed.
        CommandFailed: The run did not complete.
    """
    require_pytest()
    run_id = run_async(free_demo_id, settings)
    repo = create_demo_repository(parent)
    console = make_console()
    say(console, f"Made a git repository of the textkit project, failing tests and all: {repo}")
    say(console, f"Running {run_id}: a planner, two executors, a reviewer and a pytest verifier.")
    say(console, "")
    result = _run_shown(settings, run_id, repo, console, worktrees)
    _report(settings, result, console)
    if not result.completed:
        state = result.state
        why = f": {state.reason}" if state.reason else ""
        raise CommandFailed(f"the demo run {run_id} ended {state.status}{why}")
    return result


async def free_demo_id(settings: Settings) -> str:
    """The first ``demo-NNNN`` id the settings' journal does not hold (made if missing)."""
    await make_journal_dir(settings.journal)
    async with opened_journal(settings.journal, create=True) as journal:
        taken = {info.run_id for info in await journal.list_runs()}
        return next_demo_run_id(taken)


def _run_shown(
    settings: Settings, run_id: str, repo: Path, console: Console, worktrees: Path | None
) -> DemoResult:
    """Run the demo, live on a terminal, one line per milestone otherwise."""
    view = LiveView()
    live = Live(view.renderable(), console=console, auto_refresh=False, transient=False)
    shown = [0.0]

    def on_terminal(entries: Sequence[Entry]) -> None:
        for entry in entries:
            view.add(entry)
        now = time.monotonic()
        if now - shown[0] >= REFRESH_S or view.state.is_terminal:
            shown[0] = now
            live.update(view.renderable(), refresh=True)

    def plain(entries: Sequence[Entry]) -> None:
        for entry in entries:
            line = milestone(entry)
            if line is not None:
                say(console, line)

    async def go() -> DemoResult:
        async with opened_journal(settings.journal, create=True) as journal:
            observe = on_terminal if console.is_terminal else plain
            with stop_signals() as signals:

                async def wait(run: Run) -> RunState:
                    then = "start a new one with `playbill demo`"
                    return await stop_on_signals(signals, run, run.wait, then)

                return await run_demo(
                    journal, run_id, repo, observe=observe, wait=wait, worktrees=worktrees
                )

    if not console.is_terminal:
        return run_async(go)
    live.start()
    try:
        return run_async(go)
    finally:
        live.update(view.renderable(), refresh=True)
        live.stop()


def milestone(entry: Entry) -> str | None:
    """One plain line for an entry worth a line in the demo's plain output, else ``None``."""
    match entry.msg:
        case PlanAttached(plan=plan):
            ids = ", ".join(s.id for s in plan.steps)
            return f"  plan        {len(plan.steps)} step(s): {ids}"
        case StepAssigned(step=step, attempt=n, agent=agent, feedback=feedback) if n > 1:
            fed = f" with feedback {feedback.failure_class}/{feedback.kind}" if feedback else ""
            return f"  retry       {step} #{n} -> {agent}{fed}"
        case ReviewGiven(step=step, attempt=n, verdict=verdict):
            return f"  review      {step} #{n}: {verdict}"
        case ValidationPassed(step=step, attempt=n, validator=name):
            return f"  verified    {step} #{n}: {name} passed"
        case ValidationFailed(step=step, attempt=n, validator=name):
            return f"  verified    {step} #{n}: {name} FAILED"
        case StepFailed(step=step, attempt=n, failure=failure):
            return f"  failed      {step} #{n}: {clip(format_failure(failure), 90)}"
        case WorkspaceMerged(step=step, attempt=n, status=status, commit=commit):
            short = f" {commit[:12]}" if commit else ""
            return f"  integrated  {step} #{n}: {status}{short}"
        case StepCompleted(step=step, attempt=n):
            return f"  done        {step} #{n}"
        case _:
            return None


def _report(settings: Settings, result: DemoResult, console: Console) -> None:
    state = result.state
    say(console, "")
    if not console.is_terminal:  # a terminal still shows the live display's last frame
        console.print(steps_table(state))
        say(console, "")
    elapsed = (state.updated_us - state.created_us) / 1_000_000
    say(
        console,
        f"{result.run_id} {state.status}: {state.steps_done()}/{len(state.steps)} steps done, "
        f"{state.attempts} attempts ({state.retries} retries), "
        f"{result.entries} entries, {format_seconds(elapsed)}",
    )
    say(
        console,
        f"tokens {format_tokens(state.usage.tokens)}, cost {format_cost(state.usage.cost_usd)} "
        "(the script's figures: the agents are scripted, no model was called)",
    )
    say(console, "")
    say(console, result.merges.render())
    say(console, "")
    repo = shlex.quote(str(result.repo))
    branch = result.branch
    say(console, f"Repository: {result.repo}")
    say(console, f"  main is as it was; the accepted work is on {branch}")
    say(console, f"Journal: {settings.where}  run: {result.run_id}")
    say(console, "")
    prefix = playbill_command()
    if not settings.is_default_journal:
        prefix += f" --journal {shlex.quote(str(settings.journal))}"
    python = shlex.quote(sys.executable)
    say(console, "Try next:")
    for command in (
        f"{prefix} events {result.run_id}",
        f"{prefix} replay {result.run_id} --check",
        f"cd {repo} && git log --oneline main..{branch}",
        f"cd {repo} && git switch {branch} && {python} -m pytest -q",
    ):
        say(console, f"  {command}")
