"""``playbill doctor``: the real pinned CLIs, a loopback endpoint, and every way to be unready.

The programs are the real CLIs of ``tests/agent_clis.toml`` (or the fake
ones of ``tests/fixtures/backends`` for a release that does not exist);
every endpoint is a ``ScriptedServer`` on 127.0.0.1 that answers 404, or a
port nothing listens on. No test reaches the internet: every endpoint the
doctor could call is moved to the loopback.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import agent_clis
from backend_helpers import FIXTURES
from model_servers.core import Reply, Request, ScriptedServer
from playbill.cli import cli

SECRETS = {
    "ANTHROPIC_API_KEY": "sk-ant-doctor-secret-0001",
    "CODEX_API_KEY": "sk-codex-doctor-secret-0002",
    "OPENAI_API_KEY": "sk-openai-doctor-secret-0003",
}
"""Credentials the tests set; their values must never be printed."""


class NotFound:
    """An API that answers every request with 404: enough to be an endpoint that answers."""

    def handle(self, request: Request, reply: Reply) -> None:
        reply.send(404, {"content-type": "application/json"}, b'{"error": "not found"}')


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(NotFound()) as running:
        yield running


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home of its own (no login of the machine's user counts) and none of its variables."""
    return agent_clis.bare_home(tmp_path, monkeypatch, "FAKE_VERSION")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def codex_home(root: Path, server: ScriptedServer) -> Path:
    """A CODEX_HOME whose config moves the ``openai`` provider to the loopback server."""
    root.mkdir()
    (root / "config.toml").write_text(
        f'openai_base_url = "{server.url}/v1"\n'
        "check_for_update_on_startup = false\n[analytics]\nenabled = false\n"
    )
    return root


def agent(agent_id: str, backend: str, roles: str = '["executor"]', **options: object) -> str:
    lines = [f'[[agents]]\nid = "{agent_id}"\nroles = {roles}\nbackend = "{backend}"']
    lines.append("[agents.options]")
    lines += [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


def write_plan(path: Path, *agents: str) -> Path:
    steps = '[[steps]]\nid = "fix"\ngoal = "make add add"\nscope = ["calc.py"]\n'
    path.write_text('[run]\ngoal = "make add add"\n\n' + "\n".join(agents) + "\n" + steps)
    return path


def doctor(*args: str) -> Result:
    return CliRunner().invoke(cli, ["doctor", *args])


def assert_no_secret(result: Result) -> None:
    for value in SECRETS.values():
        assert value not in result.stdout
        assert value not in result.stderr


def problems(result: Result) -> list[str]:
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("playbill: agent '") for line in lines), lines
    return [line.removeprefix("playbill: ") for line in lines]


@pytest.mark.agent_clis
def test_the_real_clis_with_keys_and_a_loopback_endpoint_are_ready(
    home: Path, tmp_path: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    claude = agent_clis.executable("claude_code")
    codex = agent_clis.executable("codex")
    aider = agent_clis.executable("aider")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    monkeypatch.setenv("CODEX_HOME", str(codex_home(tmp_path / "codex", server)))
    monkeypatch.setenv("OPENAI_API_BASE", f"{server.url}/v1")
    plan = write_plan(
        tmp_path / "playbill.toml",
        agent("claude", "claude_code", executable=str(claude)),
        agent("codex", "codex", executable=str(codex)),
        agent("aider", "aider", executable=str(aider), model="openai/gpt-4o-mini"),
    )
    result = doctor(str(plan))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "3 of 3 agent(s) ready" in result.stdout
    assert_no_secret(result)

    as_json = doctor(str(plan), "--json")
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    assert report["ready"] is True and report["problems"] == []
    assert report["plan"] == str(plan)
    found = {a["agent"]: a for a in report["agents"]}
    assert list(found) == ["claude", "codex", "aider"]
    assert found["claude"]["version"] == agent_clis.pins()["claude_code"]["version"]
    assert found["codex"]["version"] == agent_clis.pins()["codex"]["version"]
    assert found["aider"]["version"] == agent_clis.pins()["aider"]["version"]
    assert all(a["in_range"] and a["path"] for a in found.values())
    assert found["claude"]["credential"] == "ANTHROPIC_API_KEY"
    assert found["codex"]["credential"] == "CODEX_API_KEY"
    assert found["aider"]["credential"] == "OPENAI_API_KEY"
    assert found["claude"]["endpoint"] == {
        "url": server.url,
        "source": "ANTHROPIC_BASE_URL",
        "answers": True,
        "status": 404,
        "error": None,
    }
    assert found["codex"]["endpoint"]["source"].endswith("config.toml")
    assert found["aider"]["endpoint"]["url"] == f"{server.url}/v1"
    assert {"name": "ANTHROPIC_API_KEY", "set": True, "reaches": True} in found["claude"]["env"]
    assert_no_secret(as_json)
    # the endpoints were asked, and never with a credential
    assert server.requests
    for request in server.requests:
        assert request.method == "GET"
        assert not {"authorization", "x-api-key"} & set(request.headers)


@pytest.mark.agent_clis
def test_every_problem_is_one_line_naming_its_agent(
    home: Path, tmp_path: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    codex = agent_clis.executable("codex")
    aider = agent_clis.executable("aider")
    for name, value in SECRETS.items():
        if name != "CODEX_API_KEY":
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    monkeypatch.setenv("CODEX_HOME", str(codex_home(tmp_path / "codex", server)))
    refused = f"http://127.0.0.1:{closed_port()}/v1"
    monkeypatch.setenv("OPENAI_API_BASE", refused)
    monkeypatch.setenv("FAKE_VERSION", "99.0.0")
    missing = tmp_path / "no-such-claude"
    plan = write_plan(
        tmp_path / "playbill.toml",
        agent("ghost", "claude_code", executable=str(missing)),
        agent(
            "old",
            "claude_code",
            executable=str(FIXTURES / "fake_claude"),
            env_allow=["FAKE_VERSION"],
        ),
        agent("keyless", "codex", executable=str(codex)),
        agent("offline", "aider", executable=str(aider), model="openai/gpt-4o-mini"),
    )
    result = doctor(str(plan))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = problems(result)
    assert len(lines) == 4, lines
    ghost, old, keyless, offline = lines
    assert ghost == f"agent 'ghost' (claude_code): {missing}: not found"
    assert old.startswith("agent 'old' (claude_code): ")
    assert "release 99.0.0 is not supported (supported: >= 2.1.0, < 2.2.0)" in old
    assert keyless.startswith("agent 'keyless' (codex): no credential: set CODEX_API_KEY")
    assert offline.startswith(
        f"agent 'offline' (aider): endpoint {refused} (OPENAI_API_BASE) does not answer: "
    )
    # Codex does not read OPENAI_API_KEY: said, by name only
    assert "OPENAI_API_KEY is set, but `codex exec` does not read it" in result.stdout
    assert "0 of 4 agent(s) ready" in result.stdout
    assert_no_secret(result)

    report = json.loads(doctor(str(plan), "--json").stdout)
    assert report["ready"] is False
    assert report["problems"] == lines
    found = {a["agent"]: a for a in report["agents"]}
    assert found["ghost"]["path"] is None and found["ghost"]["version"] is None
    assert found["old"]["version"] == "99.0.0" and found["old"]["in_range"] is False
    assert found["keyless"]["credential"] is None
    assert found["keyless"]["keys"] == ["CODEX_API_KEY"]
    assert found["offline"]["endpoint"]["answers"] is False


@pytest.mark.slow
def test_a_key_that_does_not_reach_the_agent_is_said_so(
    home: Path, tmp_path: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # xAI's key is not among the variables aider gets unless env_allow names it
    monkeypatch.setenv("XAI_API_KEY", "xai-doctor-secret-0005")
    monkeypatch.setenv("XAI_API_BASE", server.url)
    options = {"executable": str(FIXTURES / "fake_aider"), "model": "xai/grok-4"}
    plan = write_plan(
        tmp_path / "playbill.toml", agent("grok", "aider", env_allow=["XAI_API_BASE"], **options)
    )
    result = doctor(str(plan))
    assert result.exit_code == 1, result.output
    assert problems(result) == [
        "agent 'grok' (aider): no credential reaches it: XAI_API_KEY is set but not passed "
        "to the agent (add it to env_allow); it needs XAI_API_KEY"
    ]
    assert "xai-doctor-secret-0005" not in result.output

    passed = write_plan(
        tmp_path / "passed.toml",
        agent("grok", "aider", env_allow=["XAI_API_BASE", "XAI_API_KEY"], **options),
    )
    ready = doctor(str(passed), "--json")
    assert ready.exit_code == 0, ready.output
    assert json.loads(ready.stdout)["agents"][0]["credential"] == "XAI_API_KEY"
    assert "xai-doctor-secret-0005" not in ready.output


def test_claude_codes_own_credentials_reach_it_without_env_allow(
    home: Path, tmp_path: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-doctor-secret-0004")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    plan = write_plan(
        tmp_path / "playbill.toml",
        agent("claude", "claude_code", executable=str(FIXTURES / "fake_claude")),
    )
    ready = doctor(str(plan), "--json")
    assert ready.exit_code == 0, ready.output
    assert json.loads(ready.stdout)["agents"][0]["credential"] == "CLAUDE_CODE_OAUTH_TOKEN"
    assert "sk-ant-oat01-doctor-secret-0004" not in ready.output


@pytest.mark.agent_clis
def test_with_no_plan_the_three_presets_are_checked(
    home: Path, tmp_path: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    bins = {agent_clis.executable(name).parent for name in ("claude_code", "codex", "aider")}
    monkeypatch.setenv("PATH", ":".join([*map(str, sorted(bins)), "/usr/bin", "/bin"]))
    # Claude Code: a login it stored, no key; Codex: its key; aider: OpenAI's.
    (home / ".claude").mkdir()
    token = "sk-ant-oat01-doctor-login-0005"
    login = {"claudeAiOauth": {"accessToken": token, "scopes": ["user:inference"]}}
    (home / ".claude" / ".credentials.json").write_text(json.dumps(login))
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    monkeypatch.setenv("CODEX_HOME", str(codex_home(tmp_path / "codex", server)))
    monkeypatch.setenv("CODEX_API_KEY", SECRETS["CODEX_API_KEY"])
    monkeypatch.setenv("OPENAI_API_KEY", SECRETS["OPENAI_API_KEY"])
    monkeypatch.setenv("OPENAI_API_BASE", f"{server.url}/v1")
    result = doctor("--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["plan"] is None
    assert [(a["agent"], a["backend"]) for a in report["agents"]] == [
        ("claude_code", "claude_code"),
        ("codex", "codex"),
        ("aider", "aider"),
    ]
    claude = report["agents"][0]
    assert claude["credential"] == f"login: {home / '.claude' / '.credentials.json'}"
    assert token not in result.output
    assert_no_secret(result)
    table = doctor()
    assert table.exit_code == 0, table.output
    assert "the presets claude_code, codex, aider" in table.stdout


def test_command_and_openai_agents(
    home: Path, tmp_path: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_AGENT_TOKEN", "doctor-secret-0006")
    plan = write_plan(
        tmp_path / "playbill.toml",
        agent("script", "command", argv=["python3", "agent.py"], env_allow=["MY_AGENT_TOKEN"]),
        agent("local", "command", argv=["./agent.sh", "{prompt_file}"]),
        agent(
            "reviewer",
            "openai",
            roles='["reviewer"]',
            model="m",
            base_url=f"{server.url}/v1",
            api_key_env="MY_OPENAI_KEY",
        ),
        agent("sim", "simulated"),
    )
    result = doctor(str(plan), "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["problems"] == [
        "agent 'local' (command): ./agent.sh: not found",
        "agent 'reviewer' (openai): no credential: set MY_OPENAI_KEY (its api_key_env)",
    ]
    script, local, reviewer, sim = report["agents"]
    assert script["ready"] and script["path"].endswith("python3")
    assert local["ready"] is False and local["path"] is None
    assert script["env"] == [{"name": "MY_AGENT_TOKEN", "set": True, "reaches": True}]
    assert reviewer["endpoint"]["answers"] is True
    assert sim["ready"] and sim["backend"] == "simulated"
    assert "doctor-secret-0006" not in result.output

    # relative paths start from the plan's directory (the repository's top)
    agent_sh = tmp_path / "agent.sh"
    agent_sh.write_text("#!/bin/sh\n")
    agent_sh.chmod(0o755)
    monkeypatch.setenv("MY_OPENAI_KEY", "doctor-secret-0007")
    ready = doctor(str(plan))
    assert ready.exit_code == 0, ready.output
    assert "doctor-secret-0007" not in ready.output


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "cannot read the plan"),
        ("[run]\ngoal = 3\n", "run.goal: expected a non-empty string"),
    ],
)
def test_a_bad_plan_is_exit_2_in_one_line_without_traceback(
    tmp_path: Path, content: str | None, fragment: str
) -> None:
    plan = tmp_path / "playbill.toml"
    if content is not None:
        plan.write_text(content)
    result = doctor(str(plan))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith(f"playbill: error: {plan}")
    assert fragment in result.stderr


def test_validate_checks_the_plan_alone(
    home: Path, tmp_path: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    missing = tmp_path / "no-such-claude"
    plan = write_plan(
        tmp_path / "playbill.toml", agent("claude", "claude_code", executable=str(missing))
    )
    result = CliRunner().invoke(cli, ["validate", str(plan)])
    assert result.exit_code == 0, result.output
    assert "a valid plan" in result.stdout
    assert doctor(str(plan)).exit_code == 1
