"""``playbill ui`` (the web view of runs) and ``playbill report`` (one run as an HTML file)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from playbill.ui import is_loopback, render_report, serve_ui

from ._app import Settings, make_console, pass_settings, run_async, say
from ._load import opened_journal, require_run


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8731,
    show_default=True,
    help="0: any free port.",
)
@click.option(
    "--allow-control",
    is_flag=True,
    help="Offer pause, resume, cancel, approve and reject buttons (read-only otherwise).",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a --host that is not loopback (anyone who reaches it sees the runs).",
)
@click.option(
    "--sweep",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Also show this sweep directory (its summary, plots and report) at /sweep.",
)
@pass_settings
def ui(
    settings: Settings,
    host: str,
    port: int,
    allow_control: bool,
    allow_remote: bool,
    sweep: Path | None,
) -> None:
    """Serve a live web view of the journal's runs, until Ctrl-C.

    Pages: the runs; a run (timeline, step graph, budget, merges, pending
    approvals); its history (filtered, paginated, following new entries);
    its state at any seq; each attempt (output, diff, checks, cost); and
    with --sweep, a sweep. Read-only unless --allow-control; listens on
    loopback only unless --allow-remote. Needs pip install 'playbill[ui]'.
    """
    if allow_remote and not is_loopback(host):
        say(
            make_console(stderr=True),
            f"playbill: warning: serving on {host}: anyone who can reach it sees every run "
            "of the journal" + (" and can steer them" if allow_control else ""),
        )

    def started(binds: list[str]) -> None:
        mode = "control enabled" if allow_control else "read-only"
        say(make_console(), f"playbill ui: {settings.where} at {binds[0]}/ ({mode}); Ctrl-C stops.")

    async def main() -> None:
        async with opened_journal(settings.journal, create=False, read_only=True):
            pass  # a missing or foreign file is reported here, before listening
        await serve_ui(
            settings.journal,
            where=settings.where,
            host=host,
            port=port,
            allow_control=allow_control,
            allow_remote=allow_remote,
            sweep=sweep,
            started=started,
        )

    with contextlib.suppress(KeyboardInterrupt):
        run_async(main)


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="The HTML file to write.",
)
@pass_settings
def report(settings: Settings, run_id: str, output: Path) -> None:
    """Write a run's page, history and attempts as one self-contained HTML file.

    Style, script and charts are inline: the file opens offline.
    """

    async def main() -> str:
        async with opened_journal(settings.journal, create=False, read_only=True) as journal:
            await require_run(journal, run_id, settings.journal)
            return await render_report(journal, run_id, settings.where)

    text = run_async(main)
    output.write_text(text, encoding="utf-8")
    say(
        make_console(), f"Wrote the report of run {run_id} to {output} ({len(text) // 1024:,} KiB)."
    )
