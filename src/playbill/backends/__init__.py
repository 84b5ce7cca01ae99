"""Agent backends: the effectful part of an agent, and everything they need.

What a backend is (``AgentBackend``, ``WorkOrder``, ``Reporter``), the
built-in ones (the coding-agent CLIs' presets, ``command``, ``openai``,
``checks``, ``scripted``), their options (declared once, checked when a plan
loads), what an agent is told (``render_prompt``) and how its output is read,
how an agent's process runs and is supervised (a clean environment,
heartbeats from evidence, the opt-in sandbox), and whether each agent can
start (``require_startable``, ``diagnose``).

May import :mod:`playbill.runtime`, :mod:`playbill.validators`,
:mod:`playbill.workspaces` and playbill's top-level helper modules; nothing
here imports the actors, the run or the simulation.
"""

from __future__ import annotations

from playbill._process import process_info

from ._agent_process import agent_env
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
    BackendFactory,
    Capabilities,
    CapabilityError,
    Reporter,
    WorkKind,
    WorkOrder,
    check_capabilities,
    role_set,
)
from ._backend_options import ChecksOptions, CommandOptions, OpenAIOptions
from ._checks import ChecksBackend
from ._cli_agent import CliAgentBackend, CliOptions, CliTool, ToolAnswer
from ._command import PLACEHOLDERS, CommandBackend, placeholders_of
from ._doctor import ENDPOINT_TIMEOUT_S, Diagnosis, Endpoint, EnvVar, diagnose, diagnose_all
from ._openai import OpenAIBackend
from ._option_types import AtLeastOne, Count, EnvName, Prose, Seconds, SecondsOrNone, TokenCount
from ._preset_options import AiderOptions, ClaudeCodeOptions, CodexOptions
from ._presets import aider, checks, claude_code, codex, command, openai
from ._prompt import payload_type, render_prompt, result_schema
from ._sandbox import missing_sandbox
from ._scripted import Edit, Scripted, ScriptedBackend
from ._tool_needs import ToolNeeds

__all__ = [
    "ENDPOINT_TIMEOUT_S",
    "PLACEHOLDERS",
    "AgentBackend",
    "AgentUnavailableError",
    "AiderOptions",
    "AtLeastOne",
    "BackendConfigError",
    "BackendError",
    "BackendFactory",
    "Capabilities",
    "CapabilityError",
    "ChecksBackend",
    "ChecksOptions",
    "ClaudeCodeOptions",
    "CliAgentBackend",
    "CliOptions",
    "CliTool",
    "CodexOptions",
    "CommandBackend",
    "CommandOptions",
    "Count",
    "Diagnosis",
    "Edit",
    "Endpoint",
    "EnvName",
    "EnvVar",
    "OpenAIBackend",
    "OpenAIOptions",
    "Prose",
    "Reporter",
    "Scripted",
    "ScriptedBackend",
    "Seconds",
    "SecondsOrNone",
    "TokenCount",
    "ToolAnswer",
    "ToolNeeds",
    "Unavailable",
    "UnavailableReason",
    "WorkKind",
    "WorkOrder",
    "agent_env",
    "aider",
    "check_capabilities",
    "checks",
    "claude_code",
    "codex",
    "command",
    "diagnose",
    "diagnose_all",
    "missing_sandbox",
    "openai",
    "payload_type",
    "placeholders_of",
    "process_info",
    "render_prompt",
    "require_startable",
    "result_schema",
    "role_set",
]
