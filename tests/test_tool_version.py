"""Reading a coding-agent CLI's release and refusing one its preset was not tested with."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend_helpers import FIXTURES, RecordingReporter, order
from playbill.backends._backend import BackendError
from playbill.backends._presets import aider, claude_code, codex
from playbill.backends._tool_version import ToolVersionError, Version, VersionRange

ALLOW = ("FAKE_VERSION", "FAKE_MODE")


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("2.1.332 (Claude Code)\n", Version(2, 1, 332)),
        ("codex-cli 0.171.0", Version(0, 171, 0)),
        ("aider 0.86.2\n", Version(0, 86, 2)),
        ("tool v1.2", Version(1, 2, 0)),
        ("no number here", None),
        ("", None),
    ],
)
def test_version_is_the_first_dotted_number(printed: str, expected: Version | None) -> None:
    assert Version.parse(printed) == expected


def test_range_includes_lowest_and_excludes_below() -> None:
    supported = VersionRange(Version(2, 1), Version(2, 2))
    assert Version(2, 1, 0) in supported
    assert Version(2, 1, 999) in supported
    assert Version(2, 2, 0) not in supported
    assert Version(2, 0, 9) not in supported
    assert str(supported) == ">= 2.1.0, < 2.2.0"


async def test_supported_release_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = claude_code(executable=str(FIXTURES / "fake_claude"), env_allow=ALLOW)
    assert await backend.probe() == Version(2, 1, 332)
    monkeypatch.setenv("FAKE_VERSION", "9.9.9")
    assert await backend.probe() == Version(2, 1, 332)


@pytest.mark.parametrize("make", [claude_code, codex, aider])
async def test_unsupported_release_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, make: object
) -> None:
    monkeypatch.setenv("FAKE_VERSION", "tool 99.0.1")
    name = {claude_code: "claude", codex: "codex", aider: "aider"}[make]  # type: ignore[index]
    backend = make(executable=str(FIXTURES / f"fake_{name}"), env_allow=ALLOW)  # type: ignore[operator]
    with pytest.raises(ToolVersionError) as refused:
        await backend.probe()
    assert refused.value.found == Version(99, 0, 1)
    assert "99.0.1 is not supported" in str(refused.value)
    assert "allow_untested_version" in str(refused.value)
    assert "\n" not in str(refused.value)


async def test_untested_release_runs_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_VERSION", "3.0.0")
    backend = claude_code(
        executable=str(FIXTURES / "fake_claude"), env_allow=ALLOW, allow_untested_version=True
    )
    assert await backend.probe() == Version(3, 0, 0)


async def test_missing_executable_is_named(tmp_path: Path) -> None:
    backend = codex(executable=str(tmp_path / "no-such-codex"))
    with pytest.raises(ToolVersionError) as refused:
        await backend.probe()
    assert refused.value.found is None
    assert "no-such-codex: not found" in str(refused.value)


async def test_work_on_an_unsupported_release_fails_as_policy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FAKE_VERSION", "1.0.0")
    backend = claude_code(executable=str(FIXTURES / "fake_claude"), env_allow=ALLOW)
    with pytest.raises(BackendError) as failed:
        await backend.run(order(workspace=tmp_path), RecordingReporter())
    assert failed.value.failure.failure_class == "policy"
    assert failed.value.failure.kind == "unsupported_version"
