"""A starter plan with a real team for a repository, every field explained.

``starter_plan`` writes it for a repository's test command
(``guess_test_command`` guesses it from the files at the repository's top).
The simulated starter, ``STARTER_PLAN``, is in ``playbill.plans._starter_sim``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from ._starter_sim import OTHER_STRATEGIES, POLICY_KNOBS

PYTEST: tuple[str, ...] = ("python", "-m", "pytest", "-q")
"""The test command of a Python project, and the starter's when nothing else is found."""

_MARKERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pyproject.toml", PYTEST),
    ("setup.py", PYTEST),
    ("pytest.ini", PYTEST),
    ("tox.ini", PYTEST),
    ("Cargo.toml", ("cargo", "test")),
    ("go.mod", ("go", "test", "./...")),
    ("package.json", ("npm", "test")),
    ("pom.xml", ("mvn", "-q", "test")),
    ("build.gradle", ("gradle", "test")),
    ("build.gradle.kts", ("gradle", "test")),
)


def guess_test_command(repo: str | os.PathLike[str]) -> tuple[str, ...]:
    """The command that most likely runs a repository's tests.

    Looks at the files at the repository's top only (a ``pyproject.toml``
    means pytest, a ``Cargo.toml`` ``cargo test``...); a ``Makefile`` with a
    ``test:`` target comes after those. ``PYTEST`` when nothing says.

    Args:
        repo: The repository's top directory.
    """
    top = Path(repo)
    for name, argv in _MARKERS:
        if (top / name).is_file():
            return argv
    makefile = top / "Makefile"
    if makefile.is_file():
        text = makefile.read_text(encoding="utf-8", errors="replace")
        if any(line.startswith("test:") for line in text.splitlines()):
            return ("make", "test")
    return PYTEST


def _toml_array(argv: Sequence[str]) -> str:
    # JSON strings are valid TOML basic strings.
    return "[" + ", ".join(json.dumps(arg) for arg in argv) + "]"


def starter_plan(tests: Sequence[str] = PYTEST) -> str:
    """The text of a starter ``playbill.toml`` whose verifier runs ``tests``.

    Args:
        tests: The repository's test command (see ``guess_test_command``).
    """
    return _TEMPLATE.replace("@TESTS@", _toml_array(tests))


_TEMPLATE = (
    """\
# playbill.toml: a run of a team of coding agents on this repository.
#
# Check it with `playbill validate`, run it with `playbill run`. The format
# is in docs/plans.md, the backends in docs/backends.md. Paths (scopes,
# working directories) are relative to the repository and written with "/";
# a plan can never name a file outside it.
#
# Each attempt works in a git worktree of its own, never in your work tree;
# accepted work lands on the branch playbill/<run>/integration, and
# `playbill integrate RUN` fast-forwards your branch to it.

[run]
# What the run must achieve, in a sentence. Edit it: it is the agents' brief.
goal = "Fix the failing tests and document the fix"
# How steps are coordinated when a step names no strategy of its own.
# "pipeline": implement, review, verify, integrate.
"""
    + OTHER_STRATEGIES
    + """strategy = "pipeline"
# Where each attempt's git worktree lives: outside the
# repository, never under .git (agent tools refuse to edit there). This is
# the default when XDG_DATA_HOME is unset; `--worktrees DIR` overrides it.
worktrees = "~/.local/share/playbill/worktrees"
# Names of environment variables whose values are secrets, besides those with
# secret-looking names and every env_allow name: never journaled, and an
# attempt whose diff holds one fails (secret_in_diff). Names, never values.
redact = []

[run.budget]
# Limits on the whole run; leave a key out for no limit. Work that would
# start past a limit is refused; work that crosses one is cancelled.
tokens = 2000000     # tokens in and out, all agents together
cost_usd = 10.0      # US dollars
wall_s = 7200        # seconds of agent work
attempts = 12        # attempts started, over all steps
retries = 4          # retries scheduled, over all steps

[run.policy]
# The supervisor's knobs; each has a default (shown here where it is kept).
"""
    + POLICY_KNOBS
    + """[run.labels]
# Free-form labels, shown by `playbill runs`.
team = "claude+checks"

# ---------------------------------------------------------------- agents
# Each [[agents]] table is one agent: a unique id (letters, digits, ".",
# "_", "-"), the roles it plays ("planner", "executor", "reviewer",
# "verifier"), its backend, and whether it may change files. Backends:
# "claude_code", "codex", "aider", "command" (any program), "openai" (any
# OpenAI-compatible API; reads, never edits), "checks" (runs the step's
# validators), "simulated" (only for `playbill sim`). A plan whose agent
# asks its backend for a role or an edit it cannot do is refused.

[[agents]]
id = "claude"
roles = ["executor"]
backend = "claude_code"     # needs `claude` on PATH, logged in or ANTHROPIC_API_KEY
edits_files = true          # it may take steps that change files
heartbeat_timeout_s = 600   # its own stall window: it may run a long test suite
                            # in silence (run.policy's when left out)
max_restarts = 3            # crashes of it restarted within restart_window_s
restart_window_s = 60       # (counted apart from the other agents' when set)

[agents.budget]
# An agent's own limits, on top of the run's (same keys as [run.budget]).
cost_usd = 6.0

[agents.options]
# The backend's own settings (docs/backends.md lists them all).
permission_mode = "acceptEdits"   # edit without asking, inside its worktree
timeout_s = 1800                  # seconds before it is stopped
# model = "sonnet"
# env_allow = ["HTTPS_PROXY"]     # more environment variables it may see

# Another executor, any program that prints a JSON result (see
# docs/backends.md for its contract and placeholders):
#
# [[agents]]
# id = "script"
# roles = ["executor"]
# backend = "command"
# [agents.options]
# argv = ["python", "tools/agent.py", "{prompt_file}"]
# timeout_s = 600

[[agents]]
id = "reviewer"
roles = ["reviewer"]
backend = "claude_code"
edits_files = false         # a reviewer only reads the attempt's worktree

[agents.options]
max_turns = 20

# A reviewer on any OpenAI-compatible server instead:
#
# [[agents]]
# id = "reviewer"
# roles = ["reviewer"]
# backend = "openai"
# [agents.options]
# model = "gpt-4.1"
# base_url = "https://api.openai.com/v1"
# api_key_env = "OPENAI_API_KEY"     # the variable's name, never the key

[[agents]]
id = "tests"
roles = ["verifier"]
backend = "checks"          # runs each step's validators in the attempt's worktree

[agents.options]
env_allow = []              # environment variables the test commands may see

# ----------------------------------------------------------------- steps
# Each [[steps]] table is one step: a unique id, its goal, the role that
# does it (default "executor"), the steps it waits for (depends_on), the
# files it may change (scope: globs; empty means read-only), and what must
# pass before it completes (validators). A change outside the scope fails
# the attempt. Steps whose scopes overlap never run at the same time.

[[steps]]
id = "fix"
goal = "Find why the test suite fails and fix the code (not the tests)"
role = "executor"           # who does it (the default)
scope = ["src/**", "lib/**", "*.py"]
max_attempts = 3            # this step's own limit (default: the policy's)
on_exhausted = "escalate"   # once out of attempts (default: the policy's); or
# "decompose", with decompose_into = "FRAGMENT.toml": [[steps]] that replace it

[steps.budget]
# this step's own limits over all its work (tokens, cost_usd, wall_s);
# when one runs out the step is out of attempts (see on_exhausted)
cost_usd = 5.00

[[steps.validators]]
# kinds: "tests_pass", "command_passes", "build_passes", "file_changed",
# "artifact_exists", "human_approval". The verifier runs them.
kind = "tests_pass"
argv = @TESTS@
cwd = "."                   # where it runs, inside the attempt's worktree
timeout_s = 900
min_passed = 1

[[steps]]
id = "docs"
goal = "Describe the fix in the README, in a short paragraph"
depends_on = ["fix"]
scope = ["README.md", "docs/**"]

[[steps.validators]]
kind = "file_changed"
path = "README.md"

# -------------------------------------------------------------- criteria
# What must hold when the run is over. A criterion with a validator is met
# by a completed step with that very validator; otherwise a person is asked.

[[criteria]]
id = "suite-green"
description = "The whole test suite passes"

[criteria.validator]
# The very validator of the "fix" step: met when that step completes.
kind = "tests_pass"
argv = @TESTS@
cwd = "."
timeout_s = 900
min_passed = 1
"""
)
