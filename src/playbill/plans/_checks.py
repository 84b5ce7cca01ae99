"""Semantic checks of a plan: what no single value can be wrong about alone.

Ids must be unique; ``depends_on`` must name steps of the plan and make no
cycle; every step's role must be played by an agent, and a step that changes
files needs an agent of that role that edits files; validators a verifier
must run need a verifier other than the agent doing the step; a step that
asks for competitors names no built-in strategy but ``competitive``;
strategies, backends' profiles and policy values must fit together; each agent's
backend must be able to play its roles and take its options
(``playbill.plans._backend_checks``); and every path a
plan gives (scopes, validators' ``cwd`` and paths) stays inside the
repository.

``check_parts`` works on a plan whose parts may have failed to load
(``None``): it checks what loaded, and stays quiet where a part that did not
load could make a report wrong (no "no agent plays role" when an agent table
had problems of its own).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from playbill._problems import Problem
from playbill.runtime import ROLES, STRATEGIES, outside_repository
from playbill.simulation import ProfileSet

from ._backend_checks import check_backend
from ._graph import dependency_cycles
from ._model import AgentTable, CriterionTable, PlanFile, RunTable, SimulatedOptions, StepTable
from ._paths import worktrees_problem
from ._problems import did_you_mean
from ._validators import (
    ArtifactExistsTable,
    BuildPassesTable,
    CommandPassesTable,
    FileChangedTable,
    HumanApprovalTable,
    TestsPassTable,
    ValidatorTable,
)

RESERVED_ADDRESSES: tuple[str, ...] = (
    "supervisor",
    "reducer",
    "timers",
    "control",
    "api",
    "agents",
)
"""Addresses the runtime itself sends from or to; no agent may take one."""


def check_plan(
    plan: PlanFile,
    *,
    profiles: ProfileSet | None = None,
    strategies: Collection[str] | None = None,
) -> list[Problem]:
    """Every semantic problem of a plan (empty when there is none).

    ``load_plan`` and ``parse_plan`` already run these checks; call this on
    a ``PlanFile`` built or changed in code.

    Args:
        plan: The plan.
        profiles: The agent profiles simulated agents may name; the built-ins
            when ``None``.
        strategies: The coordination strategies steps may name; the
            runtime's when ``None``.
    """
    return check_parts(
        plan.run,
        plan.agents,
        plan.steps,
        plan.criteria,
        step_ids=[s.id for s in plan.steps],
        profiles=profiles,
        strategies=strategies,
    )


def check_parts(
    run: RunTable | None,
    agents: Sequence[AgentTable | None],
    steps: Sequence[StepTable | None],
    criteria: Sequence[CriterionTable | None],
    *,
    step_ids: Collection[str],
    partial: Collection[str] = (),
    profiles: ProfileSet | None = None,
    strategies: Collection[str] | None = None,
) -> list[Problem]:
    """The semantic problems of a plan's parts, ``None`` for parts that did not load.

    Args:
        run: The ``[run]`` table.
        agents: The ``[[agents]]`` tables, in file order.
        steps: The ``[[steps]]`` tables, in file order.
        criteria: The ``[[criteria]]`` tables, in file order.
        step_ids: Every id the file's steps give, loaded or not (a reference
            to a step with problems of its own is not unknown).
        partial: Where the parts are that did not load whole (``run``,
            ``steps[2]``, or ``steps`` when it is not an array of tables):
            their bad keys were left out and took their defaults, so checks
            those defaults could mislead are skipped.
        profiles: The profiles simulated agents may name (built-ins when ``None``).
        strategies: The strategies steps may name (the runtime's when ``None``).
    """
    known_strategies = list(STRATEGIES if strategies is None else strategies)
    known_profiles = (profiles if profiles is not None else ProfileSet()).profiles
    problems: list[Problem] = []
    if not steps and not step_ids and "steps" not in partial:
        problems.append(
            Problem("steps", "a plan needs at least one step ([[steps]] with id, goal)")
        )
    if run is not None:
        problems.extend(_check_run(run, known_strategies, whole="run" not in partial))
    problems.extend(_duplicates("agents", "agent", agents))
    problems.extend(_duplicates("steps", "step", steps))
    problems.extend(_duplicates("criteria", "criterion", criteria))
    for i, agent in enumerate(agents):
        if agent is not None:
            problems.extend(_check_agent(f"agents[{i}]", agent, run, known_profiles))
    team = [a for a in agents if a is not None] if None not in agents else None
    known_steps = {*step_ids, *(s.id for s in steps if s is not None)}
    for i, step in enumerate(steps):
        if step is not None:
            here = f"steps[{i}]"
            players = team if here not in partial else None
            problems.extend(_check_step(here, step, players, known_steps, known_strategies))
    problems.extend(dependency_cycles(steps))
    for i, criterion in enumerate(criteria):
        if criterion is not None and criterion.validator is not None:
            problems.extend(_check_validator(f"criteria[{i}].validator", criterion.validator))
    return problems


# ----------------------------------------------------------------- the run


def _check_run(run: RunTable, strategies: Sequence[str], *, whole: bool) -> list[Problem]:
    problems = []
    if run.strategy not in strategies:
        problems.append(Problem("run.strategy", _unknown("strategy", run.strategy, strategies)))
    if run.worktrees is not None and (problem := worktrees_problem(run.worktrees)) is not None:
        problems.append(Problem("run.worktrees", problem))
    policy = run.policy
    if whole and policy.backoff_max_s < policy.backoff_base_s:
        detail = (
            f"expected at least backoff_base_s ({policy.backoff_base_s:g}), "
            f"got {policy.backoff_max_s:g}"
        )
        problems.append(Problem("run.policy.backoff_max_s", detail))
    return problems


def _unknown(noun: str, name: str, known: Sequence[str]) -> str:
    listed = ", ".join(known) if known else "none"
    return f"unknown {noun} {name!r} (known: {listed}){did_you_mean(name, known)}"


def _duplicates(
    section: str,
    noun: str,
    items: Sequence[AgentTable | StepTable | CriterionTable | None],
) -> list[Problem]:
    first: dict[str, int] = {}
    problems = []
    for i, item in enumerate(items):
        if item is None:
            continue
        if item.id in first:
            detail = f"duplicate {noun} id {item.id!r} (first at {section}[{first[item.id]}])"
            problems.append(Problem(f"{section}[{i}].id", detail))
        else:
            first[item.id] = i
    return problems


# ------------------------------------------------------------------ agents


def _check_agent(
    here: str, agent: AgentTable, run: RunTable | None, profiles: Collection[str]
) -> list[Problem]:
    problems = []
    if agent.id in RESERVED_ADDRESSES:
        detail = (
            f"{agent.id!r} is an address of the runtime (reserved: {', '.join(RESERVED_ADDRESSES)})"
        )
        problems.append(Problem(f"{here}.id", detail))
    if not agent.roles:
        detail = f"expected at least one role ({', '.join(ROLES)})"
        problems.append(Problem(f"{here}.roles", detail))
    seen: set[str] = set()
    for j, role in enumerate(agent.roles):
        if role in seen:
            problems.append(Problem(f"{here}.roles[{j}]", f"role {role!r} is listed twice"))
        seen.add(role)
    problems.extend(check_backend(here, agent))
    window = _stall_window(here, agent, run)
    options = agent.options
    if isinstance(options, SimulatedOptions):
        if options.profile is None:
            return problems
        where = f"{here}.options.profile"
        if options.profile not in profiles:
            problems.append(Problem(where, _unknown("profile", options.profile, sorted(profiles))))
        elif window is not None:
            interval = profiles[options.profile].heartbeat_interval_s  # type: ignore[index]
            timeout, source = window
            if interval >= timeout:
                detail = (
                    f"profile {options.profile!r} sends a heartbeat every {interval:g} s, "
                    f"not within {source} ({timeout:g} s): "
                    "its work would always be cancelled"
                )
                problems.append(Problem(where, detail))
    elif window is not None:
        timeout, source = window
        for option, seconds, why in options.silences():
            if seconds >= timeout:
                detail = (
                    f"expected less than the stall window, {source} ({timeout:g} s), "
                    f"got {seconds:g}: {why}, so it would be declared stalled while it works"
                )
                problems.append(Problem(f"{here}.options.{option}", detail))
    return problems


def _stall_window(here: str, agent: AgentTable, run: RunTable | None) -> tuple[float, str] | None:
    """An agent's stall window and where it is set: its own, else the run's policy's."""
    if agent.heartbeat_timeout_s is not None:
        return agent.heartbeat_timeout_s, f"{here}.heartbeat_timeout_s"
    if run is not None:
        return run.policy.heartbeat_timeout_s, "run.policy.heartbeat_timeout_s"
    return None


# ------------------------------------------------------------------- steps


def _check_step(
    here: str,
    step: StepTable,
    team: Sequence[AgentTable] | None,
    known_steps: Collection[str],
    strategies: Sequence[str],
) -> list[Problem]:
    problems = []
    if step.strategy is not None and step.strategy not in strategies:
        problems.append(
            Problem(f"{here}.strategy", _unknown("strategy", step.strategy, strategies))
        )
    problems.extend(_check_competitors(here, step, strategies))
    seen: set[str] = set()
    for j, dep in enumerate(step.depends_on):
        where = f"{here}.depends_on[{j}]"
        if dep in seen:
            problems.append(Problem(where, f"step {dep!r} is listed twice"))
        elif dep not in known_steps:
            others = sorted(s for s in known_steps if s != step.id)
            problems.append(Problem(where, f"unknown step {dep!r}{did_you_mean(dep, others)}"))
        seen.add(dep)
    for j, glob in enumerate(step.scope):
        why = outside_repository(glob, glob=True)
        if why is not None:
            detail = f"expected a glob inside the repository, got {glob!r} ({why})"
            problems.append(Problem(f"{here}.scope[{j}]", detail))
    for j, validator in enumerate(step.validators):
        problems.extend(_check_validator(f"{here}.validators[{j}]", validator))
    if team is not None:
        problems.extend(_check_team(here, step, team))
    return problems


def _check_competitors(here: str, step: StepTable, strategies: Sequence[str]) -> list[Problem]:
    """Competitors asked for by a step whose own strategy is a built-in that never competes.

    Only a step that names its strategy is checked: one that uses the run's
    may run under another strategy than the file's (a sweep replaces the
    run's strategy in each cell), and a strategy of the caller's own may
    read ``competitors`` too.
    """
    name = step.strategy
    if step.competitors is None or step.competitors <= 1 or name is None:
        return []
    if name == "competitive" or name not in STRATEGIES or name not in strategies:
        return []
    detail = (
        f"competitors only matter for the competitive strategy, and step {step.id!r} "
        f'uses {name!r} (remove competitors, or set strategy = "competitive")'
    )
    return [Problem(f"{here}.competitors", detail)]


def _check_team(here: str, step: StepTable, team: Sequence[AgentTable]) -> list[Problem]:
    """Whether the plan's agents can do the step, change its files and verify it."""
    players = [a for a in team if step.role in a.roles]
    if not players:
        detail = (
            f"no agent plays role {step.role!r}, so step {step.id!r} could never start "
            f'(give an agent roles = ["{step.role}"])'
        )
        return [Problem(f"{here}.role", detail)]
    if step.scope:
        players = [a for a in players if a.edits]
        if not players:
            detail = (
                f"step {step.id!r} changes files, but no agent with role {step.role!r} "
                "edits files (set edits_files = true on one, or leave the scope empty)"
            )
            return [Problem(f"{here}.scope", detail)]
    checked = [_kind(v) for v in step.validators if not isinstance(v, HumanApprovalTable)]
    if checked and step.role != "verifier":
        verifiers = [a.id for a in team if "verifier" in a.roles]
        if not any(v != p.id for v in verifiers for p in players):
            detail = (
                f"{', '.join(checked)} must be run by a verifier other than the agent that "
                f"does step {step.id!r}, and the plan has none (the step would always fail)"
            )
            return [Problem(f"{here}.validators", detail)]
    return []


def _kind(validator: ValidatorTable) -> str:
    return type(validator).kind


def _check_validator(here: str, validator: ValidatorTable) -> list[Problem]:
    problems = []
    match validator:
        case CommandPassesTable() | TestsPassTable() | BuildPassesTable():
            if not validator.argv or not validator.argv[0].strip():
                detail = 'expected a command, as a list of arguments (["make", "check"])'
                problems.append(Problem(f"{here}.argv", detail))
            why = outside_repository(validator.cwd, glob=False)
            if why is not None:
                detail = (
                    f"expected a directory inside the repository, got {validator.cwd!r} ({why})"
                )
                problems.append(Problem(f"{here}.cwd", detail))
        case FileChangedTable() | ArtifactExistsTable():
            glob = isinstance(validator, FileChangedTable)
            why = outside_repository(validator.path, glob=glob)
            if why is not None:
                noun = "a glob" if glob else "a path"
                detail = f"expected {noun} inside the repository, got {validator.path!r} ({why})"
                problems.append(Problem(f"{here}.path", detail))
        case HumanApprovalTable():
            pass
    return problems
