"""Agent profiles: how a simulated agent behaves, and the built-in ones.

A profile gives an agent's odds of success per role, its latency and token
distributions (lognormal, by median and sigma), its prices, its odds of
crashing, hanging and failing transiently, how often it heartbeats, and a few
behaviour switches. ``BUILTIN_PROFILES`` holds ``default``, ``reliable``,
``flaky``, ``slow`` and ``perfect``; a ``ProfileSet`` adds profiles of a file
(see ``load_profiles``) and says which agent plays which.

Ranges (``playbill._strict.Range``) are part of the types (``Probability``,
``Positive``...): they are checked when a profile is built in code
(``ValueError``) and when it is loaded from a file (every problem at once,
with its path).
"""

# No ``from __future__ import annotations``: the range validator reads the
# ``Annotated`` metadata from each attribute's type, which must not be a string.

from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import Annotated, final

import attrs
from attrs import AttrsInstance

from playbill._problems import toml_key
from playbill._strict import Range, range_of
from playbill.runtime import Role

Probability = Annotated[float, Range(0.0, 1.0, "a probability between 0 and 1")]
"""A probability, in [0, 1]."""

Positive = Annotated[float, Range(0.0, 1e9, "a positive number (at most 1e9)", low_open=True)]
"""A positive number of seconds, tokens or a factor, at most 1e9."""

NonNegative = Annotated[float, Range(0.0, 1e9, "a number >= 0 (at most 1e9)")]
"""A price, zero or more."""

Sigma = Annotated[float, Range(0.0, 5.0, "a sigma between 0 and 5")]
"""The sigma of a lognormal distribution: 0 (no spread) to 5 (very wide)."""

Count = Annotated[int, Range(0, 100, "a whole number from 0 to 100", integer=True)]
"""A small count."""


def check_ranges(instance: AttrsInstance) -> None:
    """Check every ranged field of an attrs instance (its ``__attrs_post_init__``).

    Raises:
        ValueError: Naming every field out of range.
    """
    problems = []
    for field in attrs.fields(type(instance)):
        bounds = range_of(field.type)
        problem = bounds.problem(getattr(instance, field.name)) if bounds is not None else None
        if problem is not None:
            problems.append(f"{field.name}: {problem}")
    if problems:
        raise ValueError("; ".join(problems))


@final
@attrs.frozen
class RoleOdds:
    """The probability that work in each role succeeds.

    Success means: a planner or an executor ends its work ``ok`` (else
    ``error``); a reviewer's verdict is ``pass`` (else ``request_changes``, or
    ``blocked``); a verifier's checks all pass (else at least one fails).
    """

    planner: Probability = 0.95
    executor: Probability = 0.8
    reviewer: Probability = 0.85
    verifier: Probability = 0.85

    def __attrs_post_init__(self) -> None:
        check_ranges(self)

    def of(self, role: Role) -> float:
        """The odds for ``role``."""
        value: float = getattr(self, role)
        return value


@final
@attrs.frozen
class RoleFactors:
    """A latency multiplier per role (planners may think faster than executors work)."""

    planner: Positive = 1.0
    executor: Positive = 1.0
    reviewer: Positive = 1.0
    verifier: Positive = 1.0

    def __attrs_post_init__(self) -> None:
        check_ranges(self)

    def of(self, role: Role) -> float:
        """The factor for ``role``."""
        value: float = getattr(self, role)
        return value


@final
@attrs.frozen
class Latency:
    """How long a piece of work takes: lognormal, times a factor per role.

    Attributes:
        median_s: The median duration, in seconds.
        sigma: The lognormal sigma (0: always the median).
        role_factor: A multiplier per role.
    """

    median_s: Positive = 60.0
    sigma: Sigma = 0.5
    role_factor: RoleFactors = RoleFactors()

    def __attrs_post_init__(self) -> None:
        check_ranges(self)


@final
@attrs.frozen
class Tokens:
    """How many tokens a piece of work uses: lognormal.

    Attributes:
        median: The median count.
        sigma: The lognormal sigma (0: always the median).
    """

    median: Positive = 1000.0
    sigma: Sigma = 0.6

    def __attrs_post_init__(self) -> None:
        check_ranges(self)


@final
@attrs.frozen
class Pricing:
    """What tokens cost, in US dollars per thousand."""

    per_1k_in: NonNegative = 0.003
    per_1k_out: NonNegative = 0.015

    def __attrs_post_init__(self) -> None:
        check_ranges(self)


@final
@attrs.frozen
class FaultOdds:
    """A profile's own per-attempt odds of misbehaving (``--faults`` adds to them).

    Attributes:
        crash: The agent crashes (raises an unexpected exception).
        hang: The agent stops heartbeating and never returns until cancelled.
        transient: The work fails with a retryable ``transient`` failure.
    """

    crash: Probability = 0.0
    hang: Probability = 0.0
    transient: Probability = 0.0

    def __attrs_post_init__(self) -> None:
        check_ranges(self)


@final
@attrs.frozen
class AgentProfile:
    """How a simulated agent behaves.

    Attributes:
        success: Odds of success per role.
        latency: How long work takes.
        tokens_in: Prompt tokens per piece of work.
        tokens_out: Completion tokens per piece of work.
        cost: Prices per thousand tokens.
        faults: Odds of crashing, hanging and failing transiently.
        heartbeat_interval_s: Seconds between heartbeats while working; keep
            it below the run's heartbeat timeout.
        slow_factor: Multiplies every latency (``3.0``: three times slower).
        feedback_gain: How much feedback from a failed attempt helps: the odds
            of failing are multiplied by ``1 - feedback_gain`` when the work
            order carries feedback, so retries are meaningful.
        review_blocked: Of the reviews that do not pass, the share whose
            verdict is ``blocked`` (a replan) rather than ``request_changes``.
        planner_substeps: How many executor sub-steps a successful planner
            proposes (0: none).
    """

    success: RoleOdds = RoleOdds()
    latency: Latency = Latency()
    tokens_in: Tokens = Tokens(median=4000.0, sigma=0.6)
    tokens_out: Tokens = Tokens(median=800.0, sigma=0.7)
    cost: Pricing = Pricing()
    faults: FaultOdds = FaultOdds()
    heartbeat_interval_s: Positive = 10.0
    slow_factor: Positive = 1.0
    feedback_gain: Probability = 0.3
    review_blocked: Probability = 0.05
    planner_substeps: Count = 0

    def __attrs_post_init__(self) -> None:
        check_ranges(self)


DEFAULT_PROFILE = AgentProfile()
"""A middling agent: usually right, a minute a step, never crashes by itself."""

BUILTIN_PROFILES: Mapping[str, AgentProfile] = MappingProxyType(
    {
        "default": DEFAULT_PROFILE,
        "reliable": AgentProfile(
            success=RoleOdds(planner=0.99, executor=0.95, reviewer=0.97, verifier=0.97),
            latency=Latency(median_s=45.0, sigma=0.3),
        ),
        "flaky": AgentProfile(
            success=RoleOdds(planner=0.8, executor=0.6, reviewer=0.75, verifier=0.75),
            latency=Latency(median_s=60.0, sigma=0.9),
            faults=FaultOdds(crash=0.05, hang=0.03, transient=0.1),
        ),
        "slow": AgentProfile(latency=Latency(median_s=60.0, sigma=0.8), slow_factor=3.0),
        "perfect": AgentProfile(
            success=RoleOdds(planner=1.0, executor=1.0, reviewer=1.0, verifier=1.0),
            latency=Latency(median_s=30.0, sigma=0.0),
            tokens_in=Tokens(median=1000.0, sigma=0.0),
            tokens_out=Tokens(median=200.0, sigma=0.0),
            review_blocked=0.0,
        ),
    }
)
"""The profiles every ``ProfileSet`` starts with.

* ``default``: ``DEFAULT_PROFILE``.
* ``reliable``: rarely wrong, a little faster.
* ``flaky``: often wrong, erratic, crashes, hangs and fails transiently.
* ``slow``: three times slower, with a wider spread.
* ``perfect``: always succeeds, in exactly the same time and tokens.
"""


def _frozen_profiles(value: Mapping[str, AgentProfile]) -> Mapping[str, AgentProfile]:
    return MappingProxyType(dict(value))


def _frozen_agents(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@final
@attrs.frozen
class ProfileSet:
    """Named profiles, and which agent plays which.

    Attributes:
        profiles: Profiles by name (the built-ins, plus those of a file).
        agents: Agent id -> profile name; agents not listed get ``default``.
        default: The profile of agents not listed.
    """

    profiles: Mapping[str, AgentProfile] = attrs.field(
        factory=lambda: BUILTIN_PROFILES, converter=_frozen_profiles
    )
    agents: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_agents)
    default: str = "default"

    def __attrs_post_init__(self) -> None:
        for path, detail in self.problems():
            raise ValueError(f"{path}: {detail}")

    def profile_for(self, agent: str) -> AgentProfile:
        """The profile of ``agent``."""
        return self.profiles[self.agents.get(agent, self.default)]

    def problems(self) -> list[tuple[str, str]]:
        """Unknown profile names, as ``(path, detail)`` pairs (empty when consistent)."""
        return unknown_names(self.profiles, self.agents, self.default)


def unknown_names(
    known: Collection[str], agents: Mapping[str, str], default: str
) -> list[tuple[str, str]]:
    """Profile names that ``default`` and ``agents`` use but ``known`` lacks.

    Returns:
        ``(path, detail)`` pairs, the path dotted as in a profile file.
    """
    names = ", ".join(sorted(known))
    found = []
    if default not in known:
        found.append(("default", f"unknown profile {default!r} (known: {names})"))
    for agent, name in agents.items():
        if name not in known:
            found.append(
                (f"agents.{toml_key(agent)}", f"unknown profile {name!r} (known: {names})")
            )
    return found
