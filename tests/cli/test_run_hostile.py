"""Hostile agents in real runs: secrets they leak, lies about usage, output that is not Unicode.

Each test runs ``playbill run`` on a real git repository with a ``command``
agent, ``tests/fixtures/agents/hostile_agent.py``, that reads secrets from
environment variables with ordinary names (passed to it by ``env_allow``) and
puts them wherever it can; or reports usage that cannot be true; or prints a
lone surrogate, a non-UTF-8 file name, a 20 MB line.
"""

from __future__ import annotations

import json
import sys
import urllib.parse
from pathlib import Path

import pytest
from cli_helpers import invoke, run_state
from click.testing import CliRunner, Result

from git_helpers import calc_project, git
from playbill.runtime import Failure

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "agents" / "hostile_agent.py"

SECRETS = {
    "DATABASE_URL": "postgres://app:Pa55-w0rd.xyz@db.internal:5432/app",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.example/services/T0/B0/XXsecretXXyy",
    "RELEASE_CODE": "rel-7f3a9c1d2e",
}
"""Secrets whose names do not look secret: only ``env_allow`` says they are."""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return calc_project(tmp_path / "project", {".gitignore": "__pycache__/\n.pytest_cache/\n"})


def hostile(agent_id: str, role: str, mode: str, names: list[str]) -> str:
    argv = [sys.executable, str(HOSTILE), mode, *names]
    edits = "true" if role == "executor" else "false"
    return (
        f'[[agents]]\nid = "{agent_id}"\nroles = ["{role}"]\nbackend = "command"\n'
        f"edits_files = {edits}\n[agents.options]\nargv = {json.dumps(argv)}\n"
        f"env_allow = {json.dumps(names)}\nheartbeat_s = 0.5\n"
    )


def plan(
    mode: str, names: list[str], *, reviewer: str = "pass", redact: tuple[str, ...] = ()
) -> str:
    """A plan: one hostile executor, a hostile reviewer, the tests as verifier; one attempt."""
    pytest_argv = [sys.executable, "-m", "pytest", "-q", "test_calc.py"]
    return "\n".join(
        [
            f'[run]\ngoal = "make add add"\nredact = {json.dumps(list(redact))}\n',
            '[run.policy]\nbackoff_base_s = 0.01\nbackoff_max_s = 0.05\non_exhausted = "abort"\n'
            "max_attempts = 1\n",
            hostile("ex", "executor", mode, names),
            hostile("rev", "reviewer", reviewer, names),
            '[[agents]]\nid = "tests"\nroles = ["verifier"]\nbackend = "checks"\n'
            '[agents.options]\nheartbeat_s = 0.5\nenv_allow = ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]\n',
            '[[steps]]\nid = "fix"\ngoal = "make add add"\nscope = ["**"]\n',
            f'[[steps.validators]]\nkind = "tests_pass"\nargv = {json.dumps(pytest_argv)}\n',
        ]
    )


def run(runner: CliRunner, journal: Path, project: Path, text: str, run_id: str) -> Result:
    plan_file = journal.parent / "plan.toml"
    plan_file.write_text(text, encoding="utf-8")
    return invoke(
        runner, journal, "run", str(plan_file), "--repo", str(project), "--run-id", run_id
    )


def only_failure(journal: Path, run_id: str) -> Failure:
    [attempt] = run_state(journal, run_id).steps["fix"].attempts
    assert attempt.failure is not None, attempt
    return attempt.failure


def everything_shown(runner: CliRunner, journal: Path, run_id: str, out: Path) -> bytes:
    """The journal's bytes, its export, and what ``events`` and ``status`` print."""
    exported = invoke(runner, journal, "export", run_id, "-o", str(out))
    assert exported.exit_code == 0, exported.output
    shown = [out.read_bytes()]
    for args in (("events", run_id), ("events", run_id, "--json"), ("status", run_id)):
        result = invoke(runner, journal, *args)
        assert result.exit_code == 0, result.output
        shown.append(result.output.encode("utf-8", "surrogateescape"))
    files = [journal, *journal.parent.glob(f"{journal.name}-*")]
    shown.extend(p.read_bytes() for p in files if p.is_file())
    return b"\n".join(shown)


def test_secrets_from_env_allow_are_redacted_wherever_the_agent_puts_them(
    runner: CliRunner, journal_path: Path, project: Path, tmp_path: Path
) -> None:
    names = ["DATABASE_URL", "SLACK_WEBHOOK_URL"]
    result = run(runner, journal_path, project, plan("leak", names, reviewer="leak"), "s1")
    assert result.exit_code == 0, result.output
    assert "outcome: completed" in result.stdout
    shown = everything_shown(runner, journal_path, "s1", tmp_path / "export.jsonl")
    for name in names:
        secret = SECRETS[name]
        half = len(secret) // 2
        hidden = [
            secret,
            urllib.parse.quote(secret),
            urllib.parse.quote_plus(secret),
            secret[:half] + "\n",  # split by a line break: as JSON shows it
            secret[:half] + "\\n",  # ... and as JSON inside JSON shows it
            secret[:half] + "\n" + secret[half:],
        ]
        for form in hidden:
            assert form.encode() not in shown, form
            assert form not in result.output
        assert b"[redacted:" + name.encode() + b"]" in shown
    # the work itself was clean, and is integrated
    assert "return a + b" in git(project, "show", "playbill/s1/integration:calc.py")


@pytest.mark.parametrize(
    ("mode", "where"),
    [
        ("key-in-file", "calc.py line 3"),
        ("key-in-name", "the name of a file it changed (a file whose name holds it)"),
        ("key-in-message", "the message of commit"),
    ],
)
def test_a_secret_in_the_work_fails_the_attempt_and_is_not_integrated(
    runner: CliRunner, journal_path: Path, project: Path, tmp_path: Path, mode: str, where: str
) -> None:
    text = plan(mode, ["RELEASE_CODE"], redact=("RELEASE_CODE",))
    result = run(runner, journal_path, project, text, "k1")
    assert result.exit_code == 1, result.output
    failure = only_failure(journal_path, "k1")
    assert (failure.failure_class, failure.kind) == ("validation", "secret_in_diff")
    assert "the value of RELEASE_CODE" in failure.detail and where in failure.detail
    assert "nothing of it is integrated" in failure.detail
    assert git(project, "branch", "--list", "playbill/k1/integration") == ""
    shown = everything_shown(runner, journal_path, "k1", tmp_path / "export.jsonl")
    assert SECRETS["RELEASE_CODE"].encode() not in shown


@pytest.mark.parametrize(
    ("mode", "kind", "said"),
    [
        ("surrogate", "malformed_output", "lone surrogate"),
        ("nonutf8-name", "malformed_output", "lone surrogate"),
        ("negative-usage", "bad_usage", "tokens_in = -1000000000"),
        ("negative-cost", "bad_usage", "cost_usd = -100"),
        ("nan-cost", "bad_usage", "cost_usd = nan, which is not a finite number"),
        ("huge-tokens", "bad_usage", "tokens_out = 1180591620717411303424"),
        ("huge-line", "malformed_output", "longer than the 262,144 characters"),
    ],
)
def test_hostile_output_is_a_typed_failure_not_a_crash(
    runner: CliRunner, journal_path: Path, project: Path, mode: str, kind: str, said: str
) -> None:
    result = run(runner, journal_path, project, plan(mode, []), "h1")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    failure = only_failure(journal_path, "h1")
    assert (failure.failure_class, failure.kind) == ("agent", kind), failure.detail
    assert said in failure.detail
    state = run_state(journal_path, "h1")
    assert state.usage.tokens_in >= 0 and state.usage.cost_usd >= 0
    assert git(project, "branch", "--list", "playbill/h1/integration") == ""
