"""What a sweep simulates: the plan, the profile axis and the faults, and its manifest.

A sweep's cells are ``(seed, strategy, profile)``. The *profile* of a cell is
the name of the profile that every agent plays in it, unless the profile file
(``[agents]``) or the plan (an agent's ``[agents.options] profile``) pins that
agent to a profile of its own: technically, the ``default`` of the cell's
``ProfileSet``. The profiles swept are those a profile file defines
(``[profiles.NAME]`` tables, in the order of the file), or its ``default``
when it defines none; without a file, ``EXAMPLE_PROFILES``.

The manifest (``manifest.json`` in the output directory) records what makes
rows comparable: digests of the plan and of every agent's effective profile
in every cell, the faults, the virtual-time guard and playbill's version.
Strategies and seeds are not part of it: a sweep may be extended with more of
either into the same directory. Strategies of one's own are named in it,
though (``SweepSetup.strategies``: each name the setup gives an object of
another class than the built-in of that name, with its class's qualified name), so that a
sweep is refused when it gives a name another class than the directory's
rows were simulated with. The class is recorded, not its code: changing the
code of a class between two sweeps into one directory goes unnoticed.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import final

import attrs
import cattrs
import msgspec

from playbill._version import __version__
from playbill.plans import load_plan
from playbill.runtime import (
    DEFAULT_POLICY,
    NO_FAULTS,
    STRATEGIES,
    UNLIMITED,
    Budget,
    FaultPlan,
    Plan,
    PolicySettings,
    Strategy,
)
from playbill.simulation import AgentProfile, ProfileSet, default_plan, load_profiles

EXAMPLE_PROFILES = ("default", "reliable")
"""The profiles swept without a profile file: two of the built-ins."""

DEFAULT_GOAL = "simulated run"
"""The goal of the built-in example plan's runs (as ``simulate``'s)."""

MAX_VIRTUAL_S = 24 * 3600.0
"""A run not settled after this much virtual time stops with outcome ``running``."""

_BUILTIN = "builtin"  # what Manifest.strategy_class says of a built-in strategy

_CONVERTER = cattrs.Converter()


@final
@attrs.frozen
class CellProfiles:
    """Who plays which profile in the cells of one swept profile (picklable, unlike ``ProfileSet``).

    Attributes:
        profiles: The profiles by name, as pairs.
        agents: Agent id -> profile name, for the agents pinned to a profile, as pairs.
        default: The profile every other agent plays: the swept profile.
    """

    profiles: tuple[tuple[str, AgentProfile], ...]
    agents: tuple[tuple[str, str], ...]
    default: str

    @classmethod
    def of(cls, profiles: ProfileSet) -> CellProfiles:
        """The picklable form of a ``ProfileSet``."""
        return cls(
            profiles=tuple(profiles.profiles.items()),
            agents=tuple(sorted(profiles.agents.items())),
            default=profiles.default,
        )

    def profile_set(self) -> ProfileSet:
        """The ``ProfileSet`` the cell's runs simulate with."""
        return ProfileSet(
            profiles=dict(self.profiles), agents=dict(self.agents), default=self.default
        )


@final
class Manifest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a sweep directory holds rows of (``manifest.json``).

    Attributes:
        format: The manifest's format version.
        playbill: The playbill version that simulated the rows.
        plan: Where the plan came from: a file path, or ``builtin``.
        plan_sha256: Digest of the plan, goal, budget and policy the runs start from.
        profiles: The swept profiles, in order.
        profiles_source: Where the profiles came from: a file path, or ``builtin``.
        profiles_sha256: Digest of every agent's effective profile in every swept profile.
        faults: The canonical fault spec (empty: no faults).
        max_virtual_s: The virtual-time guard of every run.
        strategies: The setup's strategies of its own (not built in): name ->
            the qualified name of its class (``module.Class``).
    """

    format: int = 1
    playbill: str
    plan: str
    plan_sha256: str
    profiles: tuple[str, ...]
    profiles_source: str
    profiles_sha256: str
    faults: str
    max_virtual_s: float
    strategies: dict[str, str] = msgspec.field(default_factory=dict)

    def differences(self, other: Manifest) -> list[str]:
        """What makes ``other``'s rows incomparable with this one's (empty: nothing).

        A strategy that one manifest names and the other does not is no
        difference (a sweep may be extended with more strategies), unless its
        name is a built-in's: the other meant the built-in.
        """
        fields: tuple[tuple[str, object, object], ...] = (
            ("plan", self.plan_sha256, other.plan_sha256),
            ("profiles", self.profiles_sha256, other.profiles_sha256),
            ("faults", self.faults, other.faults),
            ("max virtual time", self.max_virtual_s, other.max_virtual_s),
            ("playbill version", self.playbill, other.playbill),
            ("manifest format", self.format, other.format),
        )
        fields += tuple(
            (f"strategy {name}", self.strategy_class(name), other.strategy_class(name))
            for name in sorted(self.strategies.keys() | other.strategies.keys())
            if self.strategy_class(name) is not None and other.strategy_class(name) is not None
        )
        return [name for name, mine, theirs in fields if mine != theirs]

    def strategy_class(self, name: str) -> str | None:
        """What strategy ``name`` is here: its class, ``"builtin"``, or ``None`` (unknown)."""
        if name in self.strategies:
            return self.strategies[name]
        return _BUILTIN if name in STRATEGIES else None

    def merged(self, other: Manifest) -> Manifest:
        """This manifest, naming ``other``'s own strategies too (a sweep extending it)."""
        return msgspec.structs.replace(self, strategies={**self.strategies, **other.strategies})


def _strategy_dict(strategies: Mapping[str, Strategy]) -> dict[str, Strategy]:
    """A copy of a mapping of strategies: a plain dict, which pickles (a mapping proxy does not)."""
    return dict(strategies)


@final
@attrs.frozen
class SweepSetup:
    """Everything a sweep's runs share: all a worker process needs besides its cells.

    Attributes:
        plan: The plan every run follows.
        goal: The runs' goal.
        budget: The runs' budget.
        policy: The supervisor's policy settings.
        profiles: The swept profiles, by name, in order.
        faults: The faults injected into every run.
        max_virtual_s: The virtual-time guard of every run.
        plan_source: Where the plan came from (a path, or ``builtin``).
        profiles_source: Where the profiles came from (a path, or ``builtin``).
        strategies: The strategies the runs know, by name (``decide``'s
            ``strategies``); the built-in ``STRATEGIES`` by default. To sweep
            in worker processes, their classes must pickle by reference:
            defined in a module, not in ``__main__``.
    """

    plan: Plan
    goal: str = DEFAULT_GOAL
    budget: Budget = UNLIMITED
    policy: PolicySettings = DEFAULT_POLICY
    profiles: tuple[tuple[str, CellProfiles], ...] = ()
    faults: FaultPlan = NO_FAULTS
    max_virtual_s: float = MAX_VIRTUAL_S
    plan_source: str = "builtin"
    profiles_source: str = "builtin"
    strategies: Mapping[str, Strategy] = attrs.field(
        factory=lambda: dict(STRATEGIES), converter=_strategy_dict, hash=False
    )

    @property
    def profile_names(self) -> tuple[str, ...]:
        """The swept profiles, in order."""
        return tuple(name for name, _ in self.profiles)

    def cell_profiles(self, name: str) -> ProfileSet:
        """The ``ProfileSet`` of the cells of profile ``name``.

        Raises:
            KeyError: ``name`` is not swept.
        """
        return dict(self.profiles)[name].profile_set()

    def manifest(self) -> Manifest:
        """The manifest of a sweep of this setup."""
        plan_bytes = msgspec.json.encode(
            (self.plan, self.goal, self.budget, self.policy), order="deterministic"
        )
        effective = {
            name: {
                agent.id: _CONVERTER.unstructure(cells.profile_set().profile_for(agent.id))
                for agent in self.plan.agents
            }
            for name, cells in self.profiles
        }
        profile_bytes = json.dumps(effective, sort_keys=True).encode()
        return Manifest(
            playbill=__version__,
            plan=self.plan_source,
            plan_sha256=hashlib.sha256(plan_bytes).hexdigest(),
            profiles=self.profile_names,
            profiles_source=self.profiles_source,
            profiles_sha256=hashlib.sha256(profile_bytes).hexdigest(),
            faults=str(self.faults),
            max_virtual_s=self.max_virtual_s,
            strategies=own_strategies(self.strategies),
        )


def own_strategies(strategies: Mapping[str, Strategy]) -> dict[str, str]:
    """The strategies not built in, by name, sorted: the qualified names of their classes.

    A strategy is built in when it is of the class of the one ``STRATEGIES``
    has under its name (the built-ins have no settings of their own: the
    policy's are journaled); an object of another class under a built-in's
    name is one's own.
    """
    return {
        name: f"{type(strategy).__module__}.{type(strategy).__qualname__}"
        for name, strategy in sorted(strategies.items())
        if name not in STRATEGIES or type(STRATEGIES[name]) is not type(strategy)
    }


def load_setup(
    plan: str | Path | None = None,
    profiles: str | Path | None = None,
    *,
    faults: FaultPlan = NO_FAULTS,
    max_virtual_s: float = MAX_VIRTUAL_S,
    strategies: Mapping[str, Strategy] | None = None,
) -> SweepSetup:
    """Load what a sweep simulates from its files.

    Blocking file I/O.

    Args:
        plan: A plan file (``playbill.toml``); the built-in example plan
            (``playbill.simulation.default_plan``) when None.
        profiles: A profile file; the built-in profiles, sweeping
            ``EXAMPLE_PROFILES``, when None.
        faults: The faults injected into every run.
        max_virtual_s: Stop a run not settled after this much virtual time.
        strategies: The strategies the runs know, by name, as ``simulate``'s:
            the built-in ``STRATEGIES`` when None. Add one's own with
            ``{**STRATEGIES, "mine": Mine()}``; to sweep it in worker
            processes, define its class in a module (not in ``__main__``).

    Returns:
        The setup.

    Raises:
        ProfileError: The profile file cannot be read or is invalid.
        PlanError: The plan file cannot be read or is invalid.
    """
    names: Sequence[str]
    if profiles is None:
        base, names, profiles_source = ProfileSet(), EXAMPLE_PROFILES, "builtin"
    else:
        base, names = load_profiles(profiles), _swept_names(Path(profiles))
        profiles_source = str(Path(profiles).resolve())
    per_name = {name: attrs.evolve(base, default=name) for name in names}
    known = dict(STRATEGIES if strategies is None else strategies)
    if plan is None:
        cells = {name: CellProfiles.of(s) for name, s in per_name.items()}
        return SweepSetup(
            plan=default_plan(),
            profiles=tuple(cells.items()),
            faults=faults,
            max_virtual_s=max_virtual_s,
            profiles_source=profiles_source,
            strategies=known,
        )
    plan_file = load_plan(plan, profiles=base)
    spec = plan_file.to_run_spec()
    cells = {name: CellProfiles.of(plan_file.profile_set(s)) for name, s in per_name.items()}
    return SweepSetup(
        plan=spec.plan,
        goal=spec.goal,
        budget=spec.budget,
        policy=spec.policy,
        profiles=tuple(cells.items()),
        faults=faults,
        max_virtual_s=max_virtual_s,
        plan_source=str(Path(plan).resolve()),
        profiles_source=profiles_source,
        strategies=known,
    )


def _swept_names(path: Path) -> Sequence[str]:
    """The profiles a (valid, already loaded) profile file sweeps: its own, else its default."""
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    own = list(document.get("profiles", {}))
    return own if own else [str(document.get("default", "default"))]
