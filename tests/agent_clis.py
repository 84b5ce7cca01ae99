"""The real coding-agent CLIs, at the versions pinned in ``agent_clis.toml``.

``python tests/agent_clis.py install`` installs them (npm packages with the
machine's ``npm``; aider into a virtual environment of its own, since it pins
its dependencies tightly) under ``PLAYBILL_AGENT_CLIS`` (default:
``.cache/agent-clis`` in the checkout). Installing again is a no-op while the
pinned versions are there. ``executable(name)`` finds one for a test.

When a CLI is missing, ``executable`` installs it (once per test session),
so that the README's test command runs the whole suite on a machine with
``npm``; ``PLAYBILL_AGENT_CLIS_NO_INSTALL=1`` turns that off. A CLI that is
still missing skips the test, except under CI (or
``PLAYBILL_REQUIRE_AGENT_CLIS=1``), where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import pytest

HERE = Path(__file__).resolve().parent
PINS = HERE / "agent_clis.toml"
REQUIRE_ENV = "PLAYBILL_REQUIRE_AGENT_CLIS"
NO_INSTALL_ENV = "PLAYBILL_AGENT_CLIS_NO_INSTALL"
_tried: dict[str, str] = {}
"""CLIs this session tried to install, and why it failed ('' when it did not)."""


def pins() -> dict[str, dict[str, str]]:
    """The pinned CLIs: name to its table (``npm`` or ``pypi``, ``version``, ``bin``)."""
    with PINS.open("rb") as f:
        return tomllib.load(f)


def root() -> Path:
    """Where the CLIs are installed."""
    configured = os.environ.get("PLAYBILL_AGENT_CLIS")
    return Path(configured) if configured else HERE.parent / ".cache" / "agent-clis"


def _bin_path(name: str, pin: dict[str, str]) -> Path:
    if "npm" in pin:
        return root() / "npm" / "node_modules" / ".bin" / pin["bin"]
    return root() / f"{name}-venv" / "bin" / pin["bin"]


def _stamp(name: str) -> Path:
    return root() / f"{name}.installed.json"


def installed(name: str) -> bool:
    """Whether ``name`` is installed at its pinned version."""
    pin = pins()[name]
    stamp = _stamp(name)
    if not stamp.is_file() or not _bin_path(name, pin).exists():
        return False
    return json.loads(stamp.read_text()) == pin


def install(names: list[str] | None = None) -> None:
    """Install the pinned CLIs that are not installed yet."""
    for name, pin in pins().items():
        if names and name not in names:
            continue
        if installed(name):
            print(f"{name} {pin['version']}: installed")
            continue
        print(f"{name} {pin['version']}: installing", flush=True)
        root().mkdir(parents=True, exist_ok=True)
        if "npm" in pin:
            npm = shutil.which("npm")
            if npm is None:
                raise SystemExit("npm is not installed (apt-get install npm)")
            prefix = root() / "npm"
            prefix.mkdir(exist_ok=True)
            subprocess.run(
                [
                    npm,
                    "install",
                    "--prefix",
                    str(prefix),
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                    f"{pin['npm']}@{pin['version']}",
                ],
                check=True,
            )
        else:
            venv = root() / f"{name}-venv"
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            subprocess.run(
                [
                    str(venv / "bin" / "python"),
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    f"{pin['pypi']}=={pin['version']}",
                ],
                check=True,
            )
        _stamp(name).write_text(json.dumps(pin))


CREDENTIALS = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CONFIG_DIR",
    "CODEX_API_KEY",
    "CODEX_HOME",
    "OPENAI_API_KEY",
    "OPENAI_API_BASE",
    "OPENAI_BASE_URL",
    "OPENROUTER_API_KEY",
    "DEEPSEEK_API_KEY",
    "GEMINI_API_KEY",
    "AIDER_MODEL",
    "XAI_API_KEY",
    "XAI_API_BASE",
)
"""The variables through which the CLIs find a credential, an endpoint or a model."""


def bare_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *also: str) -> Path:
    """An empty ``HOME`` of the test's own, and none of ``CREDENTIALS`` (nor ``also``) set.

    So that no login, key or endpoint of the machine's user counts.
    """
    for name in (*CREDENTIALS, *also):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def executable(name: str) -> Path:
    """The pinned CLI ``name``; skips the test when it is not installed (fails under CI)."""
    pin = pins()[name]
    if not installed(name) and name not in _tried and os.environ.get(NO_INSTALL_ENV) != "1":
        try:
            install([name])
            _tried[name] = ""
        except (OSError, SystemExit, subprocess.CalledProcessError) as error:
            _tried[name] = f" (installing it failed: {error})"
    if installed(name):
        return _bin_path(name, pin)
    why = (
        f"{name} {pin['version']} is not installed{_tried.get(name, '')}: "
        "run `python tests/agent_clis.py install`"
    )
    missing(why)


def missing(why: str) -> NoReturn:
    """Skip the test for want of ``why``; fail it under CI (or ``REQUIRE_ENV=1``)."""
    import pytest

    if os.environ.get("CI") or os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(why)
    pytest.skip(why)


if __name__ == "__main__":
    if sys.argv[1:2] != ["install"]:
        raise SystemExit("usage: python tests/agent_clis.py install [NAME ...]")
    install(sys.argv[2:] or None)
