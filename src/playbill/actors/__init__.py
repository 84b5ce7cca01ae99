"""Agents and runs: role actors, their backends, live runs and simulation.

Builds on :mod:`playbill.runtime` (the kernel); nothing there imports this.
"""

from __future__ import annotations

from playbill._problems import Problem, ProblemsError
from playbill._process import process_info
from playbill.runtime import is_settled as is_settled

from ._availability import (
    AgentUnavailableError,
    Unavailable,
    UnavailableReason,
    require_startable,
)
from ._backend import (
    AgentBackend,
    BackendConfigError,
    BackendError,
    Capabilities,
    CapabilityError,
    Reporter,
    WorkKind,
    WorkOrder,
    check_capabilities,
)
from ._backend_options import ChecksOptions, CommandOptions, OpenAIOptions
from ._checks import ChecksBackend
from ._cli_agent import CliAgentBackend, CliTool, ToolAnswer
from ._command import PLACEHOLDERS, CommandBackend
from ._doctor import ENDPOINT_TIMEOUT_S, Diagnosis, Endpoint, EnvVar, diagnose, diagnose_all
from ._integrator import IntegratorActor
from ._openai import OpenAIBackend
from ._preset_options import AiderOptions, ClaudeCodeOptions, CodexOptions
from ._presets import aider, claude_code, codex
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
from ._prompt import payload_type, render_prompt, result_schema
from ._role import RoleActor
from ._run import BackendFactory, Run, RunSpec, open_run
from ._scripted import Edit, Scripted, ScriptedBackend
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
from ._tool_needs import ToolNeeds
from ._workbench import BASE_LABEL, REPO_LABEL, WORKTREES_LABEL, Workbench

__all__ = [
    "BASE_LABEL",
    "BUILTIN_PROFILES",
    "DEFAULT_PROFILE",
    "ENDPOINT_TIMEOUT_S",
    "EPOCH_US",
    "PLACEHOLDERS",
    "REPO_LABEL",
    "WORKTREES_LABEL",
    "AgentBackend",
    "AgentProfile",
    "AgentUnavailableError",
    "AiderOptions",
    "BackendConfigError",
    "BackendError",
    "BackendFactory",
    "Capabilities",
    "CapabilityError",
    "ChecksBackend",
    "ChecksOptions",
    "Chunk",
    "ClaudeCodeOptions",
    "CliAgentBackend",
    "CliTool",
    "CodexOptions",
    "CommandBackend",
    "CommandOptions",
    "Diagnosis",
    "Edit",
    "Endpoint",
    "EnvVar",
    "FaultOdds",
    "IntegratorActor",
    "Latency",
    "OpenAIBackend",
    "OpenAIOptions",
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
    "Scripted",
    "ScriptedBackend",
    "SimulatedBackend",
    "SimulatedCrash",
    "SimulatedOutcome",
    "SimulationResult",
    "Tokens",
    "ToolAnswer",
    "ToolNeeds",
    "Unavailable",
    "UnavailableReason",
    "WorkKind",
    "WorkOrder",
    "Workbench",
    "aider",
    "check_capabilities",
    "claude_code",
    "codex",
    "default_plan",
    "default_run_id",
    "diagnose",
    "diagnose_all",
    "draw_outcome",
    "is_settled",
    "load_profiles",
    "open_run",
    "parse_profiles",
    "payload_type",
    "process_info",
    "render_prompt",
    "require_startable",
    "result_schema",
    "simulate",
    "validator_name",
]
