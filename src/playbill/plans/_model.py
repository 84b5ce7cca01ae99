"""The plan file's model: one frozen attrs class per table of ``playbill.toml``.

The classes mirror the file, key for key, and say what each value may be in
their types: ``Annotated`` metadata (``Range`` for numbers, ``Text`` for
strings, ``Choice`` for names from a fixed list; see
``playbill.plans._types``) that the loader checks. What depends on more than one value (ids that
must be unique, dependencies, roles some agent must play, paths that must
stay in the repository) is checked by ``playbill.plans._checks``.

A loaded ``PlanFile`` becomes the journaled values of the kernel
(``Plan``, ``Budget``, ``PolicySettings``) with ``to_plan`` and
``to_run_spec``; those are what a run is made of, and the file's model never
outlives the loading.
"""

# No ``from __future__ import annotations``: the loader reads the
# ``Annotated`` metadata of each attribute's type, which must not be a string.

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal, TypeAlias, final

import attrs

from playbill._run import RunSpec
from playbill.runtime import (
    DEFAULT_POLICY,
    AgentSpec,
    Criterion,
    Plan,
    PolicySettings,
    StepSpec,
    Validator,
)
from playbill.simulation import ProfileSet

from ._backends import REAL_BACKENDS, RealOptions
from ._backends import SimulatedOptions as SimulatedOptions
from ._budget_tables import BudgetTable, StepBudgetTable, optional_float
from ._types import (
    Arbitration,
    AtLeastOne,
    Choice,
    Count,
    Directory,
    EnvName,
    Factor,
    Id,
    Prose,
    RoleName,
    Seconds,
    SecondsOrNone,
    StepExhausted,
)
from ._validators import ValidatorTable


@final
@attrs.frozen
class PolicyTable:
    """``[run.policy]``: the supervisor's knobs (see ``PolicySettings``).

    Every key is optional; its default is ``PolicySettings``'s.

    Attributes:
        heartbeat_timeout_s: Seconds an agent at work may go without a heartbeat.
        backoff_base_s: Wait before the first retry of a step.
        backoff_multiplier: Each further retry waits this much longer.
        backoff_max_s: The longest wait before a retry.
        max_attempts: Attempts per step, for steps that set none.
        max_review_rounds: Reviews that may ask for changes before the step
            counts as out of attempts.
        on_exhausted: What happens to a step out of attempts: ``abort`` the
            run, ``escalate`` to a person, or ``skip`` the step.
        competitors: Agents that attempt a step at once under the
            ``competitive`` strategy, for steps that set none.
        arbitration: How the ``competitive`` strategy picks the winner:
            ``first_passing``, ``best_score``, ``lowest_cost`` or
            ``reviewer_vote``.
    """

    heartbeat_timeout_s: Seconds = DEFAULT_POLICY.heartbeat_timeout_s
    backoff_base_s: SecondsOrNone = DEFAULT_POLICY.backoff_base_s
    backoff_multiplier: Factor = DEFAULT_POLICY.backoff_multiplier
    backoff_max_s: SecondsOrNone = DEFAULT_POLICY.backoff_max_s
    max_attempts: AtLeastOne = DEFAULT_POLICY.max_attempts
    max_review_rounds: AtLeastOne = DEFAULT_POLICY.max_review_rounds
    on_exhausted: Annotated[Literal["abort", "escalate", "skip"], Choice("action", "an")] = (
        DEFAULT_POLICY.on_exhausted
    )
    competitors: AtLeastOne = DEFAULT_POLICY.competitors
    arbitration: Arbitration = DEFAULT_POLICY.arbitration

    def to_policy(self) -> PolicySettings:
        """The kernel's ``PolicySettings``."""
        return PolicySettings(
            heartbeat_timeout_s=float(self.heartbeat_timeout_s),
            backoff_base_s=float(self.backoff_base_s),
            backoff_multiplier=float(self.backoff_multiplier),
            backoff_max_s=float(self.backoff_max_s),
            max_attempts=self.max_attempts,
            max_review_rounds=self.max_review_rounds,
            on_exhausted=self.on_exhausted,
            competitors=self.competitors,
            arbitration=self.arbitration,
        )


# ------------------------------------------------------------------ agents


BackendOptions: TypeAlias = SimulatedOptions | RealOptions
"""The options of an agent's backend; one class per backend kind."""

BACKENDS: Mapping[str, type[BackendOptions]] = MappingProxyType(
    {cl.backend: cl for cl in (SimulatedOptions, *REAL_BACKENDS)}
)
"""Every backend a plan may name, and the class of its ``[agents.options]`` table."""


@final
@attrs.frozen
class AgentTable:
    """One ``[[agents]]`` table: an agent that takes part in the run.

    Attributes:
        id: Unique among the agents; the agent's address in the run.
        roles: The roles it can play.
        backend: What does its work (see ``BACKENDS``).
        edits_files: Whether it may change files; its backend's (``edits``) when ``None``.
        budget: Its own limits, on top of the run's.
        heartbeat_timeout_s: Its own stall window; the policy's when ``None``.
        max_restarts: Crashes restarted within ``restart_window_s`` (the runner's when None).
        restart_window_s: The window of its ``max_restarts``.
        options: Its backend's options (``[agents.options]``), checked
            against the table of its ``backend``.
    """

    id: Id
    roles: tuple[RoleName, ...]
    backend: str = "simulated"
    edits_files: bool | None = None
    budget: BudgetTable = BudgetTable()  # noqa: RUF009 (frozen: one shared default is safe)
    heartbeat_timeout_s: Seconds | None = None
    max_restarts: Count | None = None
    restart_window_s: Seconds | None = None
    options: BackendOptions = SimulatedOptions()  # noqa: RUF009 (frozen: one shared value)

    @property
    def edits(self) -> bool:
        """Whether it may be given steps that change files, as written or its backend's."""
        return self.edits_files if self.edits_files is not None else type(self.options).edits

    def to_agent_spec(self) -> AgentSpec:
        """The kernel's ``AgentSpec``."""
        return AgentSpec(
            id=self.id,
            roles=self.roles,
            backend=self.backend,
            edits_files=self.edits,
            budget=self.budget.to_budget(),
            heartbeat_timeout_s=optional_float(self.heartbeat_timeout_s),
            max_restarts=self.max_restarts,
            restart_window_s=optional_float(self.restart_window_s),
        )


# ------------------------------------------------------------------- steps


@final
@attrs.frozen
class StepTable:
    """One ``[[steps]]`` table: a step of the plan.

    Attributes:
        id: Unique among the steps.
        goal: What the step must achieve, for the agent.
        role: The role of the agent that does it.
        depends_on: Ids of the steps that must be done first.
        scope: Globs, relative to the repository, of the files the step may
            change; empty for a read-only step.
        validators: What must pass before the step completes.
        strategy: Its coordination strategy; the run's when ``None``.
        max_attempts: Attempts allowed; the policy's ``max_attempts`` when ``None``.
        competitors: Agents that attempt it at once under the ``competitive``
            strategy; the policy's ``competitors`` when ``None``.
        budget: The step's own limits (``[steps.budget]``) on tokens, cost
            and wall time over all its work; none when ``None``.
        on_exhausted: What happens to it once out of attempts (``abort``,
            ``escalate``, ``skip``, ``decompose``); the policy's when ``None``.
        decompose_into: For ``decompose``: a plan fragment file (``[[steps]]``
            tables), relative to the plan file, whose steps replace it.
    """

    id: Id
    goal: Prose
    role: RoleName = "executor"
    depends_on: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()
    validators: tuple[ValidatorTable, ...] = ()
    strategy: str | None = None
    max_attempts: AtLeastOne | None = None
    competitors: AtLeastOne | None = None
    budget: StepBudgetTable | None = None
    on_exhausted: StepExhausted | None = None
    decompose_into: str | None = None

    def to_step_spec(self, fragment: tuple[StepSpec, ...] = ()) -> StepSpec:
        """The kernel's ``StepSpec``; ``fragment``: the steps of its ``decompose_into``."""
        return StepSpec(
            id=self.id,
            goal=self.goal,
            role=self.role,
            depends_on=self.depends_on,
            scope=self.scope,
            validators=tuple(v.to_validator() for v in self.validators),
            strategy=self.strategy,
            max_attempts=self.max_attempts,
            competitors=self.competitors,
            budget=None if self.budget is None else self.budget.to_budget(),
            on_exhausted=self.on_exhausted,
            decompose_into=fragment,
        )


@final
@attrs.frozen
class CriterionTable:
    """One ``[[criteria]]`` table: an acceptance criterion of the run.

    Attributes:
        id: Unique among the criteria.
        description: What must hold, for people.
        validator: What proves it (``[criteria.validator]``); met by a step
            that completes with the very same validator, or by a person.
    """

    id: Id
    description: Prose
    validator: ValidatorTable | None = None

    def to_criterion(self) -> Criterion:
        """The kernel's ``Criterion``."""
        validator: Validator | None = None
        if self.validator is not None:
            validator = self.validator.to_validator()
        return Criterion(id=self.id, description=self.description, validator=validator)


# --------------------------------------------------------------------- run


@final
@attrs.frozen
class RunTable:
    """``[run]``: what the run is for and the limits it runs under.

    Attributes:
        goal: What the run must achieve.
        strategy: The coordination strategy of steps that name none.
        budget: The run's limits.
        policy: The supervisor's knobs.
        labels: Free-form ``name = "value"`` labels (``playbill runs`` shows them).
        worktrees: The directory that holds the attempts' worktrees
            (``~`` expanded; a relative path is from the repository's top,
            and must lead out of it); ``None``: the default,
            ``${XDG_DATA_HOME:-~/.local/share}/playbill/worktrees``.
            ``playbill run --worktrees`` overrides it.
        redact: Names of further variables whose values are secrets (``secret_names``).
    """

    goal: Prose
    strategy: str = "pipeline"
    budget: BudgetTable = BudgetTable()  # noqa: RUF009 (frozen: one shared default is safe)
    policy: PolicyTable = PolicyTable()
    labels: Mapping[str, str] = attrs.field(factory=dict, converter=MappingProxyType)
    worktrees: Directory | None = None
    redact: tuple[EnvName, ...] = ()

    def worktrees_dir(self, repo: str | os.PathLike[str]) -> Path | None:
        """``worktrees`` as a path on this machine, for the repository at ``repo``.

        ``~`` is expanded and a relative path is taken from ``repo``; ``None``
        when the plan does not choose.
        """
        if self.worktrees is None:
            return None
        chosen = Path(self.worktrees).expanduser()
        return chosen if chosen.is_absolute() else Path(repo) / chosen


@final
@attrs.frozen
class PlanFile:
    """A loaded plan file: the run, its agents, its steps and its criteria.

    Made by ``load_plan`` or ``parse_plan``, which check it; build runs with
    ``to_run_spec``.

    Attributes:
        run: The ``[run]`` table.
        agents: The ``[[agents]]`` tables, in file order.
        steps: The ``[[steps]]`` tables, in file order.
        criteria: The ``[[criteria]]`` tables, in file order.
        fragments: The steps of each step's ``decompose_into`` fragment, by step id.
    """

    run: RunTable
    agents: tuple[AgentTable, ...] = ()
    steps: tuple[StepTable, ...] = ()
    criteria: tuple[CriterionTable, ...] = ()
    fragments: Mapping[str, tuple[StepSpec, ...]] = attrs.field(factory=dict)

    def to_plan(self) -> Plan:
        """The kernel's ``Plan``: steps, agents and criteria, in file order."""
        return Plan(
            steps=tuple(s.to_step_spec(self.fragments.get(s.id, ())) for s in self.steps),
            agents=tuple(a.to_agent_spec() for a in self.agents),
            criteria=tuple(c.to_criterion() for c in self.criteria),
        )

    def to_run_spec(
        self, seed: int | None = None, labels: Mapping[str, str] | None = None
    ) -> RunSpec:
        """What a run of this plan is.

        Args:
            seed: The seed of a simulated run.
            labels: Labels added to the file's (and replacing those of the
                same name).
        """
        return RunSpec(
            goal=self.run.goal,
            plan=self.to_plan(),
            budget=self.run.budget.to_budget(),
            policy=self.run.policy.to_policy(),
            strategy=self.run.strategy,
            seed=seed,
            labels={**self.run.labels, **(labels or {})},
        )

    def profile_set(self, base: ProfileSet | None = None) -> ProfileSet:
        """The profiles of the simulated agents: ``base`` with the plan's choices.

        An agent whose ``[agents.options]`` names a ``profile`` plays it;
        the others play what ``base`` says (the built-in default when
        ``base`` is ``None``).

        Raises:
            ValueError: The plan names a profile ``base`` does not have.
        """
        start = base if base is not None else ProfileSet()
        chosen = {
            agent.id: agent.options.profile
            for agent in self.agents
            if isinstance(agent.options, SimulatedOptions) and agent.options.profile is not None
        }
        return ProfileSet(
            profiles=start.profiles, agents={**start.agents, **chosen}, default=start.default
        )
