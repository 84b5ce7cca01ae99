"""`playbill events --type T --step S --agent A --since SEQ`, alone and combined, text and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import DEMO_RUN, invoke, read_entries
from click.testing import CliRunner

from playbill.runtime import Entry, ResultProposed, message_tag


def seqs(runner: CliRunner, journal: Path, *args: str) -> list[int]:
    result = invoke(runner, journal, "events", DEMO_RUN, *args)
    assert result.exit_code == 0, result.output
    return [int(line.split()[0]) for line in result.stdout.splitlines()]


def about_step(entry: Entry, step: str) -> bool:
    msg = entry.msg
    if isinstance(msg, ResultProposed):
        return msg.result.step == step
    return getattr(msg, "step", None) == step


def test_type_keeps_entries_of_the_types_given(runner: CliRunner, demo_journal: Path) -> None:
    entries = read_entries(demo_journal)
    wanted = {"step_failed", "review_given"}
    expected = [e.seq for e in entries if message_tag(e.msg) in wanted]
    assert len(expected) >= 3  # a failed review, and the reviews that passed
    assert seqs(runner, demo_journal, "--type", "step_failed", "--type", "review_given") == expected
    lines = invoke(runner, demo_journal, "events", DEMO_RUN, "--type", "step_failed").stdout
    assert lines.splitlines() and all(" step_failed " in line for line in lines.splitlines())


def test_step_keeps_entries_about_the_step(runner: CliRunner, demo_journal: Path) -> None:
    entries = read_entries(demo_journal)
    expected = [e.seq for e in entries if about_step(e, "csv-writer")]
    found = seqs(runner, demo_journal, "--step", "csv-writer")
    assert found == expected and len(found) > 10
    proposed = [e.seq for e in entries if isinstance(e.msg, ResultProposed)]
    assert set(found) & set(proposed)  # a result is about its step too


def test_agent_keeps_entries_from_to_or_about_the_agent(
    runner: CliRunner, demo_journal: Path
) -> None:
    found = seqs(runner, demo_journal, "--agent", "reviewer")
    by_seq = {e.seq: e for e in read_entries(demo_journal)}
    assert found
    for seq in found:
        entry = by_seq[seq]
        msg = entry.msg
        named = {entry.sender, entry.recipient, getattr(msg, "agent", None)}
        named |= {getattr(msg, "reviewer", None), getattr(msg, "verifier", None)}
        if isinstance(msg, ResultProposed):
            named.add(msg.result.agent)
        assert "reviewer" in named, entry
    sent = [e.seq for e in by_seq.values() if e.sender == "reviewer"]
    assert set(sent) <= set(found)
    assert not set(found) & set(
        seqs(runner, demo_journal, "--agent", "executor-b", "--type", "review_given")
    )


def test_filters_combine_with_each_other_and_with_since(
    runner: CliRunner, demo_journal: Path
) -> None:
    entries = read_entries(demo_journal)
    expected = [
        e.seq
        for e in entries
        if e.seq >= 40 and message_tag(e.msg) == "review_given" and about_step(e, "csv-writer")
    ]
    args = ("--type", "review_given", "--step", "csv-writer", "--since", "40")
    assert seqs(runner, demo_journal, *args) == expected and expected
    result = invoke(runner, demo_journal, "events", DEMO_RUN, *args, "--json")
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["seq"] for d in docs] == expected
    assert {(d["msg"]["type"], d["msg"]["step"]) for d in docs} == {("review_given", "csv-writer")}
    assert seqs(runner, demo_journal, "--step", "no-such-step") == []


def test_an_unknown_type_is_a_usage_error_naming_the_types(
    runner: CliRunner, demo_journal: Path
) -> None:
    result = invoke(runner, demo_journal, "events", DEMO_RUN, "--type", "step_fialed")
    assert result.exit_code == 2
    assert "'step_fialed' is not a message type" in result.output
    assert "step_failed" in result.output and "run_created" in result.output
