"""A run whose agent's program cannot start is refused before anything is journaled.

The programs are real: the fake CLIs of ``tests/fixtures/backends`` (which
print the release ``FAKE_VERSION`` says), files that are not executable,
paths that do not exist. In-process backends have no program and are never
checked.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from backend_helpers import FIXTURES
from playbill import RunSpec, open_run
from playbill.backends import (
    AgentBackend,
    AgentUnavailableError,
    ScriptedBackend,
    claude_code,
    codex,
    command,
    require_startable,
)
from playbill.backends._availability import resolve_program
from playbill.backends._tool_version import Version
from playbill.runtime import AgentSpec, MemoryJournal, Plan, StepSpec

ALLOW = ("FAKE_VERSION",)


def spec(*agents: str) -> RunSpec:
    plan = Plan(
        steps=(StepSpec(id="fix", goal="fix add"),),
        agents=tuple(AgentSpec(id=a, roles=("executor",)) for a in agents),
    )
    return RunSpec(goal="g", plan=plan)


async def refused(backends: dict[str, AgentBackend]) -> tuple[AgentUnavailableError, MemoryJournal]:
    journal = MemoryJournal()
    with pytest.raises(AgentUnavailableError) as caught:
        async with open_run(journal, "r1", lambda a: backends[a.id], spec=spec(*backends)):
            pass
    return caught.value, journal


async def test_a_missing_cli_is_refused_and_nothing_is_journaled(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-claude")
    error, journal = await refused({"claude": claude_code(executable=missing)})
    (only,) = error.unavailable
    assert (only.agent, only.backend, only.executable, only.reason) == (
        "claude",
        "claude_code",
        missing,
        "not_found",
    )
    assert str(error) == f"agent 'claude' (claude_code) cannot start: {missing}: not found"
    assert not await journal.run_exists("r1")
    assert await journal.list_runs() == []


async def test_an_unsupported_release_is_refused_with_the_release_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_VERSION", "99.0.0")
    old = claude_code(executable=str(FIXTURES / "fake_claude"), env_allow=ALLOW)
    error, journal = await refused({"old": old})
    (only,) = error.unavailable
    assert only.reason == "unsupported_version"
    assert only.found == Version(99, 0, 0)
    assert "release 99.0.0 is not supported (supported: >= 2.1.0, < 2.2.0)" in str(error)
    assert not await journal.run_exists("r1")


async def test_every_agent_that_cannot_start_is_named_at_once(tmp_path: Path) -> None:
    not_executable = tmp_path / "agent.sh"
    not_executable.write_text("#!/bin/sh\necho '{}'\n")
    backends: dict[str, AgentBackend] = {
        "ok": command(argv=(sys.executable, "-c", "pass")),
        "gone": codex(executable="playbill-no-such-codex"),
        "flat": command(argv=(str(not_executable), "{prompt_file}")),
        "nameless": command(argv=("playbill-no-such-agent", "--go")),
    }
    error, _ = await refused(backends)
    assert [(u.agent, u.reason) for u in error.unavailable] == [
        ("gone", "not_found"),
        ("flat", "not_executable"),
        ("nameless", "not_found"),
    ]
    assert str(error).splitlines() == [
        "agent 'gone' (codex) cannot start: playbill-no-such-codex: not found on PATH",
        f"agent 'flat' (command) cannot start: {not_executable}: not an executable file",
        "agent 'nameless' (command) cannot start: playbill-no-such-agent: not found on PATH",
    ]


async def test_a_supported_cli_and_in_process_backends_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FAKE_VERSION", raising=False)
    journal = MemoryJournal()
    backends: dict[str, AgentBackend] = {
        "claude": claude_code(executable=str(FIXTURES / "fake_claude"), env_allow=ALLOW),
        "scripted": ScriptedBackend({}),
        "shell": command(argv=("no-such-program-but-a-shell-line --go",), shell=True),
        "templated": command(argv=("{worktree}/agent.sh",)),
    }
    async with open_run(journal, "r1", lambda a: backends[a.id], spec=spec(*backends)):
        pass
    assert await journal.run_exists("r1")


async def test_an_untested_release_starts_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_VERSION", "3.0.0")
    allowed = claude_code(
        executable=str(FIXTURES / "fake_claude"), env_allow=ALLOW, allow_untested_version=True
    )
    await require_startable([("claude", allowed)])


async def test_a_program_that_prints_no_release_is_refused(tmp_path: Path) -> None:
    silent = tmp_path / "claude"
    silent.write_text("#!/bin/sh\nexit 3\n")
    silent.chmod(0o755)
    with pytest.raises(AgentUnavailableError) as caught:
        await require_startable([("claude", claude_code(executable=str(silent)))])
    (only,) = caught.value.unavailable
    assert only.reason == "no_version"
    assert "printed no release number (exit status 3)" in only.detail


def test_programs_resolve_as_exec_finds_them(tmp_path: Path) -> None:
    tool = tmp_path / "bin" / "tool"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    path_env = os.pathsep.join([str(tmp_path / "empty"), str(tool.parent)])
    assert resolve_program("tool", path_env=path_env, base=None).path == tool
    assert resolve_program("tool", path_env=str(tmp_path), base=None).reason == "not_found"
    # a relative path starts from the directory it runs in
    assert resolve_program("bin/tool", path_env=None, base=tmp_path).path == tool
    assert resolve_program("bin/nope", path_env=None, base=tmp_path).reason == "not_found"
    tool.chmod(0o644)
    assert resolve_program("tool", path_env=path_env, base=None).reason == "not_executable"
    assert resolve_program(str(tool), path_env=None, base=None).reason == "not_executable"
    assert resolve_program(str(tmp_path), path_env=None, base=None).reason == "not_executable"
