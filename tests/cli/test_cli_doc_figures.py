"""The examples of docs/cli.md whose figures come from a run are what the CLI prints.

The runs behind them are deterministic (the scripted demo's fixed times,
the simulated demo's and ``sim``'s seeds), so each example is run again, in
a directory of its own with the default journal, and every line it shows
must be printed, in that order (``...`` in an example stands for lines it
leaves out); a command shown twice is run twice. Regenerate an example by
running its commands in an empty directory and pasting the output.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from playbill.cli import cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"

GROUPS = {
    "scripted demo": [
        "playbill demo --scripted",
        "playbill runs",
        "playbill runs --json",
        "playbill events demo-0001",
        "playbill events demo-0001 --json --since 147",
        "playbill events demo-0001 --type review_given --step csv-writer",
        "playbill show demo-0001 csv-writer#1",
        "playbill replay demo-0001 --until 37",
        "playbill export demo-0001 -o demo-0001.jsonl",
        "playbill --journal other.db import demo-0001.jsonl",
    ],
    "simulated demo": ["playbill demo --simulated --speed 0"],
    "sim": ["playbill sim --seed 3 --faults crash=0.05,hang=0.02"],
}
"""The examples checked, grouped by the journal they need, in the order they run."""


def examples() -> dict[str, list[list[str]]]:
    """Each command of docs/cli.md's console blocks, with the outputs shown after it."""
    found: dict[str, list[list[str]]] = {}
    command: str | None = None
    inside = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            inside = line.startswith("```console")
            command = None
            continue
        if not inside:
            continue
        if line.startswith("$ "):
            command = line[2:].strip()
            found.setdefault(command, []).append([])
        elif command is not None:
            found[command][-1].append(line.rstrip())
    return found


def in_order(shown: list[str], printed: list[str]) -> str:
    """The first line shown that is not printed after the previous one ('' when all are)."""
    at = 0
    for line in shown:
        if line in ("...", ""):
            continue
        try:
            at = printed.index(line, at) + 1
        except ValueError:
            return line
    return ""


@pytest.mark.parametrize("group", list(GROUPS))
def test_the_examples_figures_are_what_the_cli_prints(
    group: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PLAYBILL_JOURNAL", raising=False)
    monkeypatch.chdir(tmp_path)
    shown = examples()
    runner = CliRunner()
    for command in GROUPS[group]:
        assert command in shown, f"docs/cli.md has no example of {command!r}"
        for example in shown[command]:  # a command shown twice runs twice (import)
            result = runner.invoke(cli, shlex.split(command)[1:], env={"COLUMNS": "80"})
            here = f"{tmp_path}{os.sep}"  # the examples show paths relative to where they run
            printed = [line.rstrip().replace(here, "") for line in result.output.splitlines()]
            missing = in_order(example, printed)
            assert not missing, (
                f"docs/cli.md, `{command}` shows {missing!r}, which it does not print:\n"
                + os.linesep.join(printed)
            )
