"""``playbill demo --scripted``: write the scripted demo run through the real journal writer."""

from __future__ import annotations

import shlex

import click

from playbill.runtime import Journal, RunState, WriterConflictError

from ._app import Settings, make_console, playbill_command, run_async, say
from ._demo import DemoRun, demo_run, next_demo_run_id
from ._load import make_journal_dir, opened_journal, state_at
from ._render import print_state

DEMO_SNAPSHOT_EVERY = 25
"""The demo's writer stores a snapshot every this many entries (so ``status`` uses one)."""

_MAX_TRIES = 100


async def write_demo(journal: Journal, demo: DemoRun | None = None) -> str:
    """Append the demo run to the journal under the first free ``demo-NNNN`` id.

    Each draft is appended on its own with the writer's clock set to the
    draft's scripted time, so the recorded times are the script's.

    Returns:
        The run id.
    """
    demo = demo if demo is not None else demo_run()
    taken = {info.run_id for info in await journal.list_runs()}
    now_us = demo.times_us[0]

    def clock() -> int:
        return now_us

    for _ in range(_MAX_TRIES):
        run_id = next_demo_run_id(taken)
        taken.add(run_id)
        try:
            async with journal.writer(
                run_id, clock=clock, snapshot_every=DEMO_SNAPSHOT_EVERY
            ) as writer:
                if writer.last_seq != 0:
                    continue  # another process wrote this run since we listed the runs
                for draft, at_us in zip(demo.drafts, demo.times_us, strict=True):
                    now_us = at_us
                    await writer.append([draft])
                return run_id
        except WriterConflictError:
            continue  # another process is writing this id right now
    raise click.ClickException(f"no free demo run id after {_MAX_TRIES} tries")


async def _demo(settings: Settings) -> tuple[str, RunState]:
    await make_journal_dir(settings.journal)
    async with opened_journal(settings.journal, create=True) as journal:
        run_id = await write_demo(journal)
        state = await state_at(journal, run_id, await journal.last_seq(run_id))
    return run_id, state


def show_scripted_demo(settings: Settings) -> None:
    """Write the scripted example run into the journal and summarise it.

    Five agents (a planner, two executors, a reviewer and a verifier) add CSV
    export to a small tool: a review asks for changes, the step is retried,
    two executors compete and arbitration picks one, verification passes.
    Times and the run id (demo-0001, or the next free one) are deterministic.
    """
    run_id, state = run_async(_demo, settings)
    console = make_console()
    print_state(console, state)
    console.print()
    where = f"Wrote run {run_id} ({state.last_seq} entries) to {settings.journal}."
    say(console, where)
    say(console, "Try next:")
    prefix = playbill_command()
    if not settings.is_default_journal:
        prefix += f" --journal {shlex.quote(str(settings.journal))}"
    for command in (f"events {run_id}", f"replay {run_id}", "runs"):
        say(console, f"  {prefix} {command}")
