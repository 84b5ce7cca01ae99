"""No secret a run knows reaches its journal, its export or the CLI's output.

Hypothesis draws a secret (a value of a variable with an ordinary name, which
only the plan's ``env_allow`` says is secret) and a hostile agent's script:
where it puts the secret (its result's summary, evidence, gaps, blockers, a
reviewer's findings, its output and error output, a file's content, a file's
name; with a failing exit status or not) and in which form (as it is,
URL-encoded with either case of hex digits or ``+`` for spaces, split by a
line break or a CRLF inside one string, inside JSON inside a string, or inside
JSON split by a line break that JSON escapes). Each example is a real
``playbill run`` on a real git repository with ``command`` agents
(``property_tests/agents/echo_agent.py``) doing exactly that. Then the
journal's bytes, ``playbill export``'s file and what ``events``,
``events --json`` and ``status`` print must hold the secret in none of these
forms (line breaks, escaped or not, are removed and percent-encoding decoded
before looking). Base64 is not covered (see docs/security-redaction.md).

Each example runs two agent processes and a dozen git commands, so this test
takes a sixth of the profile's ``max_examples``.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from git_helpers import git
from playbill.cli import cli

ECHO = Path(__file__).resolve().parent / "agents" / "echo_agent.py"
EXAMPLES = max(3, settings().max_examples // 6)
NAMES = ("DATABASE_URL", "SLACK_WEBHOOK_URL", "SERVICE_DSN")
SECRET_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+=:@._-~ "

ENCODINGS = (
    "raw",
    "quote",
    "quote_lower",
    "quote_plus",
    "split_lf",
    "split_crlf",
    "json",
    "json_split",
)
PLACES = (
    "summary",
    "evidence_ref",
    "evidence_detail",
    "gap",
    "blocker",
    "finding_message",
    "finding_path",
    "stdout",
    "stderr",
    "file_content",
    "file_name",
)


def encode(secret: str, how: str, cut: int) -> str:
    """``secret`` in the form ``how`` (``cut``: where a split splits it)."""
    match how:
        case "raw":
            return secret
        case "quote":
            return urllib.parse.quote(secret, safe="")
        case "quote_lower":
            return re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote(secret))
        case "quote_plus":
            return urllib.parse.quote_plus(secret)
        case "split_lf":
            return f"{secret[:cut]}\n{secret[cut:]}"
        case "split_crlf":
            return f"{secret[:cut]}\r\n{secret[cut:]}"
        case "json":
            return json.dumps({"dsn": secret, "nested": [secret]})
        case _:
            return json.dumps({"dsn": f"{secret[:cut]}\n{secret[cut:]}"})


@st.composite
def scripts(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    """A variable's name, its secret value, and the behaviour of a hostile agent."""
    name = draw(st.sampled_from(NAMES))
    secret = "sk-" + draw(st.text(SECRET_CHARS, min_size=6, max_size=30)).strip() + "-z"
    executor: dict[str, Any] = {"files": {"calc.py": "x = 1\n"}, "stdout": [], "stderr": []}
    result: dict[str, Any] = {
        "payload": {"kind": "implementation", "summary": "done"},
        "evidence": [],
        "gaps": [],
        "blockers": [],
    }
    findings: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 4))):
        place = draw(st.sampled_from(PLACES))
        how = draw(st.sampled_from(ENCODINGS))
        cut = draw(st.integers(1, len(secret) - 1))
        event(f"{place} {how}")
        leaked = f"see {encode(secret, how, cut)} here"
        match place:
            case "summary":
                result["payload"]["summary"] += leaked
            case "evidence_ref":
                result["evidence"].append({"kind": "url", "ref": leaked})
            case "evidence_detail":
                result["evidence"].append({"kind": "log", "ref": "x", "detail": leaked})
            case "gap":
                result["gaps"].append({"kind": "untested", "detail": leaked})
            case "blocker":
                result["blockers"].append({"kind": "risk", "detail": leaked, "blocking": False})
            case "finding_message":
                findings.append({"severity": "info", "message": leaked})
            case "finding_path":
                findings.append({"severity": "info", "message": "m", "path": leaked})
            case "stdout" | "stderr":
                executor[place].append(leaked)
            case "file_content":
                executor["files"]["notes.txt"] = leaked
            case _:
                executor["files"][urllib.parse.quote(secret, safe="") + ".txt"] = "x\n"
    executor["result"] = result
    executor["exit"] = draw(st.sampled_from([0, 0, 0, 1]))
    review = {"kind": "review", "verdict": "pass", "findings": findings}
    return name, secret, {"executor": executor, "reviewer": {"result": {"payload": review}}}


def make_repo(root: Path) -> Path:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    (root / "calc.py").write_text("x = 0\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return root


def agent(agent_id: str, role: str, behaviour: Path, name: str) -> str:
    argv = [sys.executable, str(ECHO), str(behaviour)]
    edits = "true" if role == "executor" else "false"
    return (
        f'[[agents]]\nid = "{agent_id}"\nroles = ["{role}"]\nbackend = "command"\n'
        f"edits_files = {edits}\n[agents.options]\nargv = {json.dumps(argv)}\n"
        f'env_allow = ["{name}"]\n'
    )


def plan(behaviour: Path, name: str) -> str:
    return "\n".join(
        [
            '[run]\ngoal = "g"\n',
            '[run.policy]\nbackoff_base_s = 0.01\non_exhausted = "abort"\nmax_attempts = 1\n',
            agent("ex", "executor", behaviour, name),
            agent("rev", "reviewer", behaviour, name),
            '[[steps]]\nid = "s"\ngoal = "g"\nscope = ["**"]\n',
        ]
    )


def journaled(behaviour: dict[str, Any]) -> bool:
    """Whether the executor's result, which holds the secret, is surely journaled."""
    executor = behaviour["executor"]
    result = executor["result"]
    return (
        executor["exit"] == 0
        and list(executor["files"]) == ["calc.py"]
        and (result["payload"]["summary"] != "done" or any(result[k] for k in ("evidence", "gaps")))
    )


def holds(data: str, secret: str) -> bool:
    """Whether ``data`` holds ``secret``: as it is, split by line breaks, or URL-encoded."""
    flat = re.sub(r"\\+[rn]|[\r\n]", "", data)
    seen = (data, flat, urllib.parse.unquote(flat), urllib.parse.unquote_plus(flat))
    return any(secret in text for text in seen)


@pytest.mark.slow
@settings(max_examples=EXAMPLES)
@given(scripts())
def test_no_secret_reaches_the_journal_the_export_or_the_cli(
    script: tuple[str, str, dict[str, Any]],
) -> None:
    name, secret, behaviour = script
    note(f"{name}={secret!r}")
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = make_repo(root / "repo")
        behaviour_file = root / "behaviour.json"
        behaviour_file.write_text(json.dumps(behaviour), encoding="utf-8")
        plan_file = root / "plan.toml"
        plan_file.write_text(plan(behaviour_file, name), encoding="utf-8")
        journal = root / "journal.db"
        base = ["--journal", str(journal)]
        env = {name: secret, "XDG_DATA_HOME": str(root / "data")}
        ran = runner.invoke(
            cli, [*base, "run", str(plan_file), "--repo", str(repo), "--run-id", "r"], env=env
        )
        assert ran.exit_code in (0, 1), ran.output
        shown = [ran.output]
        exported = runner.invoke(cli, [*base, "export", "r", "-o", str(root / "r.jsonl")])
        assert exported.exit_code == 0, exported.output
        shown.append((root / "r.jsonl").read_text(encoding="utf-8"))
        for args in (["events", "r"], ["events", "r", "--json"], ["status", "r"]):
            result = runner.invoke(cli, [*base, *args])
            assert result.exit_code == 0, result.output
            shown.append(result.output)
        for path in root.glob("journal.db*"):
            shown.append(path.read_bytes().decode("utf-8", "replace"))
        for text in shown:
            assert not holds(text, secret), text
        if journaled(behaviour):  # not vacuous: the secret was there, and was redacted
            assert "[redacted:" + name + "]" in "".join(shown)
        # nothing of a secret the work holds is integrated
        branches = git(repo, "branch", "--list", "playbill/r/integration")
        if branches.strip():
            assert not holds(
                git(repo, "log", "-p", "--format=%B", "playbill/r/integration"), secret
            )
