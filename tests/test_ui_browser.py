"""The web view in a real browser: ``playbill ui`` as a subprocess, driven by chromium.

Debian's chromium (``/usr/bin/chromium``) under Playwright. The journal holds
a real run (``playbill demo``: real git worktrees and pytest), a run whose
agent output is hostile markup, and a run this test appends to while a page
follows it. Each page is screenshotted into ``test-artifacts/ui/``. Where
chromium or Playwright is missing the tests skip, and fail under CI.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

import playbill as playbill_api
from needs import need, required
from playbill import HumanApproval, Plan, StepSpec, WorkOrder
from playbill.runtime import (
    ControlRequest,
    Draft,
    Entry,
    HumanApprovalGiven,
    NoteWritten,
    RunState,
    SqliteJournal,
)
from ui_helpers import HOSTILE, HOSTILE_RUN, write_hostile_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "ui"
DEMO = "demo-0001"
LIVE = "live-1"
TIMEOUT_MS = 15_000
PLAYBILL = (sys.executable, "-m", "playbill")


def playbill(journal: Path, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run ``python -m playbill --journal JOURNAL ARGS`` to its end."""
    return subprocess.run(
        [*PLAYBILL, "--journal", str(journal), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        **kwargs,
    )


def append_notes(journal: Path, run_id: str, texts: list[str]) -> None:
    """Journal a note per text as the next entries of the run (from this process)."""

    async def main() -> None:
        with SqliteJournal(journal) as opened:
            async with opened.writer(run_id) as writer:
                await writer.append(
                    [
                        Draft(msg=NoteWritten(author="tester", text=t), sender="tester")
                        for t in texts
                    ]
                )

    trio.run(main)


def read(journal: Path, run_id: str) -> tuple[RunState, list[tuple[int, ControlRequest]]]:
    """The run's state and its queued control requests."""

    async def main() -> tuple[RunState, list[tuple[int, ControlRequest]]]:
        with SqliteJournal(journal, create=False) as opened:
            return await opened.state_at(run_id), await opened.requests_after(run_id, 0)

    return trio.run(main)


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A journal with the real demo run, a hostile run and a run to follow."""
    root = tmp_path_factory.mktemp("ui")
    path = root / "journal.db"
    done = playbill(path, "demo", "--dir", str(root), "--worktrees", str(root / "worktrees"))
    assert done.returncode == 0, done.stdout + done.stderr

    async def hostile() -> None:
        with SqliteJournal(path) as opened:
            await write_hostile_run(opened)

    trio.run(hostile)
    append_notes(path, LIVE, [f"note {i}" for i in range(1, 4)])  # no run_created: still shown
    return path


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real sweep's directory (two strategies, three seeds, plots drawn)."""
    out = tmp_path_factory.mktemp("sweep") / "sweep"
    done = subprocess.run(
        [
            *PLAYBILL,
            *("sweep", "--strategies", "pipeline,parallel", "--seeds", "0:3"),
            *("--workers", "1", "--out", str(out)),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return out


def read_entries(journal: Path, run_id: str) -> list[Entry]:
    """Every entry of the run."""

    async def main() -> list[Entry]:
        with SqliteJournal(journal, create=False) as opened:
            return await opened.read(run_id)

    return trio.run(main)


@contextmanager
def serve(journal: Path, *args: str) -> Iterator[str]:
    """``playbill ui --allow-control ARGS`` on a free port; its base URL."""
    process = subprocess.Popen(
        [*PLAYBILL, *("--journal", str(journal), "ui", "--port", "0", "--allow-control"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(30)
    found = re.search(r"at (http://127\.0\.0\.1:\d+)/", lines[0] if lines else "")
    if found is None:
        process.kill()
        pytest.fail(f"playbill ui did not start: {lines} {process.communicate()[1]}")
    try:
        yield found.group(1)
    finally:
        process.terminate()
        process.communicate(timeout=10)


@pytest.fixture(scope="module")
def server(journal: Path, sweep: Path) -> Iterator[str]:
    """``playbill ui --allow-control --sweep DIR`` on the module's journal."""
    with serve(journal, "--sweep", str(sweep)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium under Playwright (fails under CI when either is missing)."""
    sync_api = need("playwright.sync_api")
    if not CHROMIUM.is_file():
        why = f"{CHROMIUM} is missing (apt-get install chromium)"
        if required():
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    opened = browser.new_page(viewport={"width": 1300, "height": 900})
    opened.set_default_timeout(TIMEOUT_MS)
    yield opened
    opened.close()


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot as ``test-artifacts/ui/NAME.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_the_runs_page_lists_every_run(page: Any, server: str) -> None:
    page.goto(server + "/")
    row = page.locator("#runs tr", has_text=DEMO)
    assert row.locator(".status").inner_text() == "completed"
    assert page.locator("#runs tbody tr").count() == 3
    page.select_option("select[name=status]", "completed")
    page.click("form.filters button")
    page.wait_for_url(re.compile(r"status=completed"))
    assert page.locator("#runs tbody tr").count() == 1
    shot(page, "runs")


def test_the_timeline_has_a_bar_per_attempt_and_a_bar_opens_the_attempt(
    page: Any, server: str, journal: Path
) -> None:
    state, _ = read(journal, DEMO)
    page.goto(f"{server}/runs/{DEMO}")
    assert page.locator("svg.timeline rect.bar").count() == state.attempts == 7
    assert page.locator("svg.dag g.node.completed").count() == len(state.steps)
    assert page.locator("svg.timeline a[data-kind=merge]").count() == 4
    shot(page, "run")
    page.click('rect.bar[data-step="fix-wrap"][data-attempt="1"]')
    page.wait_for_url(re.compile(r"/steps/fix-wrap/attempts/1$"))
    diff = page.locator("pre.diff").inner_text()
    assert "diff --git a/textkit/wrap.py b/textkit/wrap.py" in diff
    assert page.locator("pre.diff .add").count() >= 1
    assert "3 passed, 1 failed" in page.locator("main").inner_text()
    shot(page, "attempt")


def test_the_slider_changes_the_state_shown(page: Any, server: str) -> None:
    page.goto(f"{server}/runs/{DEMO}/time?seq=10")
    assert "State after seq 10 of" in page.locator("#time-state").inner_text()
    page.eval_on_selector(
        "#seq-slider",
        "el => { el.value = '120'; el.dispatchEvent(new Event('input')); }",
    )
    page.wait_for_function(
        "document.getElementById('time-state').innerText.includes('State after seq 120 of')"
    )
    assert page.url.endswith("/time?seq=120")
    assert page.locator("#seq-field").input_value() == "120"
    shot(page, "time-travel")


def test_a_cause_link_leads_to_the_entry_that_caused_it(page: Any, server: str) -> None:
    page.goto(f"{server}/runs/{DEMO}/history?type=step_failed")
    row = page.locator("#history-body tr").first
    cause = row.locator("td:nth-child(6) a")
    seq = cause.inner_text()
    cause.click()
    page.wait_for_url(re.compile(rf"around={seq}#e-{seq}$"))
    target = page.locator(f"#e-{seq}")
    assert target.is_visible()
    assert target.locator("td:nth-child(4)").inner_text() in ("result_proposed", "review_given")


def test_a_followed_history_grows_and_shows_markup_as_text(
    page: Any, server: str, journal: Path
) -> None:
    page.goto(f"{server}/runs/{LIVE}/history")
    assert page.locator("#history-body tr").count() == 3
    page.wait_for_timeout(300)  # the stream is open
    append_notes(journal, LIVE, ["note 4", f"note {HOSTILE}"])
    page.wait_for_selector("#e-5", timeout=TIMEOUT_MS)
    assert page.locator("#history-body tr").count() == 5
    assert page.evaluate("window.__pwned") is None
    assert "<script>window.__pwned = 1</script>" in page.locator("#e-5").inner_text()
    shot(page, "history")


def test_a_live_run_page_updates_itself(page: Any, server: str, journal: Path) -> None:
    page.goto(f"{server}/runs/{LIVE}")
    assert page.locator("#run-live").get_attribute("data-live") == "1"
    assert "a fresh note" not in page.locator("main").inner_text()
    append_notes(journal, LIVE, ["a fresh note"])
    page.wait_for_function("document.getElementById('run-live').innerText.includes('a fresh note')")
    done = page.goto(f"{server}/runs/{DEMO}")
    assert done.ok and page.locator("#run-live").get_attribute("data-live") == "0"


def test_hostile_agent_output_is_text_on_every_page(page: Any, server: str) -> None:
    for path in ("", "/history", "/time?seq=6", "/steps/s1/attempts/1"):
        page.goto(f"{server}/runs/{HOSTILE_RUN}{path}")
        page.wait_for_timeout(100)
        assert page.evaluate("window.__pwned") is None, path
        assert page.locator("main script, main img").count() == 0, path
        assert "<script>window.__pwned = 1</script>" in page.locator("main").inner_text(), path


def test_the_pause_button_queues_a_request(page: Any, server: str, journal: Path) -> None:
    page.goto(f"{server}/runs/{LIVE}")
    page.fill("form.control:has(button[data-action=pause]) input[name=reason]", "lunch")
    page.click("button[data-action=pause]")
    page.wait_for_url(re.compile(r"\?queued=\d+$"))
    assert "Queued request" in page.locator(".flash").inner_text()
    _, requests = read(journal, LIVE)
    assert [(r.action, r.reason) for _, r in requests] == [("pause", "lunch")]


def test_the_report_opens_offline(page: Any, journal: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.html"
    done = playbill(journal, "report", DEMO, "-o", str(out))
    assert done.returncode == 0, done.stderr
    requested: list[str] = []
    page.route(
        "**/*",
        lambda route: (
            requested.append(route.request.url),
            route.continue_() if route.request.url.startswith("file://") else route.abort(),
        ),
    )
    page.goto(out.as_uri())
    assert page.locator("svg.timeline rect.bar").count() == 7
    assert page.locator("section[id^=attempt-] pre.diff").count() == 6  # all but the plan
    assert all(url.startswith("file://") for url in requested), requested
    page.click('rect.bar[data-step="fix-slugify"][data-attempt="2"]')
    assert page.url.endswith("#attempt-fix-slugify-2")
    shot(page, "report")


def test_the_sweep_page_shows_its_table_and_plots(page: Any, server: str) -> None:
    page.goto(f"{server}/")
    page.click("header a[href='/sweep']")
    page.wait_for_url(re.compile(r"/sweep$"))
    assert page.locator("table tbody tr").count() >= 2  # a row per strategy and profile
    images = page.locator("figure img")
    assert images.count() == 3
    for i in range(3):
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    assert "playbill sweep" in page.locator("pre").inner_text()  # the report
    shot(page, "sweep")


@playbill_api.agent(role="executor")
def builder(order: WorkOrder) -> str:
    """An executor whose work is always done."""
    return f"built {order.step.id}"


def test_the_approve_button_lets_a_waiting_run_in_another_process_finish(
    page: Any, tmp_path: Path
) -> None:
    journal = tmp_path / "approve.db"
    plan = Plan(steps=(StepSpec(id="build", goal="Build it", validators=(HumanApproval(),)),))
    with (
        playbill_api.start_sync(plan, [builder], journal=journal, run_id="gated") as run,
        serve(journal) as url,
    ):
        run.wait_for(lambda s: bool(s.pending_approvals()), timeout=120)
        page.goto(f"{url}/runs/gated")
        assert "Pending approvals" in page.locator("main").inner_text()
        page.fill("form.control:has(button[data-action=approve]) input[name=reason]", "lgtm")
        shot(page, "approval")
        page.click("button[data-action=approve]")
        page.wait_for_url(re.compile(r"\?queued=\d+$"))
        deadline = time.monotonic() + 120  # the run takes the request at its next poll
        while run.state.status != "completed" and time.monotonic() < deadline:
            time.sleep(0.05)
        state = run.state
        assert state.status == "completed", state.status
        assert not state.pending_approvals()
        page.reload()
        assert page.locator(".status").first.inner_text() == "completed"
    entries = read_entries(journal, "gated")
    given = [e.msg for e in entries if isinstance(e.msg, HumanApprovalGiven)]
    assert [(g.approved, g.reason, g.by.endswith("(web)")) for g in given] == [(True, "lgtm", True)]
