"""The ``playbill`` console script: the command group with every command attached."""

from __future__ import annotations

from ._app import cli
from ._cmd_demo import demo
from ._cmd_events import events
from ._cmd_read import replay, runs, status
from ._cmd_transfer import export, import_

for _command in (demo, runs, status, events, replay, export, import_):
    cli.add_command(_command)


def main() -> None:
    """Run the ``playbill`` command line (the console script's entry point)."""
    cli(prog_name="playbill")
