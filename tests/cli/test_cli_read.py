"""The read side of the CLI on the demo run: demo, runs, status, replay and events."""

from __future__ import annotations

from pathlib import Path

import msgspec
from cli_helpers import (
    DEMO_LAST_SEQ,
    DEMO_RUN,
    assert_one_line_error,
    invoke,
    list_runs,
    read_entries,
)
from click.testing import CliRunner

from playbill.cli import cli
from playbill.cli._demo import demo_run
from playbill.runtime import SqliteJournal
from playbill.runtime.logic._reducer import fold
from playbill.runtime.model._entry import encode_entry
from playbill.runtime.model._state import state_digest

RUN_KEYS = [
    "run_id",
    "status",
    "goal",
    "created",
    "created_us",
    "updated_us",
    "last_seq",
    "steps_done",
    "steps_total",
    "tokens",
    "cost_usd",
    "anomalies",
]


def digest_line(output: str) -> str:
    return output.rstrip("\n").splitlines()[-1]


def test_demo_writes_the_scripted_run_through_the_writer(
    runner: CliRunner, journal_path: Path
) -> None:
    result = invoke(runner, journal_path, "demo", "--scripted")
    assert result.exit_code == 0, result.output
    stored = read_entries(journal_path)
    expected = demo_run().entries(DEMO_RUN)
    assert [encode_entry(e) for e in stored] == [encode_entry(e) for e in expected]
    state = fold(stored)
    assert state.anomaly_count == 0, state.anomalies
    assert state.status == "completed"
    assert f"state-digest: {state_digest(state)}" in result.output
    assert f"Wrote run {DEMO_RUN} ({DEMO_LAST_SEQ} entries) to {journal_path}" in result.output
    assert f"events {DEMO_RUN}" in result.output
    assert f"replay {DEMO_RUN}" in result.output


def test_demo_takes_the_next_free_id(runner: CliRunner, demo_journal: Path) -> None:
    result = invoke(runner, demo_journal, "demo", "--scripted")
    assert result.exit_code == 0, result.output
    assert [info.run_id for info in list_runs(demo_journal)] == ["demo-0001", "demo-0002"]
    second = read_entries(demo_journal, "demo-0002")
    assert fold(second).anomaly_count == 0
    assert [e.msg for e in second] == [e.msg for e in read_entries(demo_journal)]


def test_demo_creates_the_journal_directory(runner: CliRunner, tmp_path: Path) -> None:
    journal = tmp_path / "deep" / "er" / "journal.db"
    assert invoke(runner, journal, "demo", "--scripted").exit_code == 0
    assert journal.exists()


def test_the_journal_comes_from_the_environment(runner: CliRunner, tmp_path: Path) -> None:
    journal = tmp_path / "from-env.db"
    result = runner.invoke(cli, ["demo", "--scripted"], env={"PLAYBILL_JOURNAL": str(journal)})
    assert result.exit_code == 0, result.output
    assert "playbill --journal" in result.output  # hints name the non-default journal
    assert [info.run_id for info in list_runs(journal)] == [DEMO_RUN]


def test_replay_digest_is_the_digest_of_the_full_fold(
    runner: CliRunner, demo_journal: Path
) -> None:
    result = invoke(runner, demo_journal, "replay", DEMO_RUN)
    assert result.exit_code == 0, result.output
    expected = state_digest(fold(read_entries(demo_journal)))
    assert digest_line(result.output) == f"state-digest: {expected}"


def test_replay_until_folds_a_prefix(runner: CliRunner, demo_journal: Path) -> None:
    entries = read_entries(demo_journal)
    for until in (1, 10, 40, DEMO_LAST_SEQ):
        result = invoke(runner, demo_journal, "replay", DEMO_RUN, "--until", str(until))
        assert result.exit_code == 0, result.output
        expected = state_digest(fold(entries[:until]))
        assert digest_line(result.output) == f"state-digest: {expected}"
        assert f"last seq  {until}" in result.output


def test_replay_until_past_the_end_is_a_usage_error(runner: CliRunner, demo_journal: Path) -> None:
    result = invoke(runner, demo_journal, "replay", DEMO_RUN, "--until", str(DEMO_LAST_SEQ + 1))
    assert result.exit_code == 2
    assert f"seq {DEMO_LAST_SEQ + 1} is past the last entry" in result.stderr
    assert invoke(runner, demo_journal, "replay", DEMO_RUN, "--until", "0").exit_code == 2


def test_status_summarises_the_run(runner: CliRunner, demo_journal: Path) -> None:
    result = invoke(runner, demo_journal, "status", DEMO_RUN)
    assert result.exit_code == 0, result.output
    out = result.output
    state = fold(read_entries(demo_journal))
    assert state.goal[:40] in out
    assert "completed" in out
    assert "pipeline" in out
    for step in ("plan", "csv-writer", "cli-flag", "verify"):
        assert step in out
    for agent in ("planner", "executor-a", "executor-b", "reviewer", "verifier"):
        assert agent in out
    assert "validation/changes_re" in out  # the last failure of csv-writer
    assert "400,000" in out and "185,826" in out  # token budget and usage
    assert "suite-green" in out and "csv-roundtrip" in out
    assert "Pending approvals: none" in out
    assert "Pending timers: none" in out
    assert "Anomalies: 0" in out
    assert f"last seq  {DEMO_LAST_SEQ}" in out
    assert digest_line(out) == f"state-digest: {state_digest(state)}"


def test_status_lists_steps_in_plan_order_even_from_a_snapshot(
    runner: CliRunner, demo_journal: Path
) -> None:
    out = invoke(runner, demo_journal, "status", DEMO_RUN).output
    positions = [out.index(f"\n{step} ") for step in ("plan", "csv-writer", "cli-flag", "verify")]
    assert positions == sorted(positions)


def test_status_and_replay_agree(runner: CliRunner, demo_journal: Path) -> None:
    status = invoke(runner, demo_journal, "status", DEMO_RUN).output
    replay = invoke(runner, demo_journal, "replay", DEMO_RUN).output
    assert status == replay


def test_runs_table(runner: CliRunner, demo_journal: Path) -> None:
    result = invoke(runner, demo_journal, "runs")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith(DEMO_RUN))
    assert row.split() == [
        DEMO_RUN,
        "completed",
        "2025-03-14",
        "09:30:00Z",
        "4/4",
        "185,826",
        "$1.36",
    ]


def test_runs_json_has_one_object_per_run_with_stable_keys(
    runner: CliRunner, demo_journal: Path
) -> None:
    assert invoke(runner, demo_journal, "demo", "--scripted").exit_code == 0
    result = invoke(runner, demo_journal, "runs", "--json")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    rows = [msgspec.json.decode(line) for line in lines]
    assert [list(row) for row in rows] == [RUN_KEYS, RUN_KEYS]
    first = rows[0]
    assert first["run_id"] == DEMO_RUN
    assert rows[1]["run_id"] == "demo-0002"
    assert first["status"] == "completed"
    assert first["created"] == "2025-03-14T09:30:00.000Z"
    assert first["created_us"] == 1_741_944_600_000_000
    assert first["last_seq"] == DEMO_LAST_SEQ
    assert (first["steps_done"], first["steps_total"]) == (4, 4)
    assert first["tokens"] == 185_826
    assert first["cost_usd"] == 1.3604
    assert first["anomalies"] == 0


def test_runs_on_an_empty_journal(runner: CliRunner, tmp_path: Path) -> None:
    journal = tmp_path / "empty.db"
    SqliteJournal(journal).close()
    result = invoke(runner, journal, "runs")
    assert result.exit_code == 0
    assert "No runs" in result.output
    assert invoke(runner, journal, "runs", "--json").output == ""


def test_events_prints_one_line_per_entry(runner: CliRunner, demo_journal: Path) -> None:
    result = invoke(runner, demo_journal, "events", DEMO_RUN)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == DEMO_LAST_SEQ
    assert [int(line.split()[0]) for line in lines] == list(range(1, DEMO_LAST_SEQ + 1))
    first = lines[0].split()
    assert first[1:5] == ["2025-03-14T09:30:00.000Z", "cli", "→", "*"]
    assert first[5] == "run_created"
    assert 'goal="Add CSV export' in lines[0]
    review = next(line for line in lines if " review_given " in line)
    assert "supervisor → *" in review
    assert "verdict=request_changes" in review
    assert "step=csv-writer" in review


def test_events_since(runner: CliRunner, demo_journal: Path) -> None:
    result = invoke(runner, demo_journal, "events", DEMO_RUN, "--since", "140")
    seqs = [int(line.split()[0]) for line in result.stdout.splitlines()]
    assert seqs == list(range(140, DEMO_LAST_SEQ + 1))
    past = invoke(runner, demo_journal, "events", DEMO_RUN, "--since", str(DEMO_LAST_SEQ + 1))
    assert past.exit_code == 0
    assert past.stdout == ""


def test_events_json_is_byte_identical_to_the_stored_encoding(
    runner: CliRunner, demo_journal: Path
) -> None:
    result = invoke(runner, demo_journal, "events", DEMO_RUN, "--json")
    assert result.exit_code == 0, result.output
    expected = b"".join(encode_entry(e) + b"\n" for e in read_entries(demo_journal))
    assert result.stdout_bytes == expected
    since = invoke(
        runner, demo_journal, "events", DEMO_RUN, "--json", "--since", str(DEMO_LAST_SEQ)
    )
    assert since.stdout_bytes == expected.splitlines(keepends=True)[-1]


def test_read_commands_never_create_a_journal(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here.db"
    for args in (["runs"], ["status", DEMO_RUN], ["events", DEMO_RUN], ["replay", DEMO_RUN]):
        result = invoke(runner, missing, *args)
        assert_one_line_error(result, str(missing), "no such file")
        assert not missing.exists()
    export = invoke(runner, missing, "export", DEMO_RUN, "-o", str(tmp_path / "out.jsonl"))
    assert_one_line_error(export, str(missing))
    assert not missing.exists()
    assert not (tmp_path / "out.jsonl").exists()
