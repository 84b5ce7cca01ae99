"""Agents and runs: role actors, their backends, live runs and simulation.

Builds on :mod:`playbill.runtime` (the kernel); nothing there imports this.
"""

from __future__ import annotations

from playbill._problems import Problem, ProblemsError

from ._backend import (
    AgentBackend,
    BackendError,
    Capabilities,
    Reporter,
    WorkKind,
    WorkOrder,
)
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
from ._role import RoleActor
from ._run import BackendFactory, Run, RunSpec, is_settled, open_run
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
    "AgentBackend",
    "AgentProfile",
    "BackendError",
    "BackendFactory",
    "Capabilities",
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
    "Reporter",
    "RoleActor",
    "RoleFactors",
    "RoleOdds",
    "Run",
    "RunSpec",
    "SimulatedBackend",
    "SimulatedCrash",
    "SimulatedOutcome",
    "SimulationResult",
    "Tokens",
    "WorkKind",
    "WorkOrder",
    "default_plan",
    "default_run_id",
    "draw_outcome",
    "is_settled",
    "load_profiles",
    "open_run",
    "parse_profiles",
    "simulate",
    "validator_name",
]
