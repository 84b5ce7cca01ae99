"""What each preset says its tool needs, from the environment and the tool's own files.

(What the real tools do with these is checked in ``test_tool_needs_real.py``.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from playbill.backends._preset_aider import AiderTool
from playbill.backends._preset_claude import ClaudeCodeTool
from playbill.backends._preset_codex import CodexTool
from playbill.backends._tool_needs import CODEX_API, CODEX_CHATGPT, aider_provider


def test_claude_code_key_login_and_endpoint(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    needs = ClaudeCodeTool().needs(env)
    assert needs.keys == ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")
    assert needs.login is None
    assert (needs.endpoint, needs.endpoint_from) == ("https://api.anthropic.com", "default")
    (tmp_path / ".claude.json").write_text(json.dumps({"primaryApiKey": "k" * 10}))
    moved = ClaudeCodeTool().needs({**env, "ANTHROPIC_BASE_URL": "http://127.0.0.1:9/"})
    assert moved.login == str(tmp_path / ".claude.json")
    assert (moved.endpoint, moved.endpoint_from) == ("http://127.0.0.1:9/", "ANTHROPIC_BASE_URL")


@pytest.mark.parametrize(
    ("config", "auth", "extra", "keys", "endpoint"),
    [
        ("", None, (), ("CODEX_API_KEY",), CODEX_API),
        ("", {"tokens": {"access_token": "t"}}, (), ("CODEX_API_KEY",), CODEX_CHATGPT),
        ('openai_base_url = "http://h/v1"', None, (), ("CODEX_API_KEY",), "http://h/v1"),
        ("", None, ("-c", 'openai_base_url="http://c/v1"'), ("CODEX_API_KEY",), "http://c/v1"),
        (
            'model_provider = "p"\n'
            '[model_providers.p]\nbase_url = "http://p/v1"\nenv_key = "P_KEY"',
            None,
            (),
            ("P_KEY",),
            "http://p/v1",
        ),
        (
            'profile = "work"\n[profiles.work]\nmodel_provider = "p"\n'
            '[model_providers.p]\nbase_url = "http://w/v1"\nrequires_openai_auth = true',
            None,
            (),
            ("CODEX_API_KEY",),
            "http://w/v1",
        ),
    ],
)
def test_codex_provider_key_and_endpoint(
    tmp_path: Path,
    config: str,
    auth: dict[str, object] | None,
    extra: tuple[str, ...],
    keys: tuple[str, ...],
    endpoint: str,
) -> None:
    (tmp_path / "config.toml").write_text(config)
    if auth is not None:
        (tmp_path / "auth.json").write_text(json.dumps(auth))
    needs = CodexTool(extra_args=extra).needs({"CODEX_HOME": str(tmp_path)})
    assert (needs.keys, needs.endpoint, needs.problems) == (keys, endpoint, ())
    assert (needs.login is not None) == (auth is not None)


def test_codex_configurations_it_refuses_are_problems(tmp_path: Path) -> None:
    env = {"CODEX_HOME": str(tmp_path), "OPENAI_API_KEY": "sk-x"}
    (tmp_path / "config.toml").write_text('model_provider = "nowhere"\n')
    (undefined,) = CodexTool().needs(env).problems
    assert "model provider 'nowhere' is not defined" in undefined
    (tmp_path / "config.toml").write_text("model_provider = \n")
    (broken,) = CodexTool().needs(env).problems
    assert "config.toml cannot be read" in broken
    (tmp_path / "config.toml").write_text("")
    (note,) = CodexTool().needs(env).notes
    assert "OPENAI_API_KEY is set, but `codex exec` does not read it" in note
    (tmp_path / "config.toml").write_text('model_provider = "oss"\n')
    local = CodexTool().needs(env)
    assert local.keys == () and local.problems == () and local.endpoint is None


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("sonnet", "anthropic"),
        ("claude-sonnet-4-5", "anthropic"),
        ("4o", "openai"),
        ("gpt-4.1", "openai"),
        ("openai/my-local-model", "openai"),
        ("deepseek", "deepseek"),
        ("gemini/gemini-2.5-pro", "gemini"),
        ("openrouter/anthropic/claude-sonnet-4", "openrouter"),
        ("ollama_chat/llama3", "ollama_chat"),
        ("bedrock/anthropic.claude-v2", None),
        ("mystery-model", None),
    ],
)
def test_aider_model_providers(model: str, provider: str | None) -> None:
    assert aider_provider(model) == provider


def test_aider_key_and_endpoint_follow_its_model() -> None:
    env = {"OPENAI_API_BASE": "http://127.0.0.1:9/v1"}
    openai = AiderTool(model="openai/x").needs(env)
    assert (openai.keys, openai.endpoint) == (("OPENAI_API_KEY",), "http://127.0.0.1:9/v1")
    alias = AiderTool(model="sonnet").needs(env)
    assert (alias.keys, alias.endpoint) == (("ANTHROPIC_API_KEY",), "https://api.anthropic.com")
    local = AiderTool(model="ollama/llama3").needs({})
    assert (local.keys, local.endpoint) == ((), "http://localhost:11434")
    unknown = AiderTool(model="mystery-model").needs({})
    assert unknown.keys == () and "cannot be told" in unknown.notes[0]
    # no model: aider picks one by the first key set, in its own order
    picked = AiderTool().needs({"OPENAI_API_KEY": "k", "GEMINI_API_KEY": "k"})
    assert picked.keys[0] == "OPENROUTER_API_KEY" and picked.endpoint == "https://api.openai.com/v1"
    assert AiderTool().needs({"AIDER_MODEL": "deepseek"}).keys == ("DEEPSEEK_API_KEY",)
