"""``playbill sim`` and ``playbill demo``: simulated runs, journaled for real.

``sim`` runs one seeded simulated run into the journal and prints its
summary. By default it runs as fast as possible on virtual time, and the same
seed gives the same journal, byte for byte. With ``--speed X`` virtual time
runs at X times real time: the live display shows the run as it goes, and
``playbill pause|resume|cancel|approve`` from another shell steer it.

``demo`` is a scripted team fixing a small project in a real git repository
(``_cmd_demo_real``); ``demo --simulated`` is a simulated multi-agent run of
the built-in example plan, shown live; ``demo --scripted`` writes the small
scripted example run instead.
"""

from __future__ import annotations

import hashlib
import math
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, final

import click
import msgspec
import trio
from rich.live import Live

from playbill._run import RunSpec
from playbill.plans import load_plan
from playbill.runtime import Entry, FaultPlan, InputError, open_journal, parse_faults
from playbill.simulation import (
    BUILTIN_PROFILES,
    ProfileSet,
    SimulationResult,
    load_profiles,
    simulate,
)
from playbill.simulation import default_run_id as sim_run_id

from ._app import Settings, make_console, pass_settings, playbill_command, run_async, say
from ._cmd_demo import show_scripted_demo
from ._cmd_demo_real import free_demo_id, run_real_demo
from ._cmd_run import WORKTREES_OPTION
from ._live import LiveView
from ._load import check_run_id, make_journal_dir, opened_journal
from ._render import print_state
from ._state_doc import StatusDoc, status_doc

DEMO_SEED = 7
"""The demo's seed: a reliable team that completes the example plan."""

DEMO_SPEED = 60.0
"""Virtual seconds per real second of the demo on a terminal (about 10 s in all)."""

_REFRESH_S = 0.1


class _Speed(click.ParamType[float]):
    """``--speed``: a finite number of virtual seconds per real second, 0 or more."""

    name = "float"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        """The speed, or a usage error naming the option (``inf`` and ``nan`` are refused)."""
        if isinstance(value, float):
            speed = value
        else:
            try:
                speed = float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(speed) or speed < 0:
            self.fail(
                f"{value!r} is not a finite number of 0 or more "
                "(virtual seconds per real second; 0 runs as fast as possible)",
                param,
                ctx,
            )
        return speed


SPEED = _Speed()
"""The ``--speed`` option's type, for ``sim`` and ``demo``."""


@click.command()
@click.option("--seed", type=int, required=True, help="Decides everything the agents do.")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A plan file (playbill.toml); the built-in example plan by default.",
)
@click.option(
    "--profile",
    "profile_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Agent profiles (TOML); the built-in profiles by default.",
)
@click.option(
    "--faults", default="", metavar="SPEC", help="Faults to inject, e.g. crash=0.05,hang=0.02."
)
@click.option("--run-id", help="The run's id (default: sim-SEED).")
@click.option(
    "--speed",
    type=SPEED,
    default=0.0,
    show_default=True,
    help="Virtual seconds per real second; 0 runs as fast as possible (reproducible).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the outcome and final state as one JSON object."
)
@pass_settings
def sim(
    settings: Settings,
    seed: int,
    plan_file: Path | None,
    profile_file: Path | None,
    faults: str,
    run_id: str | None,
    speed: float,
    as_json: bool,
) -> None:
    """Run one seeded simulated run into the journal and print its summary.

    The agents are simulated (no LLM is called), but the run is real: the
    same policy, writer, timers and actors as any run. With --speed 0 (the
    default) the same seed and options give the same journal, byte for
    byte. The fault SPEC takes crash=P, hang=P, slow=P:FACTOR, transient=P,
    journal_fail=@N (the commit after entry N fails) and kill=@N (the process
    is killed after entry N; continue it with `playbill resume RUN`).
    With --json, no live display and one object: run_id, seed, outcome,
    entries, virtual_s and state (as `status --json` prints it).
    """
    fault_plan = parse_faults(faults) if faults else FaultPlan()
    profiles, labels = _profiles(profile_file)
    spec = None
    if plan_file is not None:
        plan = load_plan(plan_file, profiles=profiles)
        profiles = plan.profile_set(profiles)
        # Who plays which profile is part of the run: `resume` rebuilds it.
        labels |= {f"profile:{agent}": name for agent, name in sorted(profiles.agents.items())}
        labels["plan"] = str(plan_file.resolve())
        spec = plan.to_run_spec(seed=seed, labels=labels)
    rid = check_run_id(run_id, "--run-id") if run_id is not None else sim_run_id(seed)
    run_async(_require_new, settings, rid)
    result = _run_simulation(
        settings, seed, rid, profiles, fault_plan, labels, speed, spec=spec, show_live=not as_json
    )
    if as_json:
        doc = SimDoc(
            run_id=result.run_id,
            seed=result.seed,
            outcome=result.outcome,
            entries=result.entries,
            virtual_s=result.virtual_s,
            state=status_doc(result.state),
        )
        click.echo(msgspec.json.encode(doc))
        return
    _report(settings, result)


@click.command()
@click.option(
    "--simulated",
    is_flag=True,
    help="Simulate a team on the built-in 10-step plan instead (no repository, no tests run).",
)
@click.option(
    "--scripted",
    is_flag=True,
    help="Write the small scripted example run instead of running one.",
)
@click.option(
    "--speed",
    type=SPEED,
    default=None,
    help=(
        f"Virtual seconds per real second of the simulated demo ({DEMO_SPEED:g} on a terminal; "
        "0: at once). Implies --simulated."
    ),
)
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Make the demo repository in this directory (default: the system's temporary one).",
)
@WORKTREES_OPTION
@pass_settings
def demo(
    settings: Settings,
    simulated: bool,
    scripted: bool,
    speed: float | None,
    parent: Path | None,
    worktrees: Path | None,
) -> None:
    """Watch a team of agents fix a small Python project in a real git repository.

    The bundled textkit project, with failing tests, is committed into a new
    repository in a temporary directory. A planner proposes the steps; two
    executors work in parallel, each attempt in a git worktree of its own; a
    reviewer reads each attempt; a verifier runs the project's tests with
    pytest in the attempt's worktree; accepted work is applied onto the
    run's integration branch. The agents are scripted (no model is called,
    nothing is random), their edits and the tests are real. Needs git and
    pytest.

    --simulated runs a simulated team through a 10-step plan instead, and
    --scripted writes a small scripted run. Everything is journaled;
    afterwards `playbill events RUN` lists it and `playbill replay RUN
    --check` replays it.
    """
    if scripted and (simulated or speed is not None or parent is not None or worktrees):
        raise click.UsageError("--scripted takes no other demo option")
    if scripted:
        show_scripted_demo(settings)
        return
    if speed is not None:
        simulated = True  # only the simulated demo has a pace
    if simulated and (parent is not None or worktrees is not None):
        option = "--dir" if parent is not None else "--worktrees"
        raise click.UsageError(
            f"{option} is for the real demo; the simulated one makes no repository"
        )
    if not simulated:
        run_real_demo(settings, parent, worktrees)
        return
    if speed is None:
        speed = DEMO_SPEED if sys.stdout.isatty() else 0.0
    run_id = run_async(free_demo_id, settings)
    profiles = ProfileSet(profiles=BUILTIN_PROFILES, default="reliable")
    result = _run_simulation(
        settings, DEMO_SEED, run_id, profiles, FaultPlan(), {"demo": "true"}, speed
    )
    _report(settings, result)


@final
class SimDoc(msgspec.Struct, frozen=True, kw_only=True):
    """``sim --json``: how the simulated run ended, and its final state.

    Attributes:
        run_id: The run.
        seed: Its seed.
        outcome: How it ended (``completed``, ``failed``, ``cancelled``...).
        entries: Entries in its journal.
        virtual_s: Virtual seconds from its first entry to its last.
        state: Its final state, as ``status --json`` prints it.
    """

    run_id: str
    seed: int
    outcome: str
    entries: int
    virtual_s: float
    state: StatusDoc


async def _require_new(settings: Settings, run_id: str) -> None:
    """Refuse, in one line, a run id the journal holds already."""
    if str(settings.journal) == ":memory:":
        return
    await make_journal_dir(settings.journal)
    async with opened_journal(settings.journal, create=True) as journal:
        if await journal.run_exists(run_id):
            raise InputError(
                "--run-id",
                "",
                f"run {run_id} already exists in {settings.where}; give another --run-id, "
                f"or continue it with `playbill resume {run_id}`",
            )


def _profiles(path: Path | None) -> tuple[ProfileSet, dict[str, str]]:
    """The profiles, and labels that let `resume` rebuild exactly the same agents."""
    if path is None:
        return ProfileSet(), {"profiles": "builtin"}
    profiles = load_profiles(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return profiles, {"profiles": str(path.resolve()), "profiles_sha256": digest}


def _run_simulation(
    settings: Settings,
    seed: int,
    run_id: str,
    profiles: ProfileSet,
    faults: FaultPlan,
    labels: dict[str, str],
    speed: float,
    *,
    resume: bool = False,
    spec: RunSpec | None = None,
    show_live: bool = True,
) -> SimulationResult:
    """Simulate into the settings' journal, live on a terminal when paced (and ``show_live``)."""
    what: dict[str, Any] = {}
    if spec is not None:
        what = {
            "plan": spec.plan,
            "goal": spec.goal,
            "budget": spec.budget,
            "policy": spec.policy,
            "strategy": spec.strategy,
        }
    trio.run(make_journal_dir, settings.journal)
    journal = open_journal(str(settings.journal), create=True)
    console = make_console()
    live_view = LiveView()
    with journal:
        if resume:
            for entry in trio.run(journal.read, run_id):
                live_view.add(entry)
        paced = speed > 0
        live = Live(live_view.renderable(), console=console, auto_refresh=False, transient=False)
        shown = [0.0]

        def observe(entries: Sequence[Entry]) -> None:
            for entry in entries:
                live_view.add(entry)
            now = time.monotonic()
            if now - shown[0] >= _REFRESH_S or live_view.state.is_terminal:
                shown[0] = now
                live.update(live_view.renderable(), refresh=True)

        show = show_live and paced and console.is_terminal
        if show:
            live.start()
        try:
            return simulate(
                seed,
                profiles=profiles,
                faults=faults,
                journal=journal,
                run_id=run_id,
                labels=labels,
                speed=speed if paced else None,
                observe=observe if show else None,
                kill_process=True,
                resume=resume,
                **what,
            )
        finally:
            if show:
                live.update(live_view.renderable(), refresh=True)
                live.stop()


def _report(settings: Settings, result: SimulationResult) -> None:
    console = make_console()
    print_state(console, result.state)
    say(
        console,
        f"outcome: {result.outcome} ({result.entries} entries, "
        f"{result.virtual_s:,.0f} virtual seconds)",
    )
    _hints(settings, result.run_id)


def _hints(settings: Settings, run_id: str) -> None:
    console = make_console()
    shown = settings.where  # a URL's password is never printed
    journal = "" if settings.is_default_journal else f" --journal {shlex.quote(shown)}"
    say(console, "")
    say(console, f"Journal: {shown}  run: {run_id}")
    say(console, "Try next:")
    for command in (f"events {run_id}", f"replay {run_id} --check", f"retry-plan {run_id}"):
        say(console, f"  {playbill_command()}{journal} {command}")
