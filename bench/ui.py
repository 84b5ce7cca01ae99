"""Benchmark: the web view's pages on a run of 100,000 entries.

Run with ``python -m bench.ui`` (``--quick`` for 20,000 entries), or as part
of ``python -m bench``. The run is ``long_run`` from ``bench/_workloads.py``
(heartbeats and usage reports are most of it; thousands of steps and
attempts), journaled with a snapshot every 1,000 entries. ``playbill ui``
runs as a subprocess on a free port, and each page is fetched over HTTP:
first each page once, right after the start (the server indexes the run in
one pass over its entries, in the background from its start: an early
request waits for it), then each page ``--repeats`` times warm (only new
entries are read; the state comes from the latest snapshot plus the tail).
Also timed: ``playbill report`` writing the whole run to one file. Not a
test; nothing is asserted.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

if __package__ in (None, ""):  # run as a script: import ``bench`` and ``playbill`` from here
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench._report import Figure, figure, finish, machine, topic_args
from bench._workloads import long_run
from bench.replay import RUN_ID, state_at, write_journal

TOPIC = "ui"
PLAYBILL = (sys.executable, "-m", "playbill")

PAGES = {
    "runs": "/",
    "run": f"/runs/{RUN_ID}",
    "history, last page": f"/runs/{RUN_ID}/history",
    "history, first page": f"/runs/{RUN_ID}/history?page=1",
    "history, type filter": f"/runs/{RUN_ID}/history?type=step_completed",
    "history, text search": f"/runs/{RUN_ID}/history?q=w3s7",
    "time travel, mid-run": f"/runs/{RUN_ID}/time?seq={{mid}}",
    "attempt": f"/runs/{RUN_ID}/steps/{{step}}/attempts/1",
}
"""Each page measured, by name (``{mid}``: the run's middle seq; ``{step}``: its first step)."""


def start_server(journal: Path) -> tuple[subprocess.Popen[str], str]:
    """``playbill ui`` on a free port; the process and its base URL."""
    process = subprocess.Popen(
        [*PLAYBILL, "--journal", str(journal), "ui", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    stdout = process.stdout
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()))
    reader.start()
    reader.join(60)
    found = re.search(r"at (http://127\.0\.0\.1:\d+)/", lines[0] if lines else "")
    if found is None:
        process.kill()
        raise SystemExit(f"playbill ui did not start: {lines} {process.communicate()[1]}")
    return process, found.group(1)


def fetch(client: httpx.Client, url: str) -> tuple[float, int]:
    """Seconds to fetch ``url`` in full, and its size in bytes."""
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed, len(response.content)


def run(quick: bool, repeats: int = 3, entries_n: int | None = None) -> list[Figure]:
    """Journal the run, serve it, and time each page cold and warm; return the figures."""
    n = entries_n or (20_000 if quick else 100_000)
    print(f"{TOPIC}: a run of {n:,} entries, snapshots every 1,000")
    entries = long_run(n, RUN_ID)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "journal.db"
        write_journal(journal, entries)
        step = next(iter(state_at(journal, snapshots=True).steps))  # type: ignore[attr-defined]
        process, base = start_server(journal)
        try:
            with httpx.Client(base_url=base, timeout=120) as client:
                urls = {name: path.format(mid=n // 2, step=step) for name, path in PAGES.items()}
                # First requests, each page once, as a person would open them right
                # after the start (the server indexes the run in the background).
                first = {name: fetch(client, url) for name, url in urls.items()}
                for name, url in urls.items():
                    cold, size = first[name]
                    warm = [fetch(client, url)[0] * 1e3 for _ in range(repeats)]
                    figures.append(
                        figure(
                            TOPIC,
                            f"{name} (warm; first {cold * 1e3:.0f} ms, {size / 1e3:.0f} kB)",
                            warm,
                            "ms",
                            note=f"first request {cold * 1e3:.0f} ms",
                        )
                    )
        finally:
            process.terminate()
            process.communicate(timeout=10)
        out = Path(tmp) / "run.html"
        start = time.perf_counter()
        subprocess.run(
            [*PLAYBILL, "--journal", str(journal), "report", RUN_ID, "-o", str(out)],
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - start
        figures.append(
            figure(
                TOPIC,
                f"playbill report, whole command ({out.stat().st_size / 1e6:.1f} MB)",
                [seconds],
                "s",
            )
        )
    return figures


def main() -> None:
    args = topic_args(__doc__.splitlines()[0], "20,000 entries instead of 100,000")
    print(machine())
    finish(run(args.quick, args.repeats), args.json)


if __name__ == "__main__":
    main()
