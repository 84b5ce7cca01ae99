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
either into the same directory.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import final

import attrs
import cattrs
import msgspec

import playbill
from playbill.actors import AgentProfile, ProfileSet, default_plan, load_profiles
from playbill.plans import load_plan
from playbill.runtime import (
    DEFAULT_POLICY,
    NO_FAULTS,
    UNLIMITED,
    Budget,
    FaultPlan,
    Plan,
    PolicySettings,
)

EXAMPLE_PROFILES = ("default", "reliable")
"""The profiles swept without a profile file: two of the built-ins."""

DEFAULT_GOAL = "simulated run"
"""The goal of the built-in example plan's runs (as ``simulate``'s)."""

MAX_VIRTUAL_S = 24 * 3600.0
"""A run not settled after this much virtual time stops with outcome ``running``."""

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

    def differences(self, other: Manifest) -> list[str]:
        """What makes ``other``'s rows incomparable with this one's (empty: nothing)."""
        fields = (
            ("plan", self.plan_sha256, other.plan_sha256),
            ("profiles", self.profiles_sha256, other.profiles_sha256),
            ("faults", self.faults, other.faults),
            ("max virtual time", self.max_virtual_s, other.max_virtual_s),
            ("playbill version", self.playbill, other.playbill),
            ("manifest format", self.format, other.format),
        )
        return [name for name, mine, theirs in fields if mine != theirs]


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
            playbill=playbill.__version__,
            plan=self.plan_source,
            plan_sha256=hashlib.sha256(plan_bytes).hexdigest(),
            profiles=self.profile_names,
            profiles_source=self.profiles_source,
            profiles_sha256=hashlib.sha256(profile_bytes).hexdigest(),
            faults=str(self.faults),
            max_virtual_s=self.max_virtual_s,
        )


def load_setup(
    plan: str | Path | None = None,
    profiles: str | Path | None = None,
    *,
    faults: FaultPlan = NO_FAULTS,
    max_virtual_s: float = MAX_VIRTUAL_S,
) -> SweepSetup:
    """Load what a sweep simulates from its files.

    Blocking file I/O.

    Args:
        plan: A plan file (``playbill.toml``); the built-in example plan
            (``playbill.actors.default_plan``) when None.
        profiles: A profile file; the built-in profiles, sweeping
            ``EXAMPLE_PROFILES``, when None.
        faults: The faults injected into every run.
        max_virtual_s: Stop a run not settled after this much virtual time.

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
    if plan is None:
        cells = {name: CellProfiles.of(s) for name, s in per_name.items()}
        return SweepSetup(
            plan=default_plan(),
            profiles=tuple(cells.items()),
            faults=faults,
            max_virtual_s=max_virtual_s,
            profiles_source=profiles_source,
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
    )


def _swept_names(path: Path) -> Sequence[str]:
    """The profiles a (valid, already loaded) profile file sweeps: its own, else its default."""
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    own = list(document.get("profiles", {}))
    return own if own else [str(document.get("default", "default"))]
