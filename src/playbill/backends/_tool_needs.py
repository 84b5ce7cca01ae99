"""What a coding-agent CLI needs besides its executable: a credential and an endpoint.

Each preset tool declares it (``CliTool.needs``), from the environment the
tool will get (``BASE_ENV`` and its ``env_allow``, never playbill's whole
environment) and the tool's own files, for ``playbill doctor``. The
knowledge of each tool lives here, learnt from the pinned releases
(``tests/agent_clis.toml``), each checked against the real tool with a
loopback server:

- **Claude Code** (2.1): a key in ``ANTHROPIC_API_KEY`` (sent as
  ``x-api-key``), a token in ``ANTHROPIC_AUTH_TOKEN`` or
  ``CLAUDE_CODE_OAUTH_TOKEN`` (sent as a bearer token), or a login it
  stored: ``.credentials.json`` in its configuration directory
  (``CLAUDE_CONFIG_DIR``, else ``~/.claude``) holding a ``claudeAiOauth``
  access token with the ``user:inference`` scope, or a ``primaryApiKey``
  in ``.claude.json`` (in
  ``CLAUDE_CONFIG_DIR``, else the home directory). Without any it answers
  "Not logged in" and calls nothing. It calls ``ANTHROPIC_BASE_URL`` (else
  ``https://api.anthropic.com``) at ``/v1/messages``.
- **Codex** (0.171): ``codex exec`` authenticates with ``CODEX_API_KEY`` or
  the ``auth.json`` of ``CODEX_HOME`` (else ``~/.codex``: an
  ``OPENAI_API_KEY`` stored by ``codex login --with-api-key``, or ChatGPT
  ``tokens``); it does **not** read ``OPENAI_API_KEY`` from the
  environment, nor ``OPENAI_BASE_URL``: the base URL of its built-in
  ``openai`` provider is ``openai_base_url`` in ``config.toml`` (or ``-c
  openai_base_url=...``), else ``https://api.openai.com/v1`` (with a
  ChatGPT login, ``https://chatgpt.com/backend-api/codex``). A provider of
  its own (``model_provider = "x"`` and ``[model_providers.x]``) has its
  ``base_url`` and takes its key from its ``env_key``.
- **Aider** (0.86): the key of its model's provider (``--model``, else
  ``AIDER_MODEL``; without either it picks a model from the first key set
  among ``OPENROUTER_API_KEY``, ``ANTHROPIC_API_KEY``, ``DEEPSEEK_API_KEY``,
  ``OPENAI_API_KEY``, ``GEMINI_API_KEY``), and that provider's base URL
  variable (``OPENAI_API_BASE``...) or its public endpoint.
"""

from __future__ import annotations

import itertools
import json
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, final

import attrs


@final
@attrs.frozen(kw_only=True)
class ToolNeeds:
    """What a coding-agent CLI needs to start working, besides its executable.

    Attributes:
        keys: Environment variables any one of which holds its credential;
            empty when it needs none (or when which one cannot be told: see
            ``notes``).
        login: Where a login the tool stored was found (a file); it stands
            in for a key.
        login_hint: How to log in instead of setting a key, for humans.
        endpoint: The HTTP base URL it calls; ``None`` when not known.
        endpoint_from: Where ``endpoint`` comes from: a variable's name, a
            configuration file's key, or ``default``.
        problems: What is wrong already (a configuration the tool refuses).
        notes: What the check could not tell, or should warn about.
    """

    keys: tuple[str, ...] = ()
    login: str | None = None
    login_hint: str | None = None
    endpoint: str | None = None
    endpoint_from: str = "default"
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def endpoint_of(
    env: Mapping[str, str], names: Sequence[str], default: str | None
) -> tuple[str | None, str]:
    """The base URL a tool calls: the first of ``names`` set in ``env``, else ``default``."""
    for name in names:
        if env.get(name, "").strip():
            return env[name].strip(), name
    return default, "default"


def home(env: Mapping[str, str]) -> Path:
    """The home directory of the tool's environment (``HOME``, else ``~``)."""
    return Path(env["HOME"]) if env.get("HOME") else Path.home()


def _json_object(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _filled(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


# -------------------------------------------------------------- Claude Code

INFERENCE = "user:inference"
"""The scope a Claude Code login needs to call the model."""


def claude_login(env: Mapping[str, str]) -> str | None:
    """Where Claude Code keeps a login, if it has one (``None`` otherwise).

    A ``claudeAiOauth`` access token with the ``user:inference`` scope in
    ``.credentials.json`` of its configuration directory (a refresh token
    alone, or a token without that scope, and it answers "Not logged in"),
    or a ``primaryApiKey`` in its ``.claude.json``.
    """
    configured = env.get("CLAUDE_CONFIG_DIR", "").strip()
    config_dir = Path(configured) if configured else home(env) / ".claude"
    credentials = config_dir / ".credentials.json"
    oauth = _table((_json_object(credentials) or {}).get("claudeAiOauth"))
    scopes = oauth.get("scopes")
    if _filled(oauth.get("accessToken")) and isinstance(scopes, list) and INFERENCE in scopes:
        return str(credentials)
    global_config = (Path(configured) if configured else home(env)) / ".claude.json"
    if _filled((_json_object(global_config) or {}).get("primaryApiKey")):
        return str(global_config)
    return None


# -------------------------------------------------------------------- Codex

CODEX_KEY_ENV = "CODEX_API_KEY"
"""The variable ``codex exec`` takes an API key from."""

CODEX_API = "https://api.openai.com/v1"
"""The base URL of Codex's ``openai`` provider with an API key."""

CODEX_CHATGPT = "https://chatgpt.com/backend-api/codex"
"""The base URL of Codex's ``openai`` provider with a ChatGPT login."""

CODEX_LOCAL_PROVIDERS = frozenset({"oss", "ollama", "lmstudio"})
"""Codex's built-in providers for local models (no key)."""


def _config_overrides(extra_args: Sequence[str]) -> dict[str, object]:
    """``-c key=value`` / ``--config key=value`` of a Codex command line (values as TOML)."""
    found: dict[str, object] = {}
    for flag, value in itertools.pairwise(extra_args):
        if flag not in ("-c", "--config") or "=" not in value:
            continue
        key, raw = value.split("=", 1)
        try:
            found[key.strip()] = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            found[key.strip()] = raw  # Codex takes what is not TOML as a string
    return found


def codex_needs(env: Mapping[str, str], extra_args: Sequence[str]) -> ToolNeeds:
    """What ``codex exec`` needs, from ``CODEX_HOME`` (its ``config.toml``, ``auth.json``)."""
    configured = env.get("CODEX_HOME", "").strip()
    codex_home = Path(configured) if configured else home(env) / ".codex"
    config_file = codex_home / "config.toml"
    notes: list[str] = []
    problems: list[str] = []
    config: dict[str, Any] = {}
    try:
        with config_file.open("rb") as f:
            config = tomllib.load(f)
    except FileNotFoundError:
        pass
    except (OSError, tomllib.TOMLDecodeError) as error:
        problems.append(f"{config_file} cannot be read: {error}")
    overrides = _config_overrides(extra_args)
    chosen = overrides.get("profile", config.get("profile"))
    profiles = _table(config.get("profiles"))
    profile = _table(profiles.get(chosen)) if isinstance(chosen, str) else {}
    provider = str(
        overrides.get(
            "model_provider", profile.get("model_provider", config.get("model_provider", "openai"))
        )
    )
    auth_file = codex_home / "auth.json"
    auth = _json_object(auth_file) or {}
    tokens = auth.get("tokens")
    chatgpt = isinstance(tokens, dict) and _filled(tokens.get("access_token"))
    login = str(auth_file) if chatgpt or _filled(auth.get("OPENAI_API_KEY")) else None
    hint = "`codex login`, or `codex login --with-api-key`"
    if env.get("OPENAI_API_KEY") and not env.get(CODEX_KEY_ENV) and login is None:
        notes.append(
            "OPENAI_API_KEY is set, but `codex exec` does not read it: "
            f"set {CODEX_KEY_ENV}, or store it with `codex login --with-api-key`"
        )
    if provider == "openai":
        base = overrides.get("openai_base_url", config.get("openai_base_url"))
        if _filled(base):
            where = "-c openai_base_url" if "openai_base_url" in overrides else str(config_file)
            endpoint, source = str(base), where
        else:
            endpoint, source = (CODEX_CHATGPT if chatgpt else CODEX_API), "default"
        return ToolNeeds(
            keys=(CODEX_KEY_ENV,),
            login=login,
            login_hint=hint,
            endpoint=endpoint,
            endpoint_from=source,
            problems=tuple(problems),
            notes=tuple(notes),
        )
    table = _table(config.get("model_providers")).get(provider)
    if not isinstance(table, dict):
        if provider in CODEX_LOCAL_PROVIDERS:
            notes.append(f"Codex's local provider {provider!r} needs no key; not checked further")
        else:
            problems.append(f"model provider {provider!r} is not defined in {config_file}")
        return ToolNeeds(problems=tuple(problems), notes=tuple(notes))
    env_key = table.get("env_key")
    keys = (str(env_key),) if _filled(env_key) else ()
    hinted: str | None = hint
    if table.get("requires_openai_auth"):
        keys = (*keys, CODEX_KEY_ENV)
    else:
        login, hinted = None, None
    if _filled(table.get("experimental_bearer_token")):
        login = f"{config_file} (experimental_bearer_token)"
    base_url = table.get("base_url")
    return ToolNeeds(
        keys=keys,
        login=login,
        login_hint=hinted,
        endpoint=str(base_url) if _filled(base_url) else None,
        endpoint_from=f"{config_file} model_providers.{provider}.base_url",
        problems=tuple(problems),
        notes=tuple(notes),
    )


# -------------------------------------------------------------------- Aider


@final
@attrs.frozen
class Provider:
    """A model provider as aider (through litellm) reaches it.

    Attributes:
        key: The variable holding its key; ``None`` when it needs none.
        base_env: The variable that moves its base URL.
        default: Its base URL when ``base_env`` is not set.
    """

    key: str | None
    base_env: str
    default: str


AIDER_PROVIDERS: Mapping[str, Provider] = {
    "openai": Provider("OPENAI_API_KEY", "OPENAI_API_BASE", "https://api.openai.com/v1"),
    "anthropic": Provider("ANTHROPIC_API_KEY", "ANTHROPIC_API_BASE", "https://api.anthropic.com"),
    "gemini": Provider(
        "GEMINI_API_KEY", "GEMINI_API_BASE", "https://generativelanguage.googleapis.com"
    ),
    "deepseek": Provider("DEEPSEEK_API_KEY", "DEEPSEEK_API_BASE", "https://api.deepseek.com"),
    "openrouter": Provider(
        "OPENROUTER_API_KEY", "OPENROUTER_API_BASE", "https://openrouter.ai/api/v1"
    ),
    "xai": Provider("XAI_API_KEY", "XAI_API_BASE", "https://api.x.ai/v1"),
    "ollama": Provider(None, "OLLAMA_API_BASE", "http://localhost:11434"),
    "ollama_chat": Provider(None, "OLLAMA_API_BASE", "http://localhost:11434"),
}
"""The providers whose key and endpoint ``playbill doctor`` knows, by litellm prefix."""

AIDER_DEFAULT_ORDER: tuple[tuple[str, str], ...] = (
    ("OPENROUTER_API_KEY", "openrouter"),
    ("ANTHROPIC_API_KEY", "anthropic"),
    ("DEEPSEEK_API_KEY", "deepseek"),
    ("OPENAI_API_KEY", "openai"),
    ("GEMINI_API_KEY", "gemini"),
)
"""The keys aider looks for, in order, to pick a model when it is given none."""

_AIDER_ALIASES: Mapping[str, str] = {
    "sonnet": "anthropic",
    "haiku": "anthropic",
    "opus": "anthropic",
    "4": "openai",
    "4o": "openai",
    "4-turbo": "openai",
    "35turbo": "openai",
    "35-turbo": "openai",
    "3": "openai",
    "deepseek": "deepseek",
    "r1": "deepseek",
    "flash": "gemini",
    "flash-lite": "gemini",
    "gemini": "gemini",
    "gemini-2.5-pro": "gemini",
    "gemini-3-pro-preview": "gemini",
    "gemini-exp": "gemini",
    "quasar": "openrouter",
    "optimus": "openrouter",
    "grok3": "xai",
}
"""Aider's model aliases (``aider/models.py`` ``MODEL_ALIASES``), by provider."""


def aider_provider(model: str) -> str | None:
    """The provider of an aider model name or alias; ``None`` when it cannot be told."""
    if model in _AIDER_ALIASES:
        return _AIDER_ALIASES[model]
    prefix, slash, _ = model.partition("/")
    if slash:
        return prefix if prefix in AIDER_PROVIDERS else None
    if model.startswith("claude-"):
        return "anthropic"
    if model.startswith(("gpt-", "chatgpt-", "o1", "o3", "o4")):
        return "openai"
    return None


def aider_needs(env: Mapping[str, str], model: str | None, extra_args: Sequence[str]) -> ToolNeeds:
    """What aider needs for ``model`` (the last ``--model`` of ``extra_args`` wins)."""
    for flag, value in itertools.pairwise(extra_args):
        if flag == "--model":
            model = value
    if model is None and env.get("AIDER_MODEL", "").strip():
        model = env["AIDER_MODEL"].strip()
    if model is None:
        chosen = next((p for key, p in AIDER_DEFAULT_ORDER if env.get(key)), None)
        keys = tuple(key for key, _ in AIDER_DEFAULT_ORDER)
        if chosen is None:
            return ToolNeeds(keys=keys)
        provider = AIDER_PROVIDERS[chosen]
        endpoint, source = endpoint_of(env, (provider.base_env,), provider.default)
        return ToolNeeds(keys=keys, endpoint=endpoint, endpoint_from=source)
    name = aider_provider(model)
    if name is None:
        note = f"which provider serves model {model!r} cannot be told: its key is not checked"
        return ToolNeeds(notes=(note,))
    provider = AIDER_PROVIDERS[name]
    endpoint, source = endpoint_of(env, (provider.base_env,), provider.default)
    keys = (provider.key,) if provider.key is not None else ()
    return ToolNeeds(keys=keys, endpoint=endpoint, endpoint_from=source)
