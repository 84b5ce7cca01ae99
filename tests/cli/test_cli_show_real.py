"""`playbill show` and `events` filters on a real run: the demo, its tests run by pytest.

The demo runs once for the module. Its fix-wrap #1 fails the project's tests
(pytest's output names the failing test), and fix-slugify #1 fails review
with a finding longer than any column of `status`. A copy of it, with
escape sequences planted in what the agents wrote, checks that `show`
neutralizes them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import invoke
from click.testing import CliRunner

pytestmark = pytest.mark.slow

RUN = "demo-0001"
SLUG_REASON_END = "split on [^a-z0-9]+ instead"
"""How the review of fix-slugify #1 ends: past the 80 columns of a table."""

FAILING_TEST = "test_a_line_may_fill_the_width_exactly"
HOSTILE = "\x1b]0;pwned\x07\x1b[31mRED\x9b2J\x1b[2K\r"


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("demo")
    path = where / "journal.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # the verifier passes it on
        patch.delenv("COLUMNS", raising=False)
        result = invoke(
            CliRunner(), path, "demo", "--dir", str(where), "--worktrees", str(where / "wt")
        )
    assert result.exit_code == 0, result.output
    return path


def out(journal: Path, *args: str) -> str:
    result = invoke(CliRunner(), journal, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_show_attempt_explains_the_failed_tests(journal: Path) -> None:
    text = out(journal, "show", RUN, "fix-wrap#1")
    lines = text.splitlines()
    assert "fix-wrap #2" not in text
    assert (
        "  validator  tests_pass by verifier FAILED: 3 tests passed, 1 failed, score 0.75" in lines
    )
    assert any(line.startswith("  failure    validation/tests_failed: ") for line in lines)
    shown_tail = [line for line in lines if line.startswith("               | ")]
    assert any(FAILING_TEST in line for line in shown_tail)
    assert any("AssertionError" in line for line in shown_tail)


def test_show_attempt_json_carries_the_counts_and_the_output_tail(journal: Path) -> None:
    doc = json.loads(out(journal, "show", RUN, "fix-wrap#1", "--json"))
    (attempt,) = doc["attempts"]
    (tests,) = attempt["validations"]
    assert (tests["passed"], tests["tests_passed"], tests["tests_failed"]) == (False, 3, 1)
    assert tests["verifier"] == "verifier"
    assert FAILING_TEST in tests["output_tail"] and "1 failed, 3 passed" in tests["output_tail"]
    assert tests["failure"]["kind"] == "tests_failed" == attempt["failure"]["kind"]
    assert attempt["review"]["verdict"] == "pass"
    assert attempt["started_us"] <= attempt["ended_us"]


def test_show_run_gives_every_failure_in_full(journal: Path) -> None:
    lines = out(journal, "show", RUN).splitlines()
    failures = lines[lines.index("Failures: 2") + 1 :][:2]
    assert failures[0].startswith("  fix-slugify #1 (ex-1): validation/changes_requested: review: ")
    assert failures[0].endswith(SLUG_REASON_END)
    assert failures[1].startswith("  fix-wrap #1 (ex-2): validation/tests_failed: ")
    doc = json.loads(out(journal, "show", RUN, "--json"))
    assert [(f["step"], f["attempt"]) for f in doc["failures"]] == [
        ("fix-slugify", 1),
        ("fix-wrap", 1),
    ]


def test_status_piped_is_not_cut_at_80_columns(journal: Path) -> None:
    status = out(journal, "status", RUN)
    assert "validation/changes_requested" in status and "…" not in status


def test_events_filters_find_the_failed_validation(journal: Path) -> None:
    lines = out(journal, "events", RUN, "--type", "validation_failed").splitlines()
    assert len(lines) == 1 and "step=fix-wrap attempt=1 validator=tests_pass" in lines[0]
    verifier = out(journal, "events", RUN, "--step", "fix-wrap", "--agent", "verifier", "--json")
    docs = [json.loads(line) for line in verifier.splitlines()]
    assert {"verification_requested", "result_proposed"} <= {d["msg"]["type"] for d in docs}
    assert all(
        "verifier"
        in (
            d["sender"],
            d["recipient"],
            d["msg"].get("agent"),
            d["msg"].get("verifier"),
            d["msg"].get("result", {}).get("agent"),
        )
        for d in docs
    )


def _plant(value: Any) -> Any:
    """Escape sequences in every text an agent or a validator wrote."""
    if isinstance(value, dict):
        return {
            key: (
                item + HOSTILE
                if key in {"output_tail", "detail", "message", "summary"} and isinstance(item, str)
                else _plant(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_plant(item) for item in value]
    return value


def test_escape_sequences_in_agent_output_are_neutralized(journal: Path, tmp_path: Path) -> None:
    exported = tmp_path / "run.jsonl"
    assert invoke(CliRunner(), journal, "export", RUN, "-o", str(exported)).exit_code == 0
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_text("".join(json.dumps({**e, "msg": _plant(e["msg"])}) + "\n" for e in lines))
    copy = tmp_path / "copy.db"
    imported = invoke(CliRunner(), copy, "import", str(hostile))
    assert imported.exit_code == 0, imported.output
    for args in (("show", RUN), ("show", RUN, "fix-wrap"), ("show", RUN, "fix-slugify#1")):
        shown = out(copy, *args)
        for control in ("\x1b", "\x07", "\x9b", "\r"):
            assert control not in shown, (args, control)
        assert r"\x1b]0;pwned\x07\x1b[31mRED\x9b2J" in shown, args
    doc = json.loads(out(copy, "show", RUN, "fix-wrap#1", "--json"))
    assert doc["attempts"][0]["validations"][0]["output_tail"].endswith(HOSTILE)  # JSON escapes
