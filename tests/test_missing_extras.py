"""Without an extra, what needs it says so in one line that names the extra to install.

Absence is simulated: ``sys.modules[name] = None`` makes ``import name`` fail
(in this process through ``monkeypatch``, in a subprocess at its start).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import playbill
from backend_helpers import FIXTURES, RecordingReporter, order
from playbill._extras import MissingExtraError
from playbill.backends import claude_code, diagnose, openai
from playbill.backends._backend import BackendError
from playbill.demo import PytestMissing
from playbill.sweeps import PlotsUnavailableError
from playbill.sweeps._ray import RayUnavailableError, ray_simulator

SRC = str(Path(playbill.__file__).resolve().parents[1])

BLOCKED_CLI = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None
sys.argv = ["playbill", *sys.argv[2:]]
from playbill.cli import main
main()
"""


def run_cli_without(blocked: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``playbill ARGS`` in a fresh interpreter where the modules ``blocked`` cannot be imported."""
    return subprocess.run(
        [sys.executable, "-c", BLOCKED_CLI, blocked, *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": SRC, "HOME": str(cwd)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("blocked", "args", "extra"),
    [
        (
            "matplotlib",
            ("sweep", "--strategies", "pipeline", "--seeds", "1", "--out", "sweep"),
            "sweeps",
        ),
        (
            "ray",
            ("sweep", "--strategies", "pipeline", "--seeds", "1", "--out", "s", "--ray"),
            "ray",
        ),
        ("psycopg", ("--journal", "postgresql://u@127.0.0.1:1/db", "runs"), "postgres"),
    ],
)
def test_the_cli_names_the_missing_extra_in_one_line(
    blocked: str, args: tuple[str, ...], extra: str, tmp_path: Path
) -> None:
    done = run_cli_without(blocked, *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("playbill: error: ")
    assert f"pip install 'playbill[{extra}]'" in lines[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "sweep").exists()  # refused before any work


def test_the_missing_extra_errors_are_missing_extra_errors() -> None:
    plots = PlotsUnavailableError()
    assert isinstance(plots, MissingExtraError)
    assert (plots.module, plots.extra) == ("matplotlib", "sweeps")
    assert str(plots).endswith("pip install 'playbill[sweeps]' (or pass --no-plots)")
    ray = RayUnavailableError()
    assert isinstance(ray, MissingExtraError)
    assert str(ray) == "--ray needs ray, which is not installed: pip install 'playbill[ray]'"


def test_ray_simulator_without_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(RayUnavailableError), ray_simulator():
        pass


async def test_the_openai_backend_without_httpx_is_unavailable_by_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)
    monkeypatch.setenv("PLAYBILL_TEST_OPENAI_KEY", "sk-test")
    backend = openai(
        model="m", base_url="http://127.0.0.1:9/v1", api_key_env="PLAYBILL_TEST_OPENAI_KEY"
    )
    with pytest.raises(BackendError) as caught:
        await backend.run(order("reviewer", "review"), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("policy", "backend_unavailable")
    assert "pip install 'playbill[openai]'" in failure.detail
    assert "\n" not in failure.detail


async def test_doctor_says_the_openai_backend_needs_its_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)
    monkeypatch.setenv("PLAYBILL_TEST_OPENAI_KEY", "sk-test")
    backend = openai(
        model="m", base_url="http://127.0.0.1:9/v1", api_key_env="PLAYBILL_TEST_OPENAI_KEY"
    )
    found = await diagnose("writer", backend, base=None)
    assert not found.ready
    assert found.endpoint is None  # not checked: nothing to check it with
    assert [p for p in found.problems if "pip install 'playbill[openai]'" in p]


def test_the_demo_names_its_extra_when_this_python_lacks_pytest() -> None:
    own = PytestMissing(sys.executable, "No module named 'pytest'")
    assert "pip install 'playbill[demo]'" in str(own)
    other = PytestMissing("/opt/py/bin/python3", "No module named 'pytest'")
    assert "/opt/py/bin/python3 -m pip install pytest" in str(other)
    assert "\n" not in str(own) + str(other)


async def test_doctor_leaves_a_cli_agents_endpoint_unchecked_without_httpx(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)
    monkeypatch.setenv("HOME", str(tmp_path))  # no login of the machine's user
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-unchecked-0001")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9/unreachable")
    backend = claude_code(executable=str(FIXTURES / "fake_claude"))
    found = await diagnose("writer", backend, base=None)
    assert found.endpoint is None
    assert [n for n in found.notes if "not checked" in n and "playbill[openai]" in n]
    assert not [p for p in found.problems if "endpoint" in p]  # not a problem of the agent
    assert found.ready, found.problems
