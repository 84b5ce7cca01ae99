"""The backends of a plan: the backends' option classes, checked at load."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from playbill.backends import (
    AiderOptions,
    ChecksBackend,
    ChecksOptions,
    ClaudeCodeOptions,
    CodexOptions,
    CommandBackend,
    CommandOptions,
    OpenAIBackend,
    OpenAIOptions,
    aider,
    checks,
    claude_code,
    codex,
    command,
    openai,
)
from playbill.plans import (
    BACKENDS,
    PlanError,
    make_backend,
    parse_plan,
    plan_backends,
)
from playbill.runtime import AgentSpec

# Each backend's factory (every backend holds its options whole), and the values it is given here.
CLI_FACTORIES: dict[type, Callable[..., object]] = {
    ClaudeCodeOptions: claude_code,
    CodexOptions: codex,
    AiderOptions: aider,
}
FACTORIES: dict[type, Callable[..., object]] = {
    CommandOptions: command,
    OpenAIOptions: openai,
    ChecksOptions: checks,
    **CLI_FACTORIES,
}
CLI_CHANGED: dict[str, object] = {
    "timeout_s": 60,
    "heartbeat_s": 2,
    "ignore": [".cache/"],
    "model": "m",
    "sandbox": "bwrap",
}
CHANGED: dict[type, dict[str, object]] = {
    CommandOptions: {"argv": ["agent", "{prompt_file}"], "timeout_s": 60, "ignore": [".cache/"]},
    OpenAIOptions: {"model": "m", "timeout_s": 60, "max_retries": 0},
    ChecksOptions: {"env": {"PYTEST_ADDOPTS": "-x"}, "heartbeat_s": 2},
    **dict.fromkeys(CLI_FACTORIES, CLI_CHANGED),
}
REQUIRED = {CommandOptions: {"argv": ("agent",)}, OpenAIOptions: {"model": "m"}}
VERIFY_STEP = '[[steps]]\nid = "s"\ngoal = "g"\nrole = "verifier"\n'


def problems_of(text: str) -> dict[str, str]:
    with pytest.raises(PlanError) as caught:
        parse_plan(text, source="p.toml")
    return {p.location: p.detail for p in caught.value.problems}


def plan(*agents: str, steps: str = '[[steps]]\nid = "s"\ngoal = "g"\n') -> str:
    return '[run]\ngoal = "g"\n' + "".join(f"[[agents]]\n{a}\n" for a in agents) + steps


@pytest.mark.parametrize("cl", list(FACTORIES))
def test_a_backend_holds_its_options_given_whole_or_one_by_one(cl: type) -> None:
    factory, changed = FACTORIES[cl], CHANGED[cl]
    options = cl(**changed)
    assert options != cl(**REQUIRED.get(cl, {}))  # not the defaults
    built = options.build(sorted(cl.plays), cl.edits)
    assert built.options is options  # type: ignore[attr-defined]
    assert factory(options).options == options == factory(**changed).options  # type: ignore[attr-defined]
    over = factory(cl(**REQUIRED.get(cl, {})), **changed)
    assert over.options == options  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="unexpected keyword argument 'no_such_option'"):
        factory(**REQUIRED.get(cl, {}), no_such_option=1)


@pytest.mark.parametrize("cl", list(CLI_FACTORIES))
def test_a_preset_takes_its_options_whole_or_one_by_one(cl: type) -> None:
    factory = CLI_FACTORIES[cl]
    whole = factory(cl(**CLI_CHANGED))
    by_field = factory(**CLI_CHANGED)
    over = factory(cl(model="other"), **CLI_CHANGED)
    assert whole == by_field == over
    options = whole.options  # type: ignore[attr-defined]
    assert options.timeout_s == 60.0 and isinstance(options.timeout_s, float)
    assert options.ignore == (".cache/",)
    assert ".cache/" in whole.capabilities.tool_files  # type: ignore[attr-defined]


@pytest.mark.parametrize("cl", list(FACTORIES))
def test_each_backend_can_do_what_its_table_says(cl: type) -> None:
    options = cl(**REQUIRED.get(cl, {}))
    backend = options.build(sorted(cl.plays), cl.edits)
    assert backend.name == cl.backend
    assert BACKENDS[cl.backend] is cl
    assert backend.capabilities.roles == cl.plays
    assert backend.capabilities.edits_files == cl.edits


def test_options_of_every_real_backend_load() -> None:
    text = plan(
        'id = "c"\nroles = ["executor"]\nbackend = "command"\n[agents.options]\n'
        'argv = ["python", "a.py", "{prompt_file}", "--step={step}"]\nresult = "file"\n'
        'env_allow = ["HTTPS_PROXY"]\ntimeout_s = 60\nheartbeat_s = 2',
        'id = "cl"\nroles = ["planner", "reviewer"]\nbackend = "claude_code"\n'
        '[agents.options]\nmodel = "sonnet"\nmax_turns = 5\nextra_args = ["--verbose"]',
        'id = "cx"\nroles = ["executor"]\nbackend = "codex"\n[agents.options]\n'
        "price_in_per_mtok = 1.25\nprice_out_per_mtok = 10",
        'id = "ai"\nroles = ["executor", "reviewer"]\nbackend = "aider"\n'
        '[agents.options]\nmodel = "gpt-4.1"',
        'id = "oa"\nroles = ["reviewer"]\nbackend = "openai"\n[agents.options]\n'
        'model = "llama3"\nbase_url = "http://127.0.0.1:11434/v1"\napi_key_env = "LOCAL_KEY"\n'
        "temperature = 0.2\nmax_tokens = 4000\nmax_retries = 0",
        'id = "v"\nroles = ["verifier"]\nbackend = "checks"\n[agents.options]\n'
        'env = { PYTEST_ADDOPTS = "-x" }',
    )
    loaded = parse_plan(text)
    factory = plan_backends(loaded)
    specs = {a.id: a for a in loaded.to_plan().agents}
    assert {i: factory(s).name for i, s in specs.items()} == {
        "c": "command",
        "cl": "claude_code",
        "cx": "codex",
        "ai": "aider",
        "oa": "openai",
        "v": "checks",
    }
    assert factory(specs["c"]) is factory(specs["c"])  # one backend per agent
    # edits_files left out: what the backend can do
    assert {i: s.edits_files for i, s in specs.items()} == {
        "c": True,
        "cl": True,
        "cx": True,
        "ai": True,
        "oa": False,
        "v": False,
    }
    cmd = factory(specs["c"])
    assert isinstance(cmd, CommandBackend)
    assert (cmd.options.result, cmd.options.timeout_s, cmd.options.env_allow) == (
        "file",
        60.0,
        ("HTTPS_PROXY",),
    )
    ver = factory(specs["v"])
    assert isinstance(ver, ChecksBackend) and ver.options.env == {"PYTEST_ADDOPTS": "-x"}
    oa = factory(specs["oa"])
    assert isinstance(oa, OpenAIBackend)
    assert (oa.options.base_url, oa.options.api_key_env, oa.options.max_retries) == (
        "http://127.0.0.1:11434/v1",
        "LOCAL_KEY",
        0,
    )


def test_ignore_adds_to_what_each_tool_writes_for_itself() -> None:
    text = plan(
        'id = "c"\nroles = ["executor"]\nbackend = "command"\n[agents.options]\n'
        'argv = ["agent"]\nignore = [".cache/", "*.log"]',
        'id = "ai"\nroles = ["executor"]\nbackend = "aider"\n[agents.options]\n'
        'ignore = [".venv-aider/"]',
        'id = "cl"\nroles = ["executor"]\nbackend = "claude_code"',
    )
    loaded = parse_plan(text)
    factory = plan_backends(loaded)
    tools = {a.id: factory(a).capabilities.tool_files for a in loaded.to_plan().agents}
    assert tools == {
        "c": (".cache/", "*.log"),
        "ai": (".aider*", ".venv-aider/"),
        "cl": ("/.claude/settings.local.json", "/CLAUDE.local.md"),
    }


def test_bad_ignore_patterns_are_named_with_their_path() -> None:
    text = plan(
        'id = "c"\nroles = ["executor"]\nbackend = "command"\n[agents.options]\n'
        'argv = ["agent"]\nignore = [".ok/", "# a comment", "!negated", " lead"]',
        'id = "cx"\nroles = ["executor"]\nbackend = "codex"\n[agents.options]\nignore = ".cache/"',
        'id = "v"\nroles = ["verifier"]\nbackend = "checks"\n[agents.options]\nignore = ["x"]',
    )
    problems = problems_of(text)
    assert set(problems) == {
        "agents[0].options.ignore[1]",
        "agents[0].options.ignore[2]",
        "agents[0].options.ignore[3]",
        "agents[1].options.ignore",
        "agents[2].options.ignore",
    }
    assert problems["agents[0].options.ignore[1]"] == (
        "expected a gitignore pattern on one line, not starting with '#', '!' or a space "
        '(".cache/", "*.tmp"), got \'# a comment\''
    )
    assert "unknown key" in problems["agents[2].options.ignore"]  # checks edits nothing


def test_every_option_problem_is_reported_at_once_with_its_path() -> None:
    text = plan(
        'id = "c"\nroles = ["executor"]\nbackend = "command"\n[agents.options]\n'
        'argv = ["python", "{prompt_fil}", "{step}", "{x.y}"]\ntimeout_s = 0\nresult = "both"',
        'id = "o"\nroles = ["reviewer"]\nbackend = "openai"\n[agents.options]\n'
        'base_url = "ftp://x"\napi_key_env = "MY KEY"\ntemperature = 3\nmodle = "x"',
        'id = "n"\nroles = ["executor"]\nbackend = "command"',
    )
    problems = problems_of(text)
    assert set(problems) == {
        "agents[0].options.argv[1]",
        "agents[0].options.argv[3]",
        "agents[0].options.timeout_s",
        "agents[0].options.result",
        "agents[1].options.model",
        "agents[1].options.modle",
        "agents[1].options.base_url",
        "agents[1].options.api_key_env",
        "agents[1].options.temperature",
        "agents[2].options",
    }
    assert problems["agents[0].options.argv[1]"].startswith(
        "unknown placeholder {prompt_fil} (known:"
    )
    assert "did you mean 'model'" in problems["agents[1].options.modle"]
    assert problems["agents[1].options.base_url"] == (
        "expected an http:// or https:// URL, got 'ftp://x'"
    )
    assert problems["agents[2].options"] == (
        "required table missing: [agents.options], with argv (backend 'command' needs it)"
    )


@pytest.mark.parametrize(
    ("agent", "where", "fragment"),
    [
        ('roles = ["executor"]\nbackend = "checks"', "roles[0]", "cannot play role 'executor'"),
        ('roles = ["verifier"]\nbackend = "openai"\n[agents.options]\nmodel = "m"', "roles[0]",
         "backend 'checks' runs a step's validators"),
        ('roles = ["planner"]\nbackend = "aider"', "roles[0]", "(it can play: executor, reviewer)"),
        ('roles = ["reviewer"]\nbackend = "openai"\nedits_files = true\n[agents.options]\n'
         'model = "m"', "edits_files", "changes no files"),
        ('roles = ["verifier"]\nbackend = "checks"\nedits_files = true', "edits_files",
         "backend 'checks' changes no files"),
        ('roles = ["executor"]\nbackend = "command"\n[agents.options]\nargv = ["a", "b"]\n'
         "shell = true", "options.argv", "exactly one shell line"),
        ('roles = ["executor"]\nbackend = "command"\n[agents.options]\nargv = []',
         "options.argv", "expected a command"),
        ('roles = ["executor"]\nbackend = "claude_code"\n[agents.options]\n'
         'permission_mode = "plan"', "options.permission_mode", "'plan' never edits"),
        ('roles = ["executor"]\nbackend = "claude_code"\n[agents.options]\n'
         'extra_args = ["--output-format", "json"]', "options.extra_args", "playbill's to set"),
    ],
)  # fmt: skip
def test_an_agent_its_backend_cannot_serve_is_refused(
    agent: str, where: str, fragment: str
) -> None:
    problems = problems_of(plan(f'id = "x"\n{agent}', steps='[[steps]]\nid = "s"\ngoal = "g"\n'))
    assert fragment in problems[f"agents[0].{where}"], problems


def test_a_mutating_step_needs_a_backend_that_edits() -> None:
    text = plan(
        'id = "o"\nroles = ["executor"]\nbackend = "openai"\n[agents.options]\nmodel = "m"',
        steps='[[steps]]\nid = "s"\ngoal = "g"\nscope = ["a.py"]\n',
    )
    assert "no agent with role 'executor' edits files" in problems_of(text)["steps[0].scope"]


def test_simulated_agents_are_not_built_for_a_real_run() -> None:
    text = plan(
        'id = "sim"\nroles = ["executor"]',
        'id = "v"\nroles = ["verifier"]\nbackend = "checks"\n[agents.options]\n'
        'env = { PYTEST_ADDOPTS = "-x" }',
    )
    loaded = parse_plan(text)
    with pytest.raises(PlanError) as caught:
        plan_backends(loaded, source="p.toml")
    assert str(caught.value) == (
        "p.toml:agents[0].backend: a simulated agent plays only in `playbill sim`"
    )
    assert make_backend(loaded.agents[1]).name == "checks"


def test_a_resumed_run_needs_its_agents_in_the_plan() -> None:
    loaded = parse_plan(
        plan('id = "v"\nroles = ["verifier"]\nbackend = "checks"', steps=VERIFY_STEP)
    )
    journaled = (
        AgentSpec(id="v", roles=("verifier",), backend="command"),
        AgentSpec(id="gone", roles=("executor",), backend="command"),
    )
    with pytest.raises(PlanError) as caught:
        plan_backends(loaded, source="p.toml", agents=journaled)
    assert [str(p) for p in caught.value.problems] == [
        "agents[0].backend: the run's agent 'v' had backend 'command', the plan gives it 'checks'",
        "agents: the run has an agent 'gone' that the plan no longer has",
    ]
