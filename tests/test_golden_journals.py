"""Every golden journal in ``tests/golden/``: written by the one command, replayed by the policy.

``python tests/golden/regenerate.py`` writes them all (see its docstring);
this checks that each committed file is what it writes, that none is left
out of it, and that ``replay --check`` (today's policy over the recorded
journal) finds no divergence in each.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from playbill.cli._jsonl import parse_run_file
from playbill.runtime import check_replay

GOLDEN_DIR = Path(__file__).parent / "golden"
FILES = sorted(p.name for p in GOLDEN_DIR.glob("*.jsonl"))


def regenerate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("regenerate", GOLDEN_DIR / "regenerate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_regenerate_command_covers_every_golden_journal() -> None:
    assert sorted(regenerate().GOLDEN) == FILES


@pytest.mark.parametrize("name", FILES)
def test_a_golden_journal_is_what_the_regenerate_command_writes(name: str) -> None:
    assert regenerate().GOLDEN[name]() == (GOLDEN_DIR / name).read_bytes()


@pytest.mark.parametrize("name", FILES)
def test_a_golden_journal_passes_replay_check(name: str) -> None:
    path = GOLDEN_DIR / name
    divergence = check_replay(parse_run_file(str(path), path.read_bytes()))
    assert divergence is None, divergence.describe()
