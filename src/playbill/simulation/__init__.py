"""Deterministic simulation: whole runs with simulated agents on a virtual clock.

``simulate`` runs a real run (the same writer, policy, router, timers,
supervision tree and role actors as a live one) whose agents are
``SimulatedBackend`` instances drawing what happens from their agent profiles
(``AgentProfile``, the built-in ones and profile files) and the run's fault
plan, seeded, so the same seed gives the same journal.

May import :mod:`playbill.runtime`, :mod:`playbill.backends`, the run's entry
point (``playbill._run``) and playbill's top-level helper modules; the real
actors and backends never import this.
"""

from __future__ import annotations

from playbill._problems import Problem, ProblemsError

from ._profile_file import ProfileError, load_profiles, parse_profiles
from ._profiles import (
    BUILTIN_PROFILES,
    DEFAULT_PROFILE,
    AgentProfile,
    FaultOdds,
    Latency,
    Pricing,
    ProfileSet,
    RoleFactors,
    RoleOdds,
    Tokens,
)
from ._sim_draws import Chunk, OutcomeKind, SimulatedOutcome, draw_outcome
from ._sim_payloads import validator_name
from ._simulate import (
    EPOCH_US,
    Outcome,
    SimulationResult,
    default_plan,
    default_run_id,
    simulate,
)
from ._simulated import SimulatedBackend, SimulatedCrash

__all__ = [
    "BUILTIN_PROFILES",
    "DEFAULT_PROFILE",
    "EPOCH_US",
    "AgentProfile",
    "Chunk",
    "FaultOdds",
    "Latency",
    "Outcome",
    "OutcomeKind",
    "Pricing",
    "Problem",
    "ProblemsError",
    "ProfileError",
    "ProfileSet",
    "RoleFactors",
    "RoleOdds",
    "SimulatedBackend",
    "SimulatedCrash",
    "SimulatedOutcome",
    "SimulationResult",
    "Tokens",
    "default_plan",
    "default_run_id",
    "draw_outcome",
    "load_profiles",
    "parse_profiles",
    "simulate",
    "validator_name",
]
