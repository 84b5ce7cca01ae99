"""The web view's Starlette application: its routes, each a stable URL.

=========================================  ==========================================
``/``                                      the runs, filtered by ``status`` and ``label``
``/runs/RUN``                              a run: timeline, steps, budget, merges
``/runs/RUN/history``                      its entries (``type``, ``step``, ``agent``,
                                           ``q``, ``page``, ``around``)
``/runs/RUN/history/stream``               new entries as server-sent events
``/runs/RUN/time?seq=N``                   its state at a seq and what changed
``/runs/RUN/steps/STEP/attempts/N``        an attempt
``POST /runs/RUN/control``                 pause, resume, cancel, approve, reject
``/sweep``                                 the sweep given with ``--sweep``
=========================================  ==========================================

A request with the header ``X-Fragment: 1`` gets only a page's live part
(what the pages' script polls).
"""

from __future__ import annotations

import contextlib
import getpass
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from playbill._extras import require
from playbill.runtime import ControlAction, ControlRequest, PlaybillError, UnknownRunError

from ._common import page
from ._html import Html, html
from ._page_attempt import attempt_body, worktree_diff
from ._page_history import Filters, filter_form, history_body, row
from ._page_run import run_body
from ._page_runs import filters as runs_filters
from ._page_runs import runs_table
from ._page_time import slider, state_at_body
from ._sweep import sweep_file, sweep_page
from ._view import View

CONTROL_ACTIONS: dict[str, ControlAction] = {
    "pause": "pause",
    "resume": "resume",
    "cancel": "cancel",
    "approve": "approve",
    "reject": "reject",
}
"""What the control form may ask."""


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "someone"
    return f"{user}@{socket.gethostname()} (web)"


def build_app(view: View) -> Any:
    """The Starlette application serving ``view``."""
    require("starlette", "ui", "the web view")  # one line naming the extra if missing
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
    from starlette.routing import Route

    Handler = Callable[[Request], Awaitable[Response]]

    def fragment(request: Request) -> bool:
        return request.headers.get("x-fragment") == "1"

    def nav(run_id: str) -> Html:
        base = view.links.run(run_id)
        return html(
            '<a href="{}">Run {}</a><a href="{}/history">History</a>'
            '<a href="{}/time">Time travel</a>',
            base,
            run_id,
            base,
            base,
        )

    def respond(
        title: str, body: Html, *, run_id: str | None = None, status_code: int = 200
    ) -> Response:
        return HTMLResponse(
            page(
                title,
                body,
                control=view.allow_control,
                nav=nav(run_id) if run_id else None,
                sweep=view.sweep is not None,
            ),
            status_code=status_code,
        )

    def guarded(handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except UnknownRunError as error:
                return respond(
                    "not found", html("<h1>Not found</h1><p>{}</p>", str(error)), status_code=404
                )
            except PlaybillError as error:
                return respond(
                    "error", html("<h1>Error</h1><p>{}</p>", str(error)), status_code=400
                )

        return wrapped

    def number(request: Request, name: str) -> int | None:
        value = request.query_params.get(name, "")
        return int(value) if value.isdigit() else None

    async def runs_page(request: Request) -> Response:
        status_filter = request.query_params.get("status", "")
        label = request.query_params.get("label", "")
        body = await runs_table(view, status_filter, label)
        if fragment(request):
            return HTMLResponse(body)
        return respond(
            "runs",
            html(
                '<h1>Runs</h1><p class="note">{}</p>{}{}',
                view.where,
                runs_filters(status_filter, label),
                body,
            ),
        )

    async def runs_fragment(request: Request) -> Response:
        status_filter = request.query_params.get("status", "")
        return HTMLResponse(
            await runs_table(view, status_filter, request.query_params.get("label", ""))
        )

    async def run_page(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        state = await view.state(run_id)
        index = await view.index(run_id)
        token = view.token if view.allow_control else None
        body = run_body(state, index, view.links, token=token, src=view.links.run(run_id))
        if fragment(request):
            return HTMLResponse(body)
        flash = request.query_params.get("queued")
        note = (
            html(
                '<p class="flash">Queued request {}. A live run takes it within a second.</p>',
                flash,
            )
            if flash
            else Html("")
        )
        return respond(
            f"run {run_id}", html("<h1>Run {}</h1>{}{}", run_id, note, body), run_id=run_id
        )

    def history_filters(request: Request) -> Filters:
        q = request.query_params
        return Filters(
            type_=q.get("type", ""),
            step=q.get("step", ""),
            agent=q.get("agent", ""),
            text=q.get("q", ""),
        )

    async def history_page(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        await view.last_seq(run_id)
        index = await view.index(run_id)
        filters = history_filters(request)
        body, _ = await history_body(
            view, index, filters, number(request, "page"), number(request, "around")
        )
        base = view.links.run(run_id) + "/history"
        return respond(
            f"history of {run_id}",
            html(
                '<h1>History of {}</h1>{}<p class="note">The last page follows new entries '
                '(<span id="followed">…</span> rows shown).</p>{}',
                run_id,
                filter_form(base, filters, index),
                body,
            ),
            run_id=run_id,
        )

    async def history_stream(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        await view.last_seq(run_id)
        filters = history_filters(request)
        start = max(number(request, "from") or 1, 1)

        async def events() -> AsyncIterator[str]:
            yield ": following\n\n"
            async with contextlib.aclosing(view.journal.follow(run_id, from_seq=start)) as entries:
                async for entry in entries:
                    if filters.admits(entry):
                        yield (
                            "event: entry\ndata: "
                            + row(entry, view.links).replace("\n", " ")
                            + "\n\n"
                        )

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    async def time_page(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        last = await view.last_seq(run_id)
        seq = min(max(number(request, "seq") or last, 1), last)
        state = await view.state(run_id, seq)
        before = await view.state(run_id, seq - 1) if seq > 1 else None
        (entry,) = await view.journal.read(run_id, seq, seq + 1)
        body = state_at_body(state, before, entry, last, view.links)
        if fragment(request):
            return HTMLResponse(body)
        base = view.links.run(run_id) + "/time"
        return respond(
            f"{run_id} at seq {seq}",
            html("<h1>Time travel: {}</h1>{}{}", run_id, slider(base, seq, last), body),
            run_id=run_id,
        )

    async def attempt_page(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        step_id = request.path_params["step"]
        number_ = int(request.path_params["attempt"])
        state = await view.state(run_id)
        step = state.steps.get(step_id)
        attempt = step.attempt(number_) if step is not None else None
        if step is None or attempt is None:
            return respond(
                "not found",
                html(
                    "<h1>Not found</h1><p>Run {} has no attempt {}#{}.</p>",
                    run_id,
                    step_id,
                    str(number_),
                ),
                run_id=run_id,
                status_code=404,
            )
        index = await view.index(run_id)
        seqs = index.attempt_seqs.get((step_id, number_), [])[-500:]
        entries = await view.entries(run_id, seqs)
        diff = await worktree_diff(state, step_id, number_, index.commits.get((step_id, number_)))
        body = attempt_body(state, step, attempt, entries, diff, view.links)
        return respond(
            f"{step_id}#{number_} of {run_id}",
            html("<h1>Attempt {}#{} of run {}</h1>{}", step_id, str(number_), run_id, body),
            run_id=run_id,
        )

    async def control(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        if not view.allow_control:
            return respond(
                "forbidden",
                html("<h1>Read-only</h1><p>Start the view with --allow-control.</p>"),
                status_code=403,
            )
        if not same_origin(request):
            return respond(
                "forbidden",
                html("<h1>Refused</h1><p>The form was not sent from this page.</p>"),
                status_code=403,
            )
        form = {
            k: v[-1] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()
        }
        action = form.get("action", "")
        step = form.get("step", "") or None
        reason = form.get("reason", "")
        if form.get("token", "") != view.token or action not in CONTROL_ACTIONS:
            return respond("forbidden", html("<h1>Refused</h1><p>Bad form.</p>"), status_code=403)
        if action in ("approve", "reject") and step is None:
            return respond("bad request", html("<h1>Which step?</h1>"), status_code=400)
        if action == "reject" and not reason:
            return respond(
                "bad request", html("<h1>A rejection needs a reason.</h1>"), status_code=400
            )
        state = await view.state(run_id)
        if state.is_terminal:
            return respond(
                "refused",
                html(
                    "<h1>Refused</h1><p>Run {} already {}; nothing to {}.</p>",
                    run_id,
                    state.status,
                    action,
                ),
                run_id=run_id,
                status_code=409,
            )
        request_id = await view.journal.post_request(
            run_id,
            ControlRequest(action=CONTROL_ACTIONS[action], step=step, reason=reason, by=_who()),
        )
        return RedirectResponse(f"{view.links.run(run_id)}?queued={request_id}", status_code=303)

    def same_origin(request: Request) -> bool:
        host = request.headers.get("host", "")
        origin = request.headers.get("origin") or request.headers.get("referer", "")
        return bool(host) and (origin == f"http://{host}" or origin.startswith(f"http://{host}/"))

    async def sweep(request: Request) -> Response:
        if view.sweep is None:
            return respond(
                "no sweep",
                html("<h1>No sweep</h1><p>Start the view with --sweep DIR.</p>"),
                status_code=404,
            )
        return respond("sweep", sweep_page(view.sweep))

    async def sweep_files(request: Request) -> Response:
        if view.sweep is None:
            return Response(status_code=404)
        found = sweep_file(view.sweep, request.path_params["name"])
        if found is None:
            return Response(status_code=404)
        return Response(found.read_bytes(), media_type="image/png")

    routes = [
        Route("/", guarded(runs_page)),
        Route("/runs-table", guarded(runs_fragment)),
        Route("/runs/{run_id}", guarded(run_page)),
        Route("/runs/{run_id}/history", guarded(history_page)),
        Route("/runs/{run_id}/history/stream", guarded(history_stream)),
        Route("/runs/{run_id}/time", guarded(time_page)),
        Route("/runs/{run_id}/steps/{step}/attempts/{attempt:int}", guarded(attempt_page)),
        Route("/runs/{run_id}/control", guarded(control), methods=["POST"]),
        Route("/sweep", guarded(sweep)),
        Route("/sweep/files/{name}", sweep_files),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(view.hosts))],
    )
