"""The web view's pages, requested in-process: content, escaping, filters, control, report."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import trio
import trio.testing
from click.testing import CliRunner

from pg_server import PgServer, drop_schema
from playbill._extras import MissingExtraError
from playbill.cli import cli
from playbill.cli._cmd_demo import write_demo
from playbill.runtime import (
    AgentSpec,
    BudgetExhausted,
    Draft,
    Entry,
    HumanApprovalGiven,
    HumanApprovalRequested,
    InputError,
    MemoryJournal,
    NoteWritten,
    PostgresJournal,
    RunCreated,
    RunPaused,
    RunResumed,
    RunState,
    ValidationPassed,
    VerificationRequested,
    WorkspaceMerged,
    encode_entry,
)
from playbill.ui import _svg, is_loopback, render_report, serve_ui
from playbill.ui._app import build_app
from playbill.ui._html import Html, escape, html, join
from playbill.ui._index import Indexes, RunIndex
from playbill.ui._page_attempt import prompt_block
from playbill.ui._page_time import changes
from playbill.ui._serve import loopback_names
from playbill.ui._sweep import sweep_file, sweep_page
from playbill.ui._view import View
from ui_helpers import HOSTILE, HOSTILE_RUN, write_hostile_run

DEMO = "demo-0001"


def test_values_are_escaped_and_markup_is_kept() -> None:
    shown = html("<p>{}</p><p>{}</p>", HOSTILE, Html("<i>ok</i>"))
    assert "<script>" not in shown.replace("<p>", "")
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in shown
    assert "onerror=&quot;window.__pwned" in shown
    assert "<i>ok</i>" in shown
    assert escape(None) == ""
    assert join(["<a>", Html("<b>")], "|") == "&lt;a&gt;|<b>"
    assert isinstance(html("{x}", x="<"), Html) and html("{x}", x="<") == "&lt;"


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert is_loopback("127.3.2.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert not is_loopback("example.com")


async def test_another_address_is_refused_without_allow_remote(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--allow-remote"):
        await serve_ui(tmp_path / "j.db", where="j.db", host="0.0.0.0", port=0)


def test_changes_between_two_states_leave_out_time_and_seq() -> None:
    before = RunState(run_id="r", status="running", last_seq=3, updated_us=5, labels={"a": "1"})
    after = RunState(run_id="r", status="paused", last_seq=4, updated_us=9, labels={"a": "2"})
    assert changes(before, after) == [("status", "running", "paused"), ("labels.a", "1", "2")]
    assert changes(before, before) == []


@pytest.fixture
async def journal() -> AsyncIterator[MemoryJournal]:
    with MemoryJournal() as journal:
        await write_demo(journal)
        await write_hostile_run(journal)
        yield journal


def client(view: View) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app(view))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def assert_escaped(text: str) -> None:
    assert "<script>window.__pwned" not in text
    assert 'onerror="window' not in text
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in text


async def test_every_page_shows_hostile_text_as_text(journal: MemoryJournal) -> None:
    async with client(View(journal, "memory")) as http:
        for url in (
            "/",
            f"/runs/{HOSTILE_RUN}",
            f"/runs/{HOSTILE_RUN}/history",
            f"/runs/{HOSTILE_RUN}/time?seq=5",
            f"/runs/{HOSTILE_RUN}/steps/s1/attempts/1",
        ):
            response = await http.get(url)
            assert response.status_code == 200, url
            assert_escaped(response.text)
        attempt = (await http.get(f"/runs/{HOSTILE_RUN}/steps/s1/attempts/1")).text
        output = attempt.split('<pre class="output">')[1].split("</pre>")[0]
        assert "tail &lt;script&gt;" in output  # the validator's output tail
        assert "the attempt failed: validation/tests_failed: detail &lt;script&gt;" in output
        assert "No diff recorded" in attempt
        prompt = attempt.split('<pre class="prompt">')[1].split("</pre>")[0]
        assert prompt.startswith("# playbill: work on step `s1` as the executor")
        assert "## Goal\n\ngoal &lt;script&gt;window.__pwned = 1&lt;/script&gt;" in prompt
    state = await journal.state_at(HOSTILE_RUN)
    agent = state.agents["a1"]
    simulated = msgspec.structs.replace(
        state,
        agents={"a1": msgspec.structs.replace(agent, spec=AgentSpec(id="a1", roles=("executor",)))},
    )
    step = simulated.steps["s1"]
    shown = prompt_block(simulated, step, step.attempts[0])
    assert "it is given no prompt" in shown and "<pre" not in shown


async def test_the_runs_page_lists_and_filters(journal: MemoryJournal) -> None:
    async with client(View(journal, "memory")) as http:
        page = (await http.get("/")).text
        assert f'href="/runs/{DEMO}"' in page and f'href="/runs/{HOSTILE_RUN}"' in page
        completed = (await http.get("/?status=completed")).text
        assert f"/runs/{DEMO}" in completed and f"/runs/{HOSTILE_RUN}" not in completed
        labelled = (await http.get("/runs-table?label=team=red")).text
        assert f"/runs/{HOSTILE_RUN}" in labelled and f"/runs/{DEMO}" not in labelled
        assert f"/runs/{HOSTILE_RUN}" not in (await http.get("/?label=team=blue")).text


async def test_the_run_page_draws_a_bar_per_attempt(journal: MemoryJournal) -> None:
    state = await journal.state_at(DEMO)
    attempts = sum(len(step.attempts) for step in state.steps.values())
    async with client(View(journal, "memory")) as http:
        page = (await http.get(f"/runs/{DEMO}")).text
    assert len(re.findall(r'<rect class="bar ', page)) == attempts
    for step_id, step in state.steps.items():
        assert f'class="node {step.status}"' in page
        for attempt in step.attempts:
            assert f'href="/runs/{DEMO}/steps/{step_id}/attempts/{attempt.number}"' in page
    assert 'data-kind="review"' in page and 'data-kind="merge"' in page
    assert "Pending approvals" in page and "form" not in page.split("<main>")[1].split("Budget")[0]


async def test_history_filters_paginates_and_links_causes(journal: MemoryJournal) -> None:
    last = await journal.last_seq(DEMO)
    async with client(View(journal, "memory")) as http:
        first = (await http.get(f"/runs/{DEMO}/history?page=1")).text
        assert first.count('<tr id="e-') == 100 and 'id="e-1"' in first
        assert 'data-stream=""' in first  # not the last page: it does not follow
        end = (await http.get(f"/runs/{DEMO}/history")).text
        assert f'id="e-{last}"' in end and f"/history/stream?from={last + 1}" in end
        typed = (await http.get(f"/runs/{DEMO}/history?type=review_given")).text
        rows = re.findall(r"<tr id=\"e-\d+\">.*?</tr>", typed)
        assert rows and all("<td>review_given</td>" in row for row in rows)
        entries = await journal.read(DEMO)
        caused = next(e for e in entries if e.cause is not None)
        around = (await http.get(f"/runs/{DEMO}/history?around={caused.cause}")).text
        assert f'id="e-{caused.cause}"' in around
        assert (
            f'href="/runs/{DEMO}/history?around={caused.cause}#e-{caused.cause}"'
            in (await http.get(f"/runs/{DEMO}/history?around={caused.seq}")).text
        )
        texts = (await http.get(f"/runs/{DEMO}/history?q=SLUGIFY&step=fix-slugify")).text
        found = re.findall(r'<tr id="e-(\d+)">', texts)
        expected = [
            e.seq
            for e in entries
            if b"slugify" in encode_entry(e).lower()
            and getattr(e.msg, "step", None) == "fix-slugify"
        ]
        assert [int(s) for s in found] == expected


async def test_time_travel_shows_the_state_at_a_seq_and_its_changes(journal: MemoryJournal) -> None:
    async with client(View(journal, "memory")) as http:
        page = (await http.get(f"/runs/{DEMO}/time?seq=1")).text
        assert "State after seq 1 of" in page and "<b>run_created</b>" in page
        assert "<td>status</td><td>&quot;new&quot;</td><td>&quot;created&quot;</td>" in page
        fragment = await http.get(f"/runs/{DEMO}/time?seq=2", headers={"X-Fragment": "1"})
        assert fragment.text.startswith('<div id="time-state">')
        assert "<b>plan_attached</b>" in fragment.text


async def test_unknown_runs_and_attempts_are_404(journal: MemoryJournal) -> None:
    async with client(View(journal, "memory")) as http:
        assert (await http.get("/runs/nope")).status_code == 404
        assert (await http.get(f"/runs/{DEMO}/steps/plan/attempts/9")).status_code == 404
        assert (await http.get("/sweep")).status_code == 404


async def stream(app: Any, path: str, query: str, rows: int) -> tuple[dict[str, object], str]:
    """GET an event stream from the app until ``rows`` entries came; its start and its body.

    httpx's ASGI transport waits for a whole body: the app is called directly.
    """
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "path": path,
        "raw_path": b"",
        "root_path": "",
        "scheme": "http",
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
    }
    sent: list[dict[str, object]] = []
    body = b""
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, object]:
        if requests:
            return requests.pop()
        await trio.sleep_forever()
        raise AssertionError

    with trio.fail_after(20), trio.CancelScope() as reading:

        async def send(message: dict[str, object]) -> None:
            nonlocal body
            sent.append(message)
            body += message.get("body", b"")  # type: ignore[operator]
            if body.count(b"event: entry") >= rows:
                reading.cancel()

        await app(scope, receive, send)
    return sent[0], body.decode()


async def test_the_history_stream_sends_new_entries_as_rows(journal: MemoryJournal) -> None:
    last = await journal.last_seq(HOSTILE_RUN)
    app = build_app(View(journal, "memory"))
    path = f"/runs/{HOSTILE_RUN}/history/stream"
    start, text = await stream(app, path, f"from={last - 1}&type=note_written", 1)
    assert start["status"] == 200
    headers = dict(start["headers"])  # type: ignore[call-overload]
    assert headers[b"content-type"].startswith(b"text/event-stream")
    assert text.count("event: entry") == 1  # the filter keeps the note only
    assert f'id="e-{last}"' in text
    assert_escaped(text)


async def test_the_history_follows_a_postgresql_journal(pg_server: PgServer) -> None:
    url = pg_server.new_schema()
    try:
        with PostgresJournal(url) as reader, PostgresJournal(url) as writer:
            await write_hostile_run(writer)
            app = build_app(View(reader, "postgresql"))
            async with client(View(reader, "postgresql")) as http:
                page = (await http.get(f"/runs/{HOSTILE_RUN}")).text
                assert 'class="bar bad"' in page
                assert_escaped(page)
            last = await reader.last_seq(HOSTILE_RUN)
            texts: list[str] = []

            async def follow() -> None:
                path = f"/runs/{HOSTILE_RUN}/history/stream"
                texts.append((await stream(app, path, f"from={last + 1}", 2))[1])

            async with trio.open_nursery() as nursery:
                nursery.start_soon(follow)
                await trio.testing.wait_all_tasks_blocked()
                async with writer.writer(HOSTILE_RUN) as w:
                    await w.append(
                        [
                            Draft(msg=NoteWritten(author="pg", text=f"n {i}"), sender="pg")
                            for i in (1, 2)
                        ]
                    )
            assert f'id="e-{last + 1}"' in texts[0] and f'id="e-{last + 2}"' in texts[0]
            assert "n 2" in texts[0]
    finally:
        drop_schema(url)


async def test_control_is_refused_read_only_and_cross_origin(journal: MemoryJournal) -> None:
    form = {"action": "pause", "token": "x"}
    async with client(View(journal, "memory")) as http:
        assert (await http.post(f"/runs/{HOSTILE_RUN}/control", data=form)).status_code == 403
    view = View(journal, "memory", allow_control=True)
    async with client(view) as http:
        url = f"/runs/{HOSTILE_RUN}/control"
        good = {"action": "pause", "token": view.token, "reason": "lunch"}
        assert (await http.post(url, data=good)).status_code == 403  # no Origin
        evil = {"Origin": "http://evil.example"}
        assert (await http.post(url, data=good, headers=evil)).status_code == 403
        same = {"Origin": "http://testserver"}
        bad_token = {**good, "token": "guess"}
        assert (await http.post(url, data=bad_token, headers=same)).status_code == 403
        assert await journal.requests_after(HOSTILE_RUN, 0) == []
        done = await http.post(url, data=good, headers=same)
        assert done.status_code == 303 and done.headers["location"].endswith("?queued=1")
        (request,) = await journal.requests_after(HOSTILE_RUN, 0)
        assert (request[1].action, request[1].reason) == ("pause", "lunch")
        reject = {"action": "reject", "step": "s1", "token": view.token}
        assert (await http.post(url, data=reject, headers=same)).status_code == 400  # no reason
        finished = await http.post(f"/runs/{DEMO}/control", data=good, headers=same)
        assert finished.status_code == 409  # the demo run completed
        page = (await http.get(f"/runs/{HOSTILE_RUN}")).text
        assert 'data-action="pause"' in page and 'data-action="cancel"' in page


async def test_the_report_is_one_file_with_no_external_link(journal: MemoryJournal) -> None:
    text = await render_report(journal, DEMO, "memory")
    assert text.startswith("<!doctype html>")
    targets = re.findall(r'\s(?:href|src)="([^"]*)"', text)
    assert targets and all(t.startswith("#") for t in targets), {
        t for t in targets if not t.startswith("#")
    }
    assert "http://" not in text and "https://" not in text
    state = await journal.state_at(DEMO)
    assert len(re.findall(r'<rect class="bar ', text)) == state.attempts
    for step_id, step in state.steps.items():
        for attempt in step.attempts:
            assert f'id="attempt-{step_id}-{attempt.number}"' in text
    assert f'id="e-{state.last_seq}"' in text
    hostile = await render_report(journal, HOSTILE_RUN, "memory")
    assert_escaped(hostile)


async def test_pages_stay_current_as_entries_arrive(journal: MemoryJournal) -> None:
    view = View(journal, "memory")
    async with client(view) as http:
        before = (await http.get(f"/runs/{HOSTILE_RUN}/history")).text
        async with journal.writer(HOSTILE_RUN) as writer:
            await writer.append(
                [Draft(msg=NoteWritten(author="me", text="fresh note"), sender="me")]
            )
        after = (await http.get(f"/runs/{HOSTILE_RUN}/history")).text
    assert "fresh note" not in before and "fresh note" in after


def test_the_sweep_page_shows_summary_plots_and_report(tmp_path: Path) -> None:
    (tmp_path / "summary.csv").write_text(
        "strategy,success,tokens_mean\npipeline,<b>0.9</b>,122225.0\nparallel,0.3333333,9.0\n"
    )
    (tmp_path / "report.md").write_text("# Sweep <script>x</script>\n")
    (tmp_path / "makespan.png").write_bytes(b"\x89PNG")
    page = sweep_page(tmp_path)
    assert '<td>pipeline</td><td>&lt;b&gt;0.9&lt;/b&gt;</td><td class="num">122,225</td>' in page
    assert '<td>parallel</td><td>0.333</td><td class="num">9</td>' in page
    assert '<img src="/sweep/files/makespan.png"' in page
    assert "# Sweep &lt;script&gt;" in page
    assert sweep_file(tmp_path, "makespan.png") == tmp_path / "makespan.png"
    assert sweep_file(tmp_path, "summary.csv") is None
    assert sweep_file(tmp_path, "../etc/passwd") is None
    assert sweep_file(tmp_path, "success_rate.png") is None  # not drawn


def test_the_index_marks_reviews_merges_budgets_waits_and_pauses() -> None:
    entries = [
        RunCreated(goal="g"),
        HumanApprovalRequested(request="r1", prompt="ship it?", step="s"),
        BudgetExhausted(resource="tokens", limit=10, used=12, action="refused", agent="a"),
        RunPaused(reason="lunch"),
        RunResumed(),
        HumanApprovalGiven(request="r1", approved=True, by="me"),
        WorkspaceMerged(step="s", attempt=1, status="conflicted", into="main"),
        VerificationRequested(step="s", attempt=1, verifier="v2"),
        ValidationPassed(step="s", attempt=1, validator="tests_pass"),
        ValidationPassed(step="s", attempt=2, validator="file_changed"),
    ]
    index = RunIndex("r")
    for seq, msg in enumerate(entries, 1):
        index.add(
            Entry(
                v=1,
                run_id="r",
                seq=seq,
                at_us=seq * 10,
                sender="x",
                recipient="*",
                cause=None,
                msg=msg,
            )
        )
    kinds = [(m.kind, m.lane, m.at_us, m.until_us, m.good) for m in index.marks]
    assert kinds == [
        ("human", "run", 20, 60, True),
        ("budget", "run", 30, None, False),
        ("pause", "run", 40, 50, None),
        ("merge", "integrator", 70, None, False),
        ("verification", "v2", 90, None, True),
        ("verification", "validators", 100, None, True),
    ]
    assert index.marks[0].label == "waits for a person: ship it? (approved by me)"
    assert index.matching(type_="run_paused") == [4]
    assert index.matching(step="s", type_="workspace_merged") == [7]
    assert index.matching(agent="v2") == [8]
    assert index.matching() is None


def test_the_commands_fail_in_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["--journal", str(tmp_path / "none.db"), "ui"])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    assert not (tmp_path / "none.db").exists()
    assert (
        runner.invoke(cli, ["--journal", str(tmp_path / "j.db"), "demo", "--scripted"]).exit_code
        == 0
    )
    remote = runner.invoke(cli, ["--journal", str(tmp_path / "j.db"), "ui", "--host", "0.0.0.0"])
    assert remote.exit_code == 2 and "--allow-remote" in remote.stderr
    unknown = runner.invoke(
        cli, ["--journal", str(tmp_path / "j.db"), "report", "nope", "-o", str(tmp_path / "r.html")]
    )
    assert unknown.exit_code == 2 and "unknown run 'nope'" in unknown.stderr
    written = runner.invoke(
        cli, ["--journal", str(tmp_path / "j.db"), "report", DEMO, "-o", str(tmp_path / "r.html")]
    )
    assert written.exit_code == 0, written.output
    assert "Wrote the report of run demo-0001" in written.stdout
    assert (tmp_path / "r.html").read_text().startswith("<!doctype html>")


async def test_a_pending_approval_can_be_approved_from_the_page() -> None:
    with MemoryJournal() as journal:
        async with journal.writer("waits") as writer:
            await writer.append(
                [
                    Draft(msg=RunCreated(goal="g"), sender="api"),
                    Draft(
                        msg=HumanApprovalRequested(request="r1", prompt="<b>ship</b>?", step="s1"),
                        sender="supervisor",
                    ),
                ]
            )
        view = View(journal, "memory", allow_control=True)
        async with client(view) as http:
            page = (await http.get("/runs/waits")).text
            assert "&lt;b&gt;ship&lt;/b&gt;?" in page
            assert 'data-action="approve"' in page and 'data-action="reject"' in page
            form = {"action": "approve", "step": "s1", "token": view.token}
            headers = {"Referer": "http://testserver/runs/waits"}
            done = await http.post("/runs/waits/control", data=form, headers=headers)
            assert done.status_code == 303
        ((_, request),) = await journal.requests_after("waits", 0)
        assert (request.action, request.step) == ("approve", "s1")
        assert request.by.endswith("(web)")


async def test_a_view_on_loopback_answers_only_loopback_host_names(journal: MemoryJournal) -> None:
    app = build_app(View(journal, "memory", hosts=loopback_names("127.0.0.1")))
    transport = httpx.ASGITransport(app=app)
    for base, status in (
        ("http://127.0.0.1:8731", 200),
        ("http://localhost:8731", 200),
        ("http://[::1]:8731", 200),
        ("http://rebound.example:8731", 400),  # a name that resolves to 127.0.0.1
    ):
        async with httpx.AsyncClient(transport=transport, base_url=base) as http:
            assert (await http.get("/")).status_code == status, base


async def test_the_runs_rows_are_read_again_only_for_runs_with_new_entries(
    journal: MemoryJournal,
) -> None:
    view = View(journal, "memory")
    first = {info.run_id: await view.row(info) for info in await view.runs()}
    again = {info.run_id: await view.row(info) for info in await view.runs()}
    assert all(again[run] is first[run] for run in first)
    async with journal.writer(HOSTILE_RUN) as writer:
        await writer.append([Draft(msg=NoteWritten(author="me", text="x"), sender="me")])
    later = {info.run_id: await view.row(info) for info in await view.runs()}
    assert later[DEMO] is first[DEMO]
    assert later[HOSTILE_RUN].last_seq == first[HOSTILE_RUN].last_seq + 1


async def test_a_missing_extra_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hypercorn", None)  # as if not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'playbill\[ui\]'"):
        await serve_ui(tmp_path / "j.db", where="j.db", port=0)
    assert not (tmp_path / "j.db").exists()


async def test_concurrent_requests_index_a_run_once(journal: MemoryJournal) -> None:
    indexes = Indexes()
    found: list[RunIndex] = []

    async def look() -> None:
        found.append(await indexes.of(journal, DEMO))

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(look)
    assert found[0] is found[1] is found[2]
    assert found[0].last_seq == len(found[0].types) == await journal.last_seq(DEMO)


async def test_warming_up_indexes_every_run(journal: MemoryJournal) -> None:
    view = View(journal, "memory")
    await view.warm()
    indexed = view._indexes._runs  # what the first visits will find
    assert set(indexed) == {DEMO, HOSTILE_RUN}
    for run_id, (index, _) in indexed.items():
        assert index.last_seq == await journal.last_seq(run_id)


async def test_a_long_timeline_draws_its_latest_marks(
    journal: MemoryJournal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_svg, "MAX_MARKS", 3)
    view = View(journal, "memory")
    state, index = await view.state(DEMO), await view.index(DEMO)
    drawn = _svg.timeline(state, index, view.links)
    assert drawn.count('class="mark-link"') == 3
    assert f"3 of its {len(index.marks)} marks" in drawn
    last = index.marks[-1]
    assert f'href="/runs/{DEMO}/history?around={last.seq}#e-{last.seq}"' in drawn
    ended = [a for _, a in _svg.bars(state) if a.ended_us and a.ended_us < index.marks[-3].at_us]
    assert drawn.count('<rect class="bar ') == len(_svg.bars(state)) - len(ended)
