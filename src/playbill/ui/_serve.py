"""Serving the web view: Hypercorn's trio worker on a journal opened for the server's life."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path

import trio

from playbill._extras import require
from playbill.runtime import InputError, open_journal

from ._app import build_app
from ._view import View


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def loopback_names(host: str) -> tuple[str, ...]:
    """The ``Host`` names of a view on loopback address ``host``: that address and localhost's."""
    names = {"localhost", "127.0.0.1", "::1", "[::1]", host.strip("[]"), f"[{host.strip('[]')}]"}
    return tuple(sorted(names))


async def serve_ui(
    target: str | Path,
    *,
    where: str,
    host: str = "127.0.0.1",
    port: int = 8731,
    allow_control: bool = False,
    allow_remote: bool = False,
    sweep: Path | None = None,
    started: Callable[[list[str]], None] | None = None,
) -> None:
    """Serve the web view of the journal at ``target`` until cancelled.

    Args:
        target: The journal file or database URL.
        where: The journal as shown to people.
        host: The address to listen on.
        port: The port (0: any free one).
        allow_control: Offer pause, resume, cancel, approve and reject (the
            journal is then opened for writing: requests are queued in it).
        allow_remote: Allow an address other than loopback.
        sweep: A sweep directory to show at ``/sweep``.
        started: Told the URLs served, once listening.

    Raises:
        InputError: ``host`` is not loopback and ``allow_remote`` is false.
        MissingExtraError: starlette or hypercorn is not installed.
    """
    if not (is_loopback(host) or allow_remote):
        raise InputError(
            "--host",
            host,
            "not a loopback address; the web view shows agents' output and prompts, "
            "so serving it to the network needs --allow-remote",
        )
    require("starlette", "ui", "the web view")
    require("hypercorn", "ui", "the web view")
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 1.0
    journal = open_journal(str(target), create=False, read_only=not allow_control)
    async with journal:
        hosts = ("*",) if allow_remote else loopback_names(host)
        view = View(journal, where, allow_control=allow_control, sweep=sweep, hosts=hosts)
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(serve, build_app(view), config)
            if started is not None:
                started(list(binds))
            nursery.start_soon(view.warm)
