"""The Aider preset against the real ``aider`` (``tests/agent_clis.toml``) and a scripted model.

The model is a ``ChatCompletions`` server on 127.0.0.1 (``openai/<name>``
with ``OPENAI_API_BASE``); a ``NetworkTrap`` is the proxy for everything
else, and every test ends by checking that nothing tried to reach it. Aider
gets a home directory of its own (its ``~/.aider`` and config files are the
test's) and the model's context window and prices from a
``--model-metadata-file``, so that it computes a cost and never fetches
litellm's price list. Edits use aider's ``diff`` format (``edit_format``),
so the script's SEARCH/REPLACE block is what aider expects.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

import agent_clis
from backend_helpers import RecordingReporter, order
from git_helpers import BUGGY, FIXED, calc_plan, calc_project, git
from model_servers.chat import ChatCompletions, Scripted, Turn, search_replace
from model_servers.core import Request, ScriptedServer
from model_servers.trap import NetworkTrap
from playbill.backends._backend import BackendError
from playbill.backends._cli_agent import CliAgentBackend
from playbill.backends._preset_aider import TOOL_FILES
from playbill.backends._presets import aider
from playbill.runtime import (
    ImplementationPayload,
    ReviewPayload,
    SqliteJournal,
    StepSpec,
    UsageReported,
)

pytestmark = pytest.mark.agent_clis

MODEL = "scripted-model"
KEY = "sk-playbill-fake-" + "9f8e7d6c5b4a3210" * 3
"""A long fake secret: what a model echoing it must never get into a result."""
PRICE_IN, PRICE_OUT = 2e-6, 1e-5
"""US dollars per token, in and out, as the model metadata file tells aider."""
FIX = StepSpec(id="fix", goal="add() in calc.py subtracts: make it add.", scope=("calc.py",))
PROSE = "add() subtracted its arguments; it adds them now."
BANNERS = ("Aider v", "Model:", "Git repo:", "Repo-map:", "Tokens:", "Cost:", "Applied edit")
SAFETY_TIMEOUT_S = 600
"""Only so that a broken build cannot hang the suite; nothing is timed."""


def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trap: NetworkTrap) -> None:
    """Aider's world: its own home, the fake key, the model's metadata, every way out trapped."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    for name, value in trap.env().items():
        monkeypatch.setenv(name, value)
    (tmp_path / "metadata.json").write_text(
        json.dumps(
            {
                f"openai/{MODEL}": {
                    "max_input_tokens": 128_000,
                    "max_output_tokens": 16_384,
                    "input_cost_per_token": PRICE_IN,
                    "output_cost_per_token": PRICE_OUT,
                    "litellm_provider": "openai",
                    "mode": "chat",
                }
            }
        )
    )


@pytest.fixture
def trap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkTrap]:
    """Aider's ``world``; fails the test if anything tried to leave the machine."""
    with NetworkTrap() as trap:
        world(tmp_path, monkeypatch, trap)
        yield trap
    assert trap.attempts == []


def backend(tmp_path: Path, trap: NetworkTrap, **options: object) -> CliAgentBackend:
    """The aider preset on the pinned aider, the scripted model and the trap's proxies."""
    settings: dict[str, object] = {
        "executable": str(agent_clis.executable("aider")),
        "model": f"openai/{MODEL}",
        "edit_format": "diff",
        "env_allow": tuple(trap.env()),
        "extra_args": ("--model-metadata-file", str(tmp_path / "metadata.json")),
    }
    return aider(**{**settings, **options})  # type: ignore[arg-type]


class Model:
    """The scripted model server, its URL in ``OPENAI_API_BASE`` while it runs."""

    def __init__(self, turns: list[Scripted], monkeypatch: pytest.MonkeyPatch) -> None:
        self.server = ScriptedServer(ChatCompletions(turns, model=MODEL))
        self.monkeypatch = monkeypatch

    def __enter__(self) -> ScriptedServer:
        self.server.__enter__()
        self.monkeypatch.setenv("OPENAI_API_BASE", f"{self.server.url}/v1")
        return self.server

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)


def cost(tokens_in: int, tokens_out: int) -> float:
    """What aider charges for the tokens at the metadata file's prices."""
    return tokens_in * PRICE_IN + tokens_out * PRICE_OUT


def no_identity(repo: Path) -> Path:
    """The repository without a git identity (the test's home has no global one)."""
    git(repo, "config", "--unset", "user.name")
    git(repo, "config", "--unset", "user.email")
    asked = subprocess.run(["git", "config", "user.name"], cwd=repo, check=False, timeout=30)
    assert asked.returncode == 1  # git knows no name here, so aider would write one
    return repo


def untracked(repo: Path) -> list[str]:
    """Untracked paths, ignored ones included."""
    out = git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all")
    return sorted(line[3:] for line in out.splitlines() if line[:2] in ("??", "!!"))


def is_aiders(path: str) -> bool:
    """Whether a path is one of aider's own (``TOOL_FILES``, matched on any of its parts)."""
    return any(fnmatch.fnmatch(part, p) for part in Path(path).parts for p in TOOL_FILES)


def echo_key(request: Request) -> Turn:
    """A reply that repeats the key the request came with, then fixes calc.py."""
    key = request.headers["authorization"].removeprefix("Bearer ")
    prose = f"{PROSE} (I was called with the key {key}.)"
    return Turn(text=search_replace("calc.py", BUGGY, FIXED, prose=prose))


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
async def test_aider_edits_and_its_summary_is_the_models_words(
    tmp_path: Path, trap: NetworkTrap, monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    repo = no_identity(calc_project(tmp_path / "repo", {}))
    reply = search_replace("calc.py", BUGGY, FIXED, prose=PROSE)
    reporter = RecordingReporter()
    turns: list[Scripted] = [Turn(text=reply, prompt_tokens=2100, completion_tokens=300)]
    with Model(turns, monkeypatch) as server:
        result = await backend(tmp_path, trap, stream=stream).run(
            order(workspace=repo, step=FIX), reporter
        )

    assert (repo / "calc.py").read_text() == FIXED
    assert isinstance(result.payload, ImplementationPayload)
    assert result.payload.summary == reply.strip()
    assert not [b for b in BANNERS if b in result.payload.summary]

    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == MODEL and bool(request.body.get("stream")) is stream

    usage = result.usage
    if stream:  # aider counts the tokens itself: it cannot read the provider's while streaming
        assert usage.tokens_in > 0 and usage.tokens_out > 0
    else:  # the provider's figures
        assert (usage.tokens_in, usage.tokens_out) == (2100, 300)
    assert usage.cost_usd == pytest.approx(cost(usage.tokens_in, usage.tokens_out))
    assert usage.wall_s > 0
    assert reporter.usages == [usage]

    # what aider leaves in the worktree is its own, and nothing else changed
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == "M calc.py"
    leftovers = untracked(repo)
    assert leftovers and all(is_aiders(path) for path in leftovers), leftovers
    # no identity was written into the repository for aider's sake
    assert git(repo, "config", "--list", "--local").count("user.") == 0
    # and in its home only its own directory
    assert [p.name for p in await trio.Path(os.environ["HOME"]).iterdir()] == [".aider"]


async def test_the_trap_sees_aider_fetch_prices_for_a_model_it_does_not_know(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the other tests' proof that aider stays off the network is only as good as the trap
    repo = calc_project(tmp_path / "repo", {})
    reply = search_replace("calc.py", BUGGY, FIXED, prose=PROSE)
    with NetworkTrap() as trap:
        world(tmp_path, monkeypatch, trap)
        with Model([Turn(text=reply)], monkeypatch):
            result = await backend(tmp_path, trap, model="openai/unknown", extra_args=()).run(
                order(workspace=repo, step=FIX), RecordingReporter()
            )
    # (aider 0.86.2 asks again at each look-up of the model: several times a run)
    assert trap.attempts
    assert set(trap.attempts) == {"CONNECT raw.githubusercontent.com:443 HTTP/1.0"}
    assert result.usage.cost_usd == 0  # no price known: no cost
    assert (repo / "calc.py").read_text() == FIXED


async def test_aider_reviews_in_ask_mode_without_editing(
    tmp_path: Path, trap: NetworkTrap, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = calc_project(tmp_path / "repo", {})
    verdict = {
        "kind": "review",
        "verdict": "request_changes",
        "findings": [{"severity": "major", "message": "add() subtracts", "path": "calc.py"}],
    }
    text = f"The change is wrong.\n\n```json\n{json.dumps(verdict)}\n```\n"
    with Model([Turn(text=text)], monkeypatch) as server:
        result = await backend(tmp_path, trap, roles=("executor", "reviewer")).run(
            order("reviewer", "review", workspace=repo, step=FIX), RecordingReporter()
        )
    assert isinstance(result.payload, ReviewPayload)
    assert result.payload.verdict == "request_changes"
    assert [f.message for f in result.payload.findings] == ["add() subtracts"]
    assert (repo / "calc.py").read_text() == BUGGY
    # ask mode: aider's system prompt asks for no edit blocks
    [request] = server.requests
    system = request.body["messages"][0]["content"]
    assert "SEARCH/REPLACE" not in system


async def test_an_echoed_key_is_redacted_from_the_summary(
    tmp_path: Path, trap: NetworkTrap, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = calc_project(tmp_path / "repo", {})
    with Model([echo_key], monkeypatch):
        result = await backend(tmp_path, trap).run(
            order(workspace=repo, step=FIX), RecordingReporter()
        )
    assert isinstance(result.payload, ImplementationPayload)
    assert KEY not in result.payload.summary
    assert "the key [redacted:OPENAI_API_KEY]" in result.payload.summary
    assert (repo / "calc.py").read_text() == FIXED


async def test_a_refused_call_is_an_agent_error_without_the_key(
    tmp_path: Path, trap: NetworkTrap, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Refusing:
        def handle(self, request: Request, reply: object) -> None:
            body = {"error": {"message": f"Incorrect API key provided: {KEY}", "code": 401}}
            reply.send(401, {"content-type": "application/json"}, json.dumps(body).encode())  # type: ignore[attr-defined]

    repo = calc_project(tmp_path / "repo", {})
    with ScriptedServer(Refusing()) as server:
        monkeypatch.setenv("OPENAI_API_BASE", f"{server.url}/v1")
        with pytest.raises(BackendError) as caught:
            await backend(tmp_path, trap).run(order(workspace=repo, step=FIX), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "agent_error")
    assert "its model call failed" in failure.detail
    assert "AuthenticationError" in failure.detail
    assert KEY not in failure.detail and "[redacted:OPENAI_API_KEY]" in failure.detail
    assert caught.value.usage.wall_s > 0
    assert (repo / "calc.py").read_text() == BUGGY


@pytest.mark.parametrize("tokens", [-5, 10**12], ids=["negative", "absurd"])
async def test_usage_that_cannot_be_true_is_bad_usage(
    tmp_path: Path, trap: NetworkTrap, monkeypatch: pytest.MonkeyPatch, tokens: int
) -> None:
    repo = calc_project(tmp_path / "repo", {})
    reply = search_replace("calc.py", BUGGY, FIXED, prose=PROSE)
    script: list[Scripted] = [Turn(text=reply, prompt_tokens=tokens)]
    with Model(script, monkeypatch), pytest.raises(BackendError) as caught:
        await backend(tmp_path, trap, stream=False).run(
            order(workspace=repo, step=FIX), RecordingReporter()
        )
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "bad_usage")
    assert f"prompt_tokens of a model call is {tokens}" in failure.detail
    assert caught.value.usage.tokens_in == 0 and caught.value.usage.wall_s > 0


async def test_usage_that_is_no_number_fails_the_call(
    tmp_path: Path, trap: NetworkTrap, monkeypatch: pytest.MonkeyPatch
) -> None:
    # litellm refuses such a response before aider sees it: the call fails (aider retries
    # once, and the script has no second turn), the reply is never applied
    class Unparsable(ChatCompletions):
        def _whole(self, turn: Turn) -> dict[str, object]:
            whole = super()._whole(turn)
            whole["usage"] = {"prompt_tokens": "many", "completion_tokens": "few"}
            return whole

    repo = calc_project(tmp_path / "repo", {})
    reply = search_replace("calc.py", BUGGY, FIXED, prose=PROSE)
    with ScriptedServer(Unparsable([Turn(text=reply)], model=MODEL)) as server:
        monkeypatch.setenv("OPENAI_API_BASE", f"{server.url}/v1")
        with pytest.raises(BackendError) as caught:
            await backend(tmp_path, trap, stream=False).run(
                order(workspace=repo, step=FIX), RecordingReporter()
            )
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "agent_error")
    assert "its model call failed" in failure.detail
    assert (repo / "calc.py").read_text() == BUGGY


# ------------------------------------------------------------- end to end


def plan_text(tmp_path: Path, trap: NetworkTrap) -> str:
    def toml(value: object) -> str:
        return json.dumps(value)  # JSON strings and arrays of strings are TOML

    extra = ["--model-metadata-file", str(tmp_path / "metadata.json")]
    return calc_plan(
        f"""
[[agents]]
id = "aider"
roles = ["executor"]
backend = "aider"

[agents.options]
executable = {toml(str(agent_clis.executable("aider")))}
model = "openai/{MODEL}"
edit_format = "diff"
extra_args = {toml(extra)}
env_allow = {toml(list(trap.env()))}
""",
        "add() in calc.py subtracts: make it add, so that test_calc.py passes.",
    )


def test_playbill_run_with_aider_fixes_the_bug(
    tmp_path: Path, trap: NetworkTrap, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    # the repository ignores what pytest leaves behind, never aider's files
    repo = calc_project(tmp_path / "repo", {".gitignore": "__pycache__/\n.pytest_cache/\n"})
    plan = tmp_path / "plan.toml"
    plan.write_text(plan_text(tmp_path, trap))
    journal = tmp_path / "journal.db"
    argv = [sys.executable, "-m", "playbill", "--journal", str(journal), "run", str(plan)]
    argv += ["--repo", str(repo), "--run-id", "r1"]

    with Model([echo_key], monkeypatch):
        started = time.monotonic()
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=SAFETY_TIMEOUT_S, check=False
        )
        wall_s = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert "outcome: completed" in done.stdout

    # the fix is on the integration branch, and no commit holds a file of aider's
    assert git(repo, "show", "playbill/r1/integration:calc.py") + "\n" == FIXED
    committed = git(repo, "log", "--all", "--name-only", "--format=").split()
    assert "calc.py" in committed
    assert not [path for path in committed if is_aiders(path)]

    # tokens and cost are journaled; the echoed key is not, anywhere in the file
    async def read() -> list[UsageReported]:
        with SqliteJournal(journal, create=False) as opened:
            entries = await opened.read("r1")
        print(f"aider end to end: {wall_s:.1f} s, {len(entries)} journal entries")
        return [e.msg for e in entries if isinstance(e.msg, UsageReported)]

    usages = [u.usage for u in trio.run(read) if u.agent == "aider"]
    tokens_in = sum(u.tokens_in for u in usages)
    tokens_out = sum(u.tokens_out for u in usages)
    spent = sum(u.cost_usd for u in usages)
    print(f"aider end to end: {tokens_in} tokens in, {tokens_out} out, ${spent:.6f}")
    assert tokens_in > 0 and tokens_out > 0
    assert spent == pytest.approx(cost(tokens_in, tokens_out))
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("journal.db*"))
    assert KEY.encode() not in stored
    assert b"[redacted:OPENAI_API_KEY]" in stored
