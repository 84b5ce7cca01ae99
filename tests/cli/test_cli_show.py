"""`playbill show`: a run's failures in full, a step's attempts, one attempt; and its JSON.

On the scripted demo run: csv-writer's first attempt fails review (the
reviewer asks for RFC 4180 quoting), the second passes its tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import DEMO_RUN, assert_one_line_error, invoke, read_entries
from click.testing import CliRunner

from playbill.runtime import StepFailed, fold, state_digest

FINDING = "fields holding commas, quotes or newlines are not quoted (RFC 4180 2.6)"
"""The reviewer's finding on csv-writer #1, longer than any column of `status`."""

RUN_KEYS = ["kind", "run", "failures"]
STEP_KEYS = ["kind", "run_id", "step", "goal", "attempts"]
ATTEMPT_KEYS = [
    "number",
    "agent",
    "status",
    "lost",
    "assigned",
    "assigned_us",
    "started",
    "started_us",
    "ended",
    "ended_us",
    "usage",
    "feedback",
    "result",
    "review",
    "validations",
    "failure",
]
VALIDATION_KEYS = [
    "validator",
    "passed",
    "verifier",
    "failure",
    "score",
    "tests_passed",
    "tests_failed",
    "detail",
    "output_tail",
    "evidence",
]


def show(runner: CliRunner, journal: Path, *args: str) -> str:
    result = invoke(runner, journal, "show", DEMO_RUN, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_show_run_is_status_plus_every_failure_in_full(
    runner: CliRunner, demo_journal: Path
) -> None:
    out = show(runner, demo_journal)
    status = invoke(runner, demo_journal, "status", DEMO_RUN).stdout
    assert out.startswith(status)  # what status shows, then the failures
    rest = out[len(status) :].splitlines()
    assert rest[1] == "Failures: 1"
    assert rest[2] == (
        "  csv-writer #1 (executor-a): validation/changes_requested: "
        f"review: [major] ledger/export.py:14: {FINDING}"
    )
    assert rest[3].endswith(f"playbill --journal {demo_journal} show demo-0001 STEP")


def test_show_step_shows_each_attempt_its_review_and_its_tests(
    runner: CliRunner, demo_journal: Path
) -> None:
    lines = show(runner, demo_journal, "csv-writer").splitlines()
    assert lines[0] == "step csv-writer of run demo-0001: completed (executor), attempt #2 accepted"
    first = lines.index("csv-writer #1  executor-a  failed")
    second = lines.index("csv-writer #2  executor-a  passed")
    one, two = lines[first:second], lines[second:]
    assert (
        "  time       assigned 2025-03-14T09:30:56.700Z  started 2025-03-14T09:30:57.900Z  "
        "ended 2025-03-14T09:33:13.700Z"
    ) in one
    assert "  review     reviewer: request_changes (changes_requested)" in one
    assert f"             [major] ledger/export.py:14: {FINDING}" in one
    assert any(line.startswith("  failure    validation/changes_requested") for line in one)
    assert any(line.startswith("  feedback   validation/changes_requested") for line in two)
    assert "  validator  tests_pass by verifier passed: 9 tests passed, 0 failed, score 1" in two
    assert "             evidence test: tests/test_export.py (9 passed)" in two
    assert not any(line.startswith("  failure") for line in two)


def test_show_step_attempt_shows_that_attempt_only(runner: CliRunner, demo_journal: Path) -> None:
    out = show(runner, demo_journal, "csv-writer#1")
    assert "csv-writer #1  executor-a  failed" in out
    assert "csv-writer #2" not in out
    assert FINDING in out


def test_show_json_of_a_run(runner: CliRunner, demo_journal: Path) -> None:
    doc = json.loads(show(runner, demo_journal, "--json"))
    assert list(doc) == RUN_KEYS and doc["kind"] == "run"
    state = fold(read_entries(demo_journal))
    assert doc["run"]["state_digest"] == state_digest(state)
    failed = [m for e in read_entries(demo_journal) if isinstance(m := e.msg, StepFailed)]
    assert [(f["step"], f["attempt"]) for f in doc["failures"]] == [
        (m.step, m.attempt) for m in failed
    ]
    assert doc["failures"][0]["failure"] == {
        "failure_class": "validation",
        "kind": "changes_requested",
        "detail": f"review: [major] ledger/export.py:14: {FINDING}",
    }


def test_show_json_of_a_step(runner: CliRunner, demo_journal: Path) -> None:
    doc = json.loads(show(runner, demo_journal, "csv-writer", "--json"))
    assert list(doc) == STEP_KEYS and doc["kind"] == "step"
    assert doc["step"]["id"] == "csv-writer" and doc["step"]["accepted_attempt"] == 2
    one, two = doc["attempts"]
    assert list(one) == ATTEMPT_KEYS
    assert (one["number"], one["agent"], one["status"]) == (1, "executor-a", "failed")
    assert one["started"] == "2025-03-14T09:30:57.900Z"
    assert one["review"]["findings"] == [
        {"severity": "major", "message": FINDING, "path": "ledger/export.py", "line": 14}
    ]
    assert one["failure"]["kind"] == "changes_requested" and one["validations"] == []
    assert one["result"]["changed_files"] == ["ledger/export.py", "tests/test_export.py"]
    (tests,) = two["validations"]
    assert list(tests) == VALIDATION_KEYS
    assert (tests["validator"], tests["passed"], tests["tests_passed"]) == ("tests_pass", True, 9)
    assert two["feedback"] == one["failure"]
    only = json.loads(show(runner, demo_journal, "csv-writer#2", "--json"))
    assert only["attempts"] == [two]


@pytest.mark.parametrize(
    ("target", "fragments"),
    [
        ("nope", ("no step 'nope'", "its steps: plan, csv-writer, cli-flag, verify")),
        ("csv-writer#3", ("step csv-writer", "no attempt #3", "its attempts: #1, #2")),
        ("verify#2", ("no attempt #2", "its attempts: #1")),
    ],
)
def test_an_unknown_step_or_attempt_is_one_line_naming_what_exists(
    runner: CliRunner, demo_journal: Path, target: str, fragments: tuple[str, ...]
) -> None:
    result = invoke(runner, demo_journal, "show", DEMO_RUN, target)
    assert_one_line_error(result, *fragments)


def test_a_bad_attempt_number_and_an_unknown_run_are_refused(
    runner: CliRunner, demo_journal: Path
) -> None:
    zero = invoke(runner, demo_journal, "show", DEMO_RUN, "csv-writer#0")
    assert zero.exit_code == 2 and "not STEP or STEP#N" in zero.output
    assert_one_line_error(invoke(runner, demo_journal, "show", "no-such-run"), "no-such-run")
