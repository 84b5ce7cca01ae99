"""The commands that read run state: ``runs``, ``status``, ``replay`` and ``retry-plan``.

They open the journal with ``create=False``: reading never creates a file.
``runs`` and ``status`` load state from the latest snapshot plus the tail;
``replay`` trusts nothing but the entries and folds from seq 1.
"""

from __future__ import annotations

from typing import final

import click
import msgspec

from playbill.runtime import (
    Divergence,
    Entry,
    RunState,
    check_replay,
    render_retry_plan,
    retry_plan,
)

from ._app import EXIT_MISMATCH, Settings, make_console, pass_settings, run_async, say
from ._escape import printable
from ._load import opened_journal, read_chunks, require_run, state_at
from ._render import RunRow, print_state, run_row, runs_table
from ._state_doc import StatusDoc, status_doc


@final
class ReplayDoc(msgspec.Struct, frozen=True, kw_only=True):
    """``replay --json``: the rebuilt state, and whether ``--check`` found it reproduced.

    Attributes:
        state: The state, as ``status --json`` prints it.
        replay_check: True when ``--check`` ran and the policy reproduced every
            recorded command; None without ``--check`` (a divergence exits 3).
    """

    state: StatusDoc
    replay_check: bool | None


def _warn(message: str) -> None:
    say(make_console(stderr=True), f"playbill: warning: {message}")


async def load_rows(settings: Settings) -> list[RunRow]:
    """A ``runs`` row for every run in the journal, oldest first."""
    async with opened_journal(settings.journal, create=False, read_only=True) as journal:
        rows = []
        for info in await journal.list_runs():
            state = await state_at(journal, info.run_id, info.last_seq, warn=_warn)
            rows.append(run_row(state))
        return rows


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run per line.")
@pass_settings
def runs(settings: Settings, as_json: bool) -> None:
    """List the runs in the journal, oldest first.

    The table shows each run's id, status, creation time (UTC), steps done
    out of planned, tokens and cost. With --json, each line is one object with
    the keys run_id, status, goal, created, created_us, updated_us, last_seq,
    steps_done, steps_total, tokens, cost_usd and anomalies.
    """
    rows = run_async(load_rows, settings)
    if as_json:
        encoder = msgspec.json.Encoder()
        for row in rows:
            click.echo(encoder.encode(row))
        return
    console = make_console()
    if not rows:
        say(console, f"No runs in {settings.journal}.")
        return
    console.print(runs_table(rows))


async def load_state(settings: Settings, run_id: str, until: int | None, full: bool) -> RunState:
    """A run's state at ``until`` (its last entry if None).

    Args:
        settings: The global options.
        run_id: The run.
        until: The last seq to fold in.
        full: Fold every entry from seq 1, ignoring snapshots.

    Raises:
        UnknownRunError: The run is not in the journal.
        click.BadParameter: ``until`` is past the run's last entry.
    """
    async with opened_journal(settings.journal, create=False, read_only=True) as journal:
        last = await require_run(journal, run_id, settings.journal)
        if until is not None and until > last:
            raise click.BadParameter(
                f"seq {until} is past the last entry of run {run_id!r} (seq {last})",
                param_hint="'--until'",
            )
        seq = last if until is None else until
        return await state_at(journal, run_id, seq, snapshots=not full, warn=_warn)


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option("--json", "as_json", is_flag=True, help="Print the state as one JSON object.")
@pass_settings
def status(settings: Settings, run_id: str, as_json: bool) -> None:
    """Summarise a run's state: goal, status, budget, steps, agents and more.

    The state comes from the latest snapshot plus the entries after it. The
    last line is `state-digest: <hex>`, a hash of the whole state. With
    --json, one object (its keys are in docs/cli.md), state_digest included.
    `playbill show RUN` adds every failure's reason in full.
    """
    state = run_async(load_state, settings, run_id, None, False)
    if as_json:
        click.echo(msgspec.json.encode(status_doc(state)))
        return
    print_state(make_console(), state)


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option(
    "--until",
    type=click.IntRange(min=1),
    metavar="SEQ",
    help="Fold entries up to and including this seq only.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Re-run the policy over the journal; exit 3 at the first divergence.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the state as one JSON object.")
@pass_settings
def replay(settings: Settings, run_id: str, until: int | None, check: bool, as_json: bool) -> None:
    """Rebuild a run's state from its entries alone and print it.

    No snapshot is used: every entry from seq 1 is verified and folded. The
    last line is exactly `state-digest: <hex>`; compare it with `status` to
    check the snapshots, or across machines to check determinism.

    With --check, the current policy is also run on every entry and what it
    decides is compared with the commands the journal recorded: a difference
    (nondeterminism, or a policy change incompatible with this run) is printed
    with its seq and both commands, and the exit status is 3.

    With --json, the state as `status --json` prints it, plus replay_check:
    true when --check found the policy reproduces every command, else null.
    """
    if check:
        divergence = run_async(check_run, settings, run_id, until)
        if divergence is not None:
            click.echo(printable(divergence.describe()), err=True)
            raise SystemExit(EXIT_MISMATCH)
    state = run_async(load_state, settings, run_id, until, True)
    if as_json:
        doc = ReplayDoc(state=status_doc(state), replay_check=True if check else None)
        click.echo(msgspec.json.encode(doc))
        return
    print_state(make_console(), state)
    if check:
        say(make_console(), "replay-check: the policy reproduces every recorded command")


async def check_run(settings: Settings, run_id: str, until: int | None) -> Divergence | None:
    """The first divergence between the current policy and the run's recorded commands."""
    async with opened_journal(settings.journal, create=False, read_only=True) as journal:
        last = await require_run(journal, run_id, settings.journal)
        stop = last + 1 if until is None else min(until, last) + 1
        entries: list[Entry] = []
        async for chunk in read_chunks(journal, run_id, 1, stop):
            entries.extend(chunk)
        return check_replay(entries)


@click.command("retry-plan")
@click.argument("run_id", metavar="RUN")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as one JSON object.")
@pass_settings
def retry_plan_command(settings: Settings, run_id: str, as_json: bool) -> None:
    """Print what resuming a run would do, computed from its journal alone.

    Why it would resume, what is invalidated, what proof is reusable, from
    which stage each step goes on, which agents change, and which human
    inputs block it. Deterministic: the same journal gives the same plan.
    A run that completed, failed or was cancelled cannot be resumed: the plan
    says so, and what can be done instead. With --json, one object with
    every key, empty sections included.
    """
    state = run_async(load_state, settings, run_id, None, False)
    plan = retry_plan(state)
    if as_json:
        # every key, empty sections included: the plan's values omit their defaults
        click.echo(msgspec.json.encode(msgspec.structs.asdict(plan)))
        return
    say(make_console(), render_retry_plan(plan))
