"""A person's decisions about a step: skip, change-agent, change-validator, decompose.

Each queues a control request, as ``playbill approve`` does; the run (live,
or when it is resumed) journals it, and the policy carries it out or refuses
it with a note. A decision closes the escalation or unblock request it
answers, and the run goes on: a run that waits for a person goes on once it
is resumed (``playbill resume RUN``).
"""

from __future__ import annotations

from pathlib import Path

import click

from playbill.plans import load_fragment, parse_validator
from playbill.runtime import ControlRequest

from ._app import Settings, pass_settings, run_async
from ._cmd_control import _inspect, _post, _queued, _who


@click.command()
@click.argument("run_id", metavar="RUN")
@click.argument("step", metavar="STEP")
@click.option("--reason", default="", help="Why, for the journal.")
@pass_settings
def skip(settings: Settings, run_id: str, step: str, reason: str) -> None:
    """Skip a step: its work stops, and the steps after it go on without it."""
    request = ControlRequest(action="skip", step=step, reason=reason, by=_who())
    _queued(run_async(_post, settings, run_id, request), f"skip step {step} of", run_id)


@click.command(name="change-agent")
@click.argument("run_id", metavar="RUN")
@click.argument("step", metavar="STEP")
@click.argument("agent", metavar="AGENT")
@click.option("--reason", default="", help="Why, for the journal.")
@pass_settings
def change_agent(settings: Settings, run_id: str, step: str, agent: str, reason: str) -> None:
    """Give a step to another agent of the plan.

    A step waiting for a decision (out of attempts, blocked) is retried at
    once on AGENT; a step at work keeps its attempt, and its next one goes
    to AGENT.
    """
    request = ControlRequest(
        action="change_agent", step=step, agent=agent, reason=reason, by=_who()
    )
    what = f"give step {step} to {agent} in"
    _queued(run_async(_post, settings, run_id, request), what, run_id)


@click.command(name="change-validator")
@click.argument("run_id", metavar="RUN")
@click.argument("step", metavar="STEP")
@click.option(
    "--validator",
    "text",
    required=True,
    metavar="TABLE",
    help=(
        'The new validator, an inline TOML table: \'{kind = "tests_pass", command = ["pytest"]}\'.'
    ),
)
@click.option("--reason", default="", help="Why, for the journal.")
@pass_settings
def change_validator(settings: Settings, run_id: str, step: str, text: str, reason: str) -> None:
    """Replace a step's validators by one; a step waiting for a decision is retried at once."""
    validator = parse_validator(text)
    request = ControlRequest(
        action="change_validator", step=step, validator=validator, reason=reason, by=_who()
    )
    what = f"change the validator of step {step} of"
    _queued(run_async(_post, settings, run_id, request), what, run_id)


@click.command()
@click.argument("run_id", metavar="RUN")
@click.argument("step", metavar="STEP")
@click.option(
    "--into",
    "fragment",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A plan fragment: [[steps]] tables, as in a plan file, that replace STEP.",
)
@click.option("--reason", default="", help="Why, for the journal.")
@pass_settings
def decompose(settings: Settings, run_id: str, step: str, fragment: Path, reason: str) -> None:
    """Replace a step by the steps of a plan fragment.

    The new steps join the plan after STEP, the steps that depended on STEP
    wait for them too, and STEP is skipped.
    """
    state, _ = run_async(_inspect, settings, run_id)
    new_steps = load_fragment(fragment, known_steps=tuple(state.steps))
    request = ControlRequest(
        action="decompose", step=step, new_steps=new_steps, reason=reason, by=_who()
    )
    ids = ", ".join(s.id for s in new_steps)
    what = f"decompose step {step} into {ids} in"
    _queued(run_async(_post, settings, run_id, request), what, run_id)
