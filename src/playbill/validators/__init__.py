"""Validators run for real: commands, test suites, changed files and artifacts.

The kernel describes validators as values (``playbill.runtime.CommandPasses``,
``TestsPass``...). This package runs them against an attempt's worktree:
``run_validators(validators, ctx)`` returns one ``ValidationResult`` per
validator, and ``ValidationResult.to_message`` makes the
``validation_passed``/``validation_failed`` message to journal.

Commands run with argv lists (a shell only when ``CommandPasses.shell`` says
so), in a working directory confined to the worktree, with an allowlisted
environment (``command_env``), no stdin, and a timeout that kills their whole
process group. They never outlive the runner: a guard kills their group if
it dies, and each is reported as it starts (``ValidationContext.on_start``)
for the run to journal. Their output is merged, redacted and cut to its end.
``human_approval`` validators are not run: a person decides them
(``human_gates``).
"""

from __future__ import annotations

from ._context import ENV_ALLOWLIST as ENV_ALLOWLIST
from ._context import ProcessHook as ProcessHook
from ._context import ValidationContext as ValidationContext
from ._context import command_env as command_env
from ._result import ValidationResult as ValidationResult
from ._result import human_gates as human_gates
from ._result import label as label
from ._result import needs_human as needs_human
from ._run import run_validator as run_validator
from ._run import run_validators as run_validators

__all__ = [
    "ENV_ALLOWLIST",
    "ProcessHook",
    "ValidationContext",
    "ValidationResult",
    "command_env",
    "human_gates",
    "label",
    "needs_human",
    "run_validator",
    "run_validators",
]
