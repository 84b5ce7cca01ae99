"""``playbill doctor``: is every agent of a plan ready to work here?

For each agent of the plan (or, given none, the three coding-agent CLIs
with their defaults): its program and release, the environment variables
it needs (by name: values are never printed), its credential and whether
its endpoint answers (see ``playbill.backends._doctor``). A table, or with
``--json`` one JSON object; then one line per problem on stderr. Exit
status 0 when every agent is ready, 1 when one is not, 2 for bad input (a
missing or invalid plan), as everywhere. It never touches the journal.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click
import msgspec
from rich import box
from rich.table import Table
from rich.text import Text

from playbill.backends import (
    ENDPOINT_TIMEOUT_S,
    AgentBackend,
    Diagnosis,
    aider,
    claude_code,
    codex,
    diagnose_all,
)
from playbill.plans import SimulatedOptions, load_plan, make_backend

from ._app import make_console, run_async, say
from ._cmd_plans import plan_path

EXIT_NOT_READY = 1
"""``doctor``: an agent is not ready to work."""

PRESETS = ("claude_code", "codex", "aider")
"""The agents ``doctor`` checks when given no plan: the presets, with their defaults."""


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """What ``doctor --json`` prints.

    Attributes:
        plan: The plan file checked; ``None`` for the presets.
        ready: Every agent is ready.
        agents: Each agent's diagnosis, in the plan's order.
        problems: Every problem, one line each, naming its agent.
    """

    plan: str | None
    ready: bool
    agents: tuple[Diagnosis, ...]
    problems: tuple[str, ...]


def problem_lines(found: Sequence[Diagnosis]) -> list[str]:
    """One line per problem, each naming its agent and backend."""
    return [f"agent {d.agent!r} ({d.backend}): {p}" for d in found for p in d.problems]


def _presets() -> list[tuple[str, AgentBackend]]:
    return [("claude_code", claude_code()), ("codex", codex()), ("aider", aider())]


def _simulated(agent: str) -> Diagnosis:
    note = "simulated: plays only under `playbill sim`; nothing to check"
    return Diagnosis(agent=agent, backend="simulated", ready=True, notes=(note,))


def _program(d: Diagnosis) -> Text:
    if d.executable is None:
        return Text("-", style="dim")
    if d.path is None:
        return Text(f"{d.executable}: missing", style="red")
    return Text(d.path)


def _release(d: Diagnosis) -> Text:
    if d.supported is None:
        return Text("-", style="dim")
    if d.version is None:
        return Text("unknown", style="red")
    if not d.in_range:
        return Text(f"{d.version} (unsupported)", style="red")
    return Text(d.version)


def _credential(d: Diagnosis) -> Text:
    if d.credential is not None:
        return Text(d.credential)
    if not d.keys:
        return Text("-", style="dim")
    return Text("missing", style="red")


def _endpoint(d: Diagnosis) -> Text:
    e = d.endpoint
    if e is None:
        return Text("-", style="dim")
    if e.answers:
        return Text(f"{e.url}: HTTP {e.status}")
    return Text(f"{e.url}: no answer", style="red")


def report_table(found: Sequence[Diagnosis]) -> Table:
    """The diagnoses as a table: program, release, credential, endpoint, ready."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    for column in ("agent", "backend", "program", "release", "credential", "endpoint", "ready"):
        table.add_column(column, overflow="fold")  # paths and URLs stay whole
    for d in found:
        table.add_row(
            Text(d.agent),
            Text(d.backend),
            _program(d),
            _release(d),
            _credential(d),
            _endpoint(d),
            Text("ready", style="green") if d.ready else Text("no", style="red"),
        )
    return table


@click.command()
@click.argument("plan", type=click.Path(path_type=Path), required=False, metavar="[PLAN]")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0, min_open=True),
    default=ENDPOINT_TIMEOUT_S,
    show_default=True,
    help="Seconds each endpoint has to answer.",
)
@click.pass_context
def doctor(ctx: click.Context, plan: Path | None, as_json: bool, timeout_s: float) -> None:
    """Check that every agent of PLAN is ready to work here.

    For each agent: is its program installed, at a release its backend
    supports; which environment variables it needs, and is its credential
    set (values are never printed) or a login stored; does its endpoint
    answer (one short request, without credentials; any HTTP answer
    counts). With no PLAN, the coding-agent CLIs claude_code, codex and
    aider with their defaults. PLAN may be a directory holding a
    playbill.toml. Exit status: 0 all ready, 1 one line per problem on
    stderr, 2 bad input.
    """
    chosen: list[tuple[str, AgentBackend | None]]
    if plan is None:
        chosen, base, source = list(_presets()), Path.cwd(), None
    else:
        path = plan_path(plan)
        loaded = load_plan(path)
        base, source = path.resolve().parent, str(path)
        chosen = [
            (a.id, None if isinstance(a.options, SimulatedOptions) else make_backend(a))
            for a in loaded.agents
        ]
    real = [(agent, backend) for agent, backend in chosen if backend is not None]

    async def check() -> list[Diagnosis]:
        return await diagnose_all(real, base=base, timeout_s=timeout_s)

    by_agent = {d.agent: d for d in run_async(check)}
    found = [by_agent.get(agent) or _simulated(agent) for agent, _ in chosen]
    problems = problem_lines(found)
    if as_json:
        report = Report(
            plan=source, ready=not problems, agents=tuple(found), problems=tuple(problems)
        )
        click.echo(msgspec.json.encode(report))
    else:
        console = make_console()
        if source is None:
            say(console, f"No plan given: the presets {', '.join(PRESETS)}, with their defaults.")
        else:
            say(console, f"{source}: {len(found)} agent(s)")
        console.print(report_table(found))
        for d in found:
            for note in d.notes:
                say(console, f"note: agent {d.agent!r} ({d.backend}): {note}")
        ready = sum(1 for d in found if d.ready)
        say(console, f"{ready} of {len(found)} agent(s) ready")
    if problems:
        err = make_console(stderr=True)
        for line in problems:
            say(err, f"playbill: {line}")
        ctx.exit(EXIT_NOT_READY)
