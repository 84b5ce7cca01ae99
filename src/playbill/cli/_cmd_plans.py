"""``playbill validate`` and ``playbill init``: check a plan file, write a starter one.

Neither touches the journal. A plan with problems is a ``PlanError``, which
the central handler (``_app``) prints one problem per line, exit status 2.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

import click

from playbill.backends import agent_env, missing_sandbox
from playbill.plans import (
    STARTER_PLAN,
    PlanFile,
    guess_test_command,
    load_plan,
    parse_plan,
    starter_plan,
)
from playbill.runtime import ROLES, Budget
from playbill.simulation import ProfileSet, load_profiles

from ._app import CommandFailed, make_console, say

PLAN_FILE = "playbill.toml"
"""The plan file's name when a command is given none (or a directory)."""

_SHOWN_IDS = 8


def plan_path(path: Path) -> Path:
    """The plan file ``path`` names: itself, or ``playbill.toml`` in it if it is a directory."""
    try:
        is_dir = path.is_dir()
    except OSError:  # a directory we cannot enter: reading the plan will say so
        is_dir = False
    return path / PLAN_FILE if is_dir else path


def _ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:_SHOWN_IDS])
    more = len(ids) - _SHOWN_IDS
    return f"{shown}, and {more} more" if more > 0 else shown


def _plural(n: int, noun: str, nouns: str | None = None) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {nouns or noun + 's'}"


def _budget(budget: Budget) -> str:
    parts = []
    if budget.tokens is not None:
        parts.append(f"{budget.tokens:,} tokens")
    if budget.cost_usd is not None:
        parts.append(f"${budget.cost_usd:,.2f}")
    if budget.wall_s is not None:
        parts.append(f"{budget.wall_s:g} s of agent work")
    if budget.attempts is not None:
        parts.append(_plural(budget.attempts, "attempt"))
    if budget.retries is not None:
        parts.append(_plural(budget.retries, "retry", "retries"))
    return ", ".join(parts) or "unlimited"


def summary(plan: PlanFile) -> list[str]:
    """What ``validate`` prints about a valid plan: one line per topic."""
    spec = plan.to_run_spec()
    steps, agents = spec.plan.steps, spec.plan.agents
    mutating = sum(1 for s in steps if s.scope)
    validated = sum(1 for s in steps if s.validators)
    roles = []
    for role in ROLES:
        doing = sum(1 for s in steps if s.role == role)
        playing = sum(1 for a in agents if role in a.roles)
        if doing or playing:
            roles.append(f"{role} {_plural(doing, 'step')}/{_plural(playing, 'agent')}")
    criteria = spec.plan.criteria
    policy = spec.policy
    return [
        f"goal:      {spec.goal}",
        f"strategy:  {spec.strategy}",
        f"steps:     {len(steps)} ({_ids([s.id for s in steps])}); "
        f"{mutating} change files, {validated} with validators",
        f"agents:    {len(agents)} ({_ids([a.id for a in agents])})",
        f"roles:     {', '.join(roles)}",
        f"criteria:  {len(criteria)}"
        + (f" ({_ids([c.id for c in criteria])})" if criteria else ""),
        f"budget:    {_budget(spec.budget)}",
        f"policy:    heartbeat within {policy.heartbeat_timeout_s:g} s, "
        f"{_plural(policy.max_attempts, 'attempt')} per step, "
        f"on exhausted: {policy.on_exhausted}",
    ]


@click.command()
@click.argument("plan", type=click.Path(path_type=Path), default=Path(PLAN_FILE), metavar="[PLAN]")
@click.option(
    "--profile",
    "profile_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Agent profiles (TOML) simulated agents may name; the built-in profiles by default.",
)
def validate(plan: Path, profile_file: Path | None) -> None:
    """Check a plan file (default: playbill.toml) and summarise it.

    Every problem is reported at once, one per line, as FILE:PATH: what was
    expected (exit status 2); a valid plan gets a short summary (exit status
    0). PLAN may be a directory holding a playbill.toml.
    """
    profiles: ProfileSet | None = None
    if profile_file is not None:
        profiles = load_profiles(profile_file)
    path = plan_path(plan)
    loaded = load_plan(path, profiles=profiles)
    console = make_console()
    say(console, f"{path}: a valid plan")
    for line in summary(loaded):
        say(console, f"  {line}")
    for agent in loaded.agents:
        sandbox = getattr(agent.options, "sandbox", "none")
        missing = missing_sandbox(sandbox, agent_env(()).get("PATH"))
        if missing is not None:
            say(console, f"  warning: agent {agent.id!r}: {missing}; `run` will refuse it")


@click.command()
@click.argument("path", type=click.Path(path_type=Path), default=Path(PLAN_FILE), metavar="[PATH]")
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
@click.option(
    "--simulated",
    is_flag=True,
    help="Write a plan for `playbill sim` (a simulated team) instead.",
)
def init(path: Path, force: bool, simulated: bool) -> None:
    """Write a starter plan file, playbill.toml, for the repository here.

    The plan is a real team for `playbill run`: a coding-agent executor, a
    reviewer, and a verifier that runs this repository's tests (guessed from
    the files at its top: pytest, cargo test, npm test, make test...), with
    the alternatives (any command, an OpenAI-compatible server) commented.
    With --simulated, a simulated team for `playbill sim`. Comments explain
    every section and field: edit it into your own, then check it with
    `playbill validate`. An existing file is never overwritten without
    --force. PATH may name another file, or a directory to write
    playbill.toml in.
    """
    target = plan_path(path)
    text = STARTER_PLAN if simulated else starter_plan(guess_test_command(target.parent))
    try:
        with target.open("w" if force else "x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise CommandFailed(
            f"{target} already exists; nothing was written (use --force to overwrite it)"
        ) from None
    except OSError as error:
        raise CommandFailed(f"{target}: cannot write the plan: {error.strerror}") from None
    written = parse_plan(text, source=str(target))
    console = make_console()
    agents = len(written.agents)
    team = _plural(agents, "simulated agent" if simulated else "agent")
    say(
        console,
        f"Wrote {target}: a starter plan with {_plural(len(written.steps), 'step')} and {team}.",
    )
    say(console, f"Check it with: playbill validate {shlex.quote(str(target))}")
