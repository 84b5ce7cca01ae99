"""`--json` on `status`, `replay`, `sim` and `sweep --compare`: stable keys, the right figures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_helpers import DEMO_LAST_SEQ, DEMO_RUN, invoke, read_entries
from click.testing import CliRunner

from playbill.runtime import fold, state_digest

STATUS_KEYS = [
    "run_id",
    "status",
    "reason",
    "waiting_for",
    "goal",
    "summary",
    "strategy",
    "seed",
    "labels",
    "created",
    "created_us",
    "updated_us",
    "last_seq",
    "budget",
    "steps",
    "agents",
    "criteria",
    "pending_approvals",
    "timers",
    "anomalies",
    "recent_anomalies",
    "state_digest",
]
STEP_KEYS = [
    "id",
    "role",
    "status",
    "owner",
    "attempts",
    "max_attempts",
    "accepted_attempt",
    "blocked_reason",
    "last_failure",
]


def as_json(runner: CliRunner, journal: Path, *args: str) -> dict[str, object]:
    result = invoke(runner, journal, *args, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert isinstance(doc, dict)
    return doc


def test_status_json_has_stable_keys_and_the_figures_status_shows(
    runner: CliRunner, demo_journal: Path
) -> None:
    doc = as_json(runner, demo_journal, "status", DEMO_RUN)
    assert list(doc) == STATUS_KEYS
    state = fold(read_entries(demo_journal))
    assert doc["state_digest"] == state_digest(state)
    text = invoke(runner, demo_journal, "status", DEMO_RUN).stdout
    assert text.rstrip().endswith(f"state-digest: {doc['state_digest']}")
    assert (doc["run_id"], doc["status"], doc["last_seq"]) == (DEMO_RUN, "completed", DEMO_LAST_SEQ)
    assert doc["budget"]["tokens"] == {"used": 185_826, "limit": 400_000}
    assert doc["budget"]["cost_usd"]["limit"] == 5.0
    steps = doc["steps"]
    assert isinstance(steps, list)
    assert [s["id"] for s in steps] == ["plan", "csv-writer", "cli-flag", "verify"]
    assert list(steps[1]) == STEP_KEYS
    assert steps[1]["last_failure"]["kind"] == "changes_requested"
    assert "RFC 4180" in steps[1]["last_failure"]["detail"]  # in full, not cut
    agents = {a["id"]: a for a in doc["agents"]}  # type: ignore[attr-defined]
    assert agents["reviewer"]["attempts"] == 4 and agents["executor-a"]["tokens"] == 108_999
    assert [c["met"] for c in doc["criteria"]] == [True, True]  # type: ignore[attr-defined]
    rows = json.loads(invoke(runner, demo_journal, "runs", "--json").stdout)
    assert rows["cost_usd"] == doc["budget"]["cost_usd"]["used"]  # type: ignore[index]


def test_replay_json_is_the_status_document_and_the_check(
    runner: CliRunner, demo_journal: Path
) -> None:
    status = as_json(runner, demo_journal, "status", DEMO_RUN)
    replay = as_json(runner, demo_journal, "replay", DEMO_RUN)
    assert list(replay) == ["state", "replay_check"]
    assert replay == {"state": status, "replay_check": None}
    checked = as_json(runner, demo_journal, "replay", DEMO_RUN, "--check")
    assert checked["replay_check"] is True
    prefix = as_json(runner, demo_journal, "replay", DEMO_RUN, "--until", "37")
    state = prefix["state"]
    assert isinstance(state, dict) and state["last_seq"] == 37
    assert state["state_digest"] == state_digest(fold(read_entries(demo_journal)[:37]))


def test_sim_json_has_the_outcome_and_the_final_state(
    runner: CliRunner, journal_path: Path
) -> None:
    doc = as_json(runner, journal_path, "sim", "--seed", "3")
    assert list(doc) == ["run_id", "seed", "outcome", "entries", "virtual_s", "state"]
    assert (doc["run_id"], doc["seed"]) == ("sim-3", 3)
    entries = read_entries(journal_path, "sim-3")
    state = fold(entries)
    assert doc["entries"] == len(entries)
    assert doc["outcome"] == state.status
    assert isinstance(doc["state"], dict) and list(doc["state"]) == STATUS_KEYS
    assert doc["state"]["state_digest"] == state_digest(state)
    assert doc["state"]["budget"]["tokens"]["used"] == state.usage.tokens


def test_json_is_one_line_of_json_even_for_multiline_text(
    runner: CliRunner, demo_journal: Path
) -> None:
    for args in (("status", DEMO_RUN), ("replay", DEMO_RUN), ("show", DEMO_RUN)):
        out = invoke(runner, demo_journal, *args, "--json").stdout
        assert out.count("\n") == 1 and out.endswith("\n"), args


@pytest.mark.slow
def test_sweep_compare_json_carries_each_difference(runner: CliRunner, tmp_path: Path) -> None:
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    common = ("--strategies", "pipeline", "--seeds", "0:3", "--no-plots", "--workers", "1")
    for out, faults in ((a, ()), (b, ("--faults", "crash=0.3"))):
        made = invoke(runner, tmp_path / "j.db", "sweep", *common, "--out", out, *faults)
        assert made.exit_code == 0, made.output
    doc = as_json(runner, tmp_path / "j.db", "sweep", "--compare", a, b)
    keys = ["a", "b", "setup_differences", "differences", "only_a", "only_b", "significant"]
    assert list(doc) == keys
    assert (doc["a"], doc["b"], doc["setup_differences"]) == (a, b, ["faults"])
    differences = doc["differences"]
    assert isinstance(differences, list) and len(differences) == 8
    first = differences[0]
    assert set(first) == {
        "strategy",
        "profile",
        "metric",
        "a",
        "b",
        "baseline",
        "test",
        "paired",
        "pairs",
        "unshared",
        "difference",
        "low",
        "high",
        "interval",
        "p",
        "p_holm",
        "significant",
    }
    assert first["a"]["n"] == 3
    # The seeds both sweeps ran are paired; Holm's p is never below the raw one.
    assert first["paired"] is True and first["pairs"] == 3
    assert first["p_holm"] is None or first["p_holm"] >= first["p"]
    assert doc["significant"] == sum(d["significant"] for d in differences)
    text = invoke(runner, tmp_path / "j.db", "sweep", "--compare", a, b).stdout
    found = re.search(r"(\d+) of 8 differences significant", text)
    assert found is not None and int(found.group(1)) == doc["significant"]
    alone = invoke(runner, tmp_path / "j.db", "sweep", "--json", "--strategies", "pipeline")
    assert alone.exit_code == 2 and "--json goes with --compare" in alone.output
