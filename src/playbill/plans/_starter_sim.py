"""The simulated starter plan ``playbill init`` writes: small, realistic, every field explained.

Its team is simulated, so it runs under ``playbill sim`` without spending a
token; ``starter_plan`` (``playbill.plans._starter``) writes a real team.
"""

from __future__ import annotations

OTHER_STRATEGIES = """\
# Also "parallel" (no review stage), "competitive" (best of N attempts,
# arbitrated), "cooperative" (handoffs between agents), "review_loop"
# (rounds of review until approved); see docs/strategies.md.
"""
"""The starters' comment on the strategies besides the pipeline."""

POLICY_KNOBS = """\
heartbeat_timeout_s = 300   # an agent at work must send a heartbeat this often
backoff_base_s = 5          # wait before the first retry of a step
backoff_multiplier = 2      # each further retry waits this much longer
backoff_max_s = 300         # the longest wait before a retry
max_attempts = 3            # attempts per step, for steps that set none
max_review_rounds = 3       # reviews that may ask for changes before giving up
on_exhausted = "escalate"   # a step out of attempts: "abort" the run,
                            # "escalate" to a person, or "skip" the step
competitors = 2             # competitive only: attempts racing at one step
arbitration = "best_score"  # competitive only: how the winner is chosen:
                            # "first_passing", "best_score", "lowest_cost"
                            # or "reviewer_vote"

"""
"""The starters' ``[run.policy]`` keys, each with its default and a comment."""

STARTER_PLAN = (
    """\
# playbill.toml: a run of a team of coding agents, described for playbill.
#
# Check it with `playbill validate`; the whole format is in docs/plans.md.
# Paths (scopes, working directories) are relative to the repository and
# written with "/"; a plan can never name a file outside it.
# This starter's team is simulated: seeded stand-ins for real agents, so you
# can try the plan, the budgets and the policy without spending a token.

[run]
# What the run must achieve, in a sentence.
goal = "Add CSV export to the ledger tool"
# How steps are coordinated when a step names no strategy of its own.
# "pipeline": implement, review, verify, complete.
"""
    + OTHER_STRATEGIES
    + """strategy = "pipeline"
# Where each attempt's git worktree lives (`playbill run`; a simulation makes none): outside the
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
tokens = 400000      # tokens in and out, all agents together
cost_usd = 5.0       # US dollars
wall_s = 3600        # seconds of agent work
attempts = 12        # attempts started, over all steps
retries = 3          # retries scheduled, over all steps

[run.policy]
# The supervisor's knobs; each has a default (shown here).
"""
    + POLICY_KNOBS
    + """[run.labels]
# Free-form labels, shown by `playbill runs`.
team = "simulated"

# ---------------------------------------------------------------- agents
# Each [[agents]] table is one agent: a unique id (letters, digits, ".",
# "_", "-"), the roles it plays ("planner", "executor", "reviewer",
# "verifier"), what does its work (backend), and whether it may change
# files. Every step's role needs an agent; a step that changes files needs
# one that edits files; validators need a verifier other than the agent
# that did the step.

[[agents]]
id = "planner"
roles = ["planner"]
backend = "simulated"       # stand-ins; real backends: see docs/backends.md
edits_files = false         # a planner only reads
heartbeat_timeout_s = 300   # its own stall window: the longest it may show no
                            # progress (run.policy's when left out)
max_restarts = 3            # crashes of it restarted within restart_window_s
restart_window_s = 60       # (counted apart from the other agents' when set)

[agents.options]
# The backend's own settings. A simulated agent plays a profile: "default",
# "reliable", "flaky", "slow" or "perfect" (or one of a profile file).
profile = "reliable"

[[agents]]
id = "executor-1"
roles = ["executor"]
backend = "simulated"
edits_files = true

[agents.budget]
# An agent's own limits, on top of the run's (same keys as [run.budget]).
tokens = 200000

[agents.options]
profile = "default"

[[agents]]
id = "executor-2"
roles = ["executor"]
backend = "simulated"
edits_files = true

[agents.options]
profile = "flaky"

[[agents]]
id = "reviewer"
roles = ["reviewer"]
backend = "simulated"
edits_files = false

[[agents]]
id = "verifier"
roles = ["verifier"]
backend = "simulated"
edits_files = false

# ----------------------------------------------------------------- steps
# Each [[steps]] table is one step: a unique id, its goal, the role that
# does it (default "executor"), the steps it waits for (depends_on), the
# files it may change (scope: globs; empty means read-only, and read-only
# steps run beside anything), and what must pass before it completes
# (validators). Steps whose scopes overlap never run at the same time.

[[steps]]
id = "design"
goal = "Decide how the ledger's entries map to CSV columns"
role = "planner"

[[steps]]
id = "writer"
goal = "Write a CSV writer for ledger entries, with tests"
depends_on = ["design"]
scope = ["src/ledger/export/**", "tests/test_export.py"]
max_attempts = 4            # this step's own limit (default: the policy's)
on_exhausted = "escalate"   # once out of attempts (default: the policy's); or
# "decompose", with decompose_into = "FRAGMENT.toml": [[steps]] that replace it

[steps.budget]
# this step's own limits over all its work (tokens, cost_usd, wall_s);
# when one runs out the step is out of attempts (see on_exhausted)
cost_usd = 5.00

[[steps.validators]]
# kinds: "tests_pass", "command_passes", "build_passes", "file_changed",
# "artifact_exists", "human_approval". None passes on its own.
kind = "tests_pass"
argv = ["python", "-m", "pytest", "-q", "tests/test_export.py"]
timeout_s = 600

[[steps.validators]]
kind = "file_changed"
path = "src/ledger/export/*.py"

[[steps]]
id = "command"
goal = "Add an `export --csv FILE` command to the ledger's command line"
depends_on = ["writer"]
scope = ["src/ledger/cli.py"]

[[steps.validators]]
kind = "command_passes"
argv = ["python", "-m", "ledger", "export", "--csv", "out.csv"]
cwd = "."                   # where it runs, inside the repository
expect_exit = 0
shell = false               # an argument list, never a shell line

[[steps]]
id = "docs"
goal = "Document CSV export in the user guide"
depends_on = ["design"]
scope = ["docs/**"]

[[steps]]
id = "check"
goal = "Run the whole test suite"
role = "verifier"
depends_on = ["command", "docs"]

[[steps.validators]]
kind = "tests_pass"
argv = ["python", "-m", "pytest", "-q"]

# -------------------------------------------------------------- criteria
# What must hold when the run is over. A criterion with a validator is met
# by a completed step with that very validator; otherwise a person is asked.

[[criteria]]
id = "suite-green"
description = "The whole test suite passes"

[criteria.validator]
# The very validator of the "check" step: met when that step completes.
kind = "tests_pass"
argv = ["python", "-m", "pytest", "-q"]
"""
)
"""The text of the ``playbill.toml`` that ``playbill init`` writes."""
