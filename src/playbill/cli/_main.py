"""The ``playbill`` console script: the command group with every command attached."""

from __future__ import annotations

from ._app import cli
from ._cmd_control import approve, cancel, pause, reject, resume
from ._cmd_decide import change_agent, change_validator, decompose, skip
from ._cmd_doctor import doctor
from ._cmd_events import events
from ._cmd_migrate import migrate
from ._cmd_plans import init, validate
from ._cmd_read import replay, retry_plan_command, runs, status
from ._cmd_run import integrate, run
from ._cmd_sim import demo, sim
from ._cmd_sweep import sweep
from ._cmd_transfer import export, import_

for _command in (
    init,
    validate,
    doctor,
    run,
    integrate,
    demo,
    sim,
    sweep,
    pause,
    resume,
    cancel,
    approve,
    reject,
    skip,
    change_agent,
    change_validator,
    decompose,
    runs,
    status,
    events,
    replay,
    retry_plan_command,
    export,
    import_,
    migrate,
):
    cli.add_command(_command)


def main() -> None:
    """Run the ``playbill`` command line (the console script's entry point)."""
    cli(prog_name="playbill")
