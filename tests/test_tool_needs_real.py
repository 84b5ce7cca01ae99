"""What the doctor says of a tool's credential and endpoint is what the real tool does.

For each way a credential can be given (or not), the doctor's verdict
(``diagnose``) is checked against the real pinned CLI run in the very
environment playbill would give it (``agent_env`` of the backend): the tool
must call the endpoint the doctor named, and send a credential exactly when
the doctor found one. The endpoint is a loopback ``ScriptedServer``
answering 401; the tool is stopped once its first request has arrived.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import attrs
import pytest
import trio

import agent_clis
from model_servers.core import Reply, Request, ScriptedServer
from playbill.backends import CliAgentBackend, Diagnosis, claude_code, codex, diagnose
from playbill.backends._agent_process import agent_env
from playbill.backends._tool_needs import INFERENCE

pytestmark = pytest.mark.agent_clis

SAFETY_TIMEOUT_S = 60.0
"""How long a tool may take to call the server, or exit, before the test gives up."""

QUIET = {
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
}
"""Claude Code's telemetry, update checks and error reports off."""

CODEX_QUIET = "check_for_update_on_startup = false\n[analytics]\nenabled = false\n"
"""Codex's update check and analytics off (``config.toml``)."""


class Unauthorized:
    """Answers every request with 401, so the tool gives up at once."""

    def handle(self, request: Request, reply: Reply) -> None:
        body = b'{"error": {"type": "authentication_error", "message": "invalid x-api-key"}}'
        reply.send(401, {"content-type": "application/json"}, body)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(Unauthorized()) as running:
        yield running


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return agent_clis.bare_home(tmp_path, monkeypatch)


def first_request(
    argv: list[str], env: dict[str, str], cwd: Path, server: ScriptedServer
) -> tuple[Request | None, str]:
    """Run the tool until its first request reaches ``server`` (or it exits): that request."""
    before = len(server.requests)  # the doctor's own
    with (cwd / "out.txt").open("w+b") as out:
        process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + SAFETY_TIMEOUT_S
            while len(server.requests) == before and process.poll() is None:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{argv[0]} neither called the server nor exited")
                time.sleep(0.05)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        out.seek(0)
        printed = out.read().decode(errors="replace")
    requests = server.requests[before:]
    return (requests[0] if requests else None), printed


def check(backend: CliAgentBackend) -> Diagnosis:
    found = trio.run(partial(diagnose, "agent", backend, base=None, timeout_s=10))
    assert not any("not supported" in p or "not found" in p for p in found.problems), found
    return found


def sent_credential(request: Request) -> bool:
    return "x-api-key" in request.headers or "authorization" in request.headers


@attrs.frozen
class World:
    """Where a setup puts a credential: the home, a scratch directory, the environment."""

    home: Path
    tmp: Path
    server: ScriptedServer
    mp: pytest.MonkeyPatch


Setup = Callable[[World], tuple[str, ...]]
"""Gives the tool a credential (or not); returns the names to add to ``env_allow``."""


def claude_key(w: World) -> tuple[str, ...]:
    w.mp.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-needs-0001")
    return ()


def claude_token(w: World) -> tuple[str, ...]:
    w.mp.setenv("ANTHROPIC_AUTH_TOKEN", "needs-auth-token-0002")
    return ()


def claude_oauth_env(w: World) -> tuple[str, ...]:
    w.mp.setenv("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-needs-0003")
    return ("CLAUDE_CODE_OAUTH_TOKEN",)


def login_file(config_dir: Path, oauth: dict[str, object]) -> None:
    """A login as ``claude`` then /login stores it (on Linux: a plain file)."""
    config_dir.mkdir()
    (config_dir / ".credentials.json").write_text(json.dumps({"claudeAiOauth": oauth}))


def claude_login_home(w: World) -> tuple[str, ...]:
    login_file(
        w.home / ".claude", {"accessToken": "sk-ant-oat01-needs-0004", "scopes": [INFERENCE]}
    )
    return ()


def claude_login_config_dir(w: World) -> tuple[str, ...]:
    config = w.tmp / "claude-config"
    login_file(config, {"accessToken": "sk-ant-oat01-needs-0005", "scopes": [INFERENCE]})
    w.mp.setenv("CLAUDE_CONFIG_DIR", str(config))
    return ()


def claude_primary_key(w: World) -> tuple[str, ...]:
    (w.home / ".claude.json").write_text(json.dumps({"primaryApiKey": "sk-ant-api03-needs-0006"}))
    return ()


def claude_login_without_scope(w: World) -> tuple[str, ...]:
    login_file(w.home / ".claude", {"accessToken": "sk-ant-oat01-0008", "scopes": ["user:profile"]})
    return ()


def claude_refresh_token_only(w: World) -> tuple[str, ...]:
    login_file(w.home / ".claude", {"refreshToken": "sk-ant-ort01-0009", "scopes": [INFERENCE]})
    return ()


def claude_nothing(w: World) -> tuple[str, ...]:
    return ()


def claude_oauth_by_default(w: World) -> tuple[str, ...]:
    w.mp.setenv("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-needs-0007")
    return ()  # not in env_allow: the preset passes it on all the same


@pytest.mark.parametrize(
    ("setup", "has_credential"),
    [
        (claude_key, True),
        (claude_token, True),
        (claude_oauth_env, True),
        (claude_login_home, True),
        (claude_login_config_dir, True),
        (claude_primary_key, True),
        (claude_nothing, False),
        (claude_login_without_scope, False),
        (claude_refresh_token_only, False),
        (claude_oauth_by_default, True),
    ],
)
def test_claude_code_credentials(
    setup: Setup,
    has_credential: bool,
    home: Path,
    tmp_path: Path,
    server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    executable = agent_clis.executable("claude_code")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    allow = setup(World(home, tmp_path, server, monkeypatch))
    backend = claude_code(executable=str(executable), env_allow=allow)
    found = check(backend)
    assert (found.credential is not None) == has_credential, found
    assert found.endpoint is not None and found.endpoint.url == server.url

    argv = [str(executable), "-p", "hi", "--output-format", "json"]
    request, printed = first_request(argv, agent_env(backend.passed_env, QUIET), tmp_path, server)
    if has_credential:
        assert request is not None, printed
        assert request.path.startswith("/v1/messages")
        assert sent_credential(request)
    else:
        assert request is None
        assert "Not logged in" in printed


def codex_key(w: World) -> tuple[str, ...]:
    w.mp.setenv("CODEX_API_KEY", "sk-codex-needs-0011")
    return ()


def codex_stored_key(w: World) -> tuple[str, ...]:
    (w.tmp / "codex" / "auth.json").write_text(json.dumps({"OPENAI_API_KEY": "sk-needs-0012"}))
    return ()


def codex_openai_key_only(w: World) -> tuple[str, ...]:
    w.mp.setenv("OPENAI_API_KEY", "sk-openai-needs-0013")
    return ()


def codex_own_provider(w: World) -> tuple[str, ...]:
    config = w.tmp / "codex" / "config.toml"
    config.write_text(
        'model_provider = "loop"\n' + CODEX_QUIET + "[model_providers.loop]\n"
        f'name = "Loop"\nbase_url = "{w.server.url}/loop/v1"\nenv_key = "LOOP_API_KEY"\n'
        'wire_api = "responses"\n'
    )
    w.mp.setenv("LOOP_API_KEY", "sk-loop-needs-0014")
    return ("LOOP_API_KEY",)


@pytest.mark.parametrize(
    ("setup", "has_credential"),
    [
        (codex_key, True),
        (codex_stored_key, True),
        (codex_openai_key_only, False),
        (codex_own_provider, True),
    ],
)
def test_codex_credentials_and_endpoint(
    setup: Setup,
    has_credential: bool,
    home: Path,
    tmp_path: Path,
    server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    executable = agent_clis.executable("codex")
    codex_home = tmp_path / "codex"
    codex_home.mkdir()
    (codex_home / "config.toml").write_text(f'openai_base_url = "{server.url}/v1"\n' + CODEX_QUIET)
    monkeypatch.setenv("CODEX_HOME", str(codex_home))
    allow = setup(World(home, tmp_path, server, monkeypatch))
    backend = codex(executable=str(executable), env_allow=allow)
    found = check(backend)
    assert (found.credential is not None) == has_credential, found
    assert found.endpoint is not None

    work = tmp_path / "work"
    work.mkdir()
    argv = [str(executable), "exec", "--json", "--skip-git-repo-check", "--sandbox", "read-only"]
    request, printed = first_request([*argv, "hi"], agent_env(backend.passed_env), work, server)
    assert request is not None, printed
    # it called the endpoint the doctor named, with a credential exactly when one was found
    assert request.path.startswith(found.endpoint.url.removeprefix(server.url) + "/responses")
    assert sent_credential(request) == has_credential
