"""The ``playbill`` console script: the command group with every command attached.

Each command is attached by name, module and summary, and its module (with
whatever it imports: the actors, the plans, the sweeps) loads only when the
command runs: ``playbill --help`` imports little more than click.
"""

from __future__ import annotations

from ._app import LazyCommand, cli

_COMMANDS = {
    "init": LazyCommand(
        "._cmd_plans", "init", "Write a starter plan file, playbill.toml, for the repository here."
    ),
    "validate": LazyCommand(
        "._cmd_plans", "validate", "Check a plan file (default: playbill.toml) and summarise it."
    ),
    "doctor": LazyCommand(
        "._cmd_doctor", "doctor", "Check that every agent of PLAN is ready to work here."
    ),
    "run": LazyCommand(
        "._cmd_run",
        "run",
        "Run a plan (default: playbill.toml at the repository's top) with real agents.",
    ),
    "integrate": LazyCommand(
        "._cmd_run",
        "integrate",
        "Fast-forward your branch to a completed run's integration branch.",
    ),
    "demo": LazyCommand(
        "._cmd_sim",
        "demo",
        "Watch a team of agents fix a small Python project in a real git repository.",
    ),
    "sim": LazyCommand(
        "._cmd_sim", "sim", "Run one seeded simulated run into the journal and print its summary."
    ),
    "sweep": LazyCommand(
        "._cmd_sweep",
        "sweep",
        "Simulate a run per seed, strategy and profile; summarise, plot and report.",
    ),
    "pause": LazyCommand(
        "._cmd_control", "pause", "Pause a run: no new work starts; work in flight finishes."
    ),
    "resume": LazyCommand(
        "._cmd_control",
        "resume",
        "Resume a run: ask its live process to, or continue it here from its journal.",
    ),
    "cancel": LazyCommand(
        "._cmd_control", "cancel", "Cancel a run for good: work in flight is cancelled."
    ),
    "approve": LazyCommand(
        "._cmd_control",
        "approve",
        "Approve what a step waits for (a human_approval validator, an escalation).",
    ),
    "reject": LazyCommand(
        "._cmd_control", "reject", "Reject what a step waits for; the step fails with your reason."
    ),
    "skip": LazyCommand(
        "._cmd_decide",
        "skip",
        "Skip a step: its work stops, and the steps after it go on without it.",
    ),
    "change-agent": LazyCommand(
        "._cmd_decide", "change_agent", "Give a step to another agent of the plan."
    ),
    "change-validator": LazyCommand(
        "._cmd_decide",
        "change_validator",
        "Replace a step's validators by one; a step waiting for a decision is retried at once.",
    ),
    "decompose": LazyCommand(
        "._cmd_decide", "decompose", "Replace a step by the steps of a plan fragment."
    ),
    "runs": LazyCommand("._cmd_read", "runs", "List the runs in the journal, oldest first."),
    "status": LazyCommand(
        "._cmd_read",
        "status",
        "Summarise a run's state: goal, status, budget, steps, agents and more.",
    ),
    "show": LazyCommand(
        "._cmd_show", "show", "Explain a run, a step or one attempt of a step, nothing cut."
    ),
    "events": LazyCommand(
        "._cmd_events", "events", "Print a run's entries in seq order, one per line."
    ),
    "replay": LazyCommand(
        "._cmd_read", "replay", "Rebuild a run's state from its entries alone and print it."
    ),
    "retry-plan": LazyCommand(
        "._cmd_read",
        "retry_plan_command",
        "Print what resuming a run would do, computed from its journal alone.",
    ),
    "export": LazyCommand(
        "._cmd_transfer",
        "export",
        "Write a run to a file as JSON Lines: one entry per line, in seq order.",
    ),
    "import": LazyCommand(
        "._cmd_transfer",
        "import_",
        "Store a run from a JSON Lines file (as written by `playbill export`).",
    ),
    "trace": LazyCommand(
        "._cmd_trace",
        "trace",
        "Write a run's trace, built from its journal, to a file or an OTLP collector.",
    ),
    "ui": LazyCommand(
        "._cmd_ui", "ui", "Serve a live web view of the journal's runs, until Ctrl-C."
    ),
    "report": LazyCommand(
        "._cmd_ui",
        "report",
        "Write a run's page, history and attempts as one self-contained HTML file.",
    ),
    "migrate": LazyCommand(
        "._cmd_migrate",
        "migrate",
        "Create or upgrade the journal's schema (a SQLite file or postgresql://...).",
    ),
}
"""Every command of ``playbill``: where it is defined, and its help's first paragraph."""

for _name, _command in _COMMANDS.items():
    cli.add_lazy_command(_name, _command)


def main() -> None:
    """Run the ``playbill`` command line (the console script's entry point)."""
    cli(prog_name="playbill")
