"""The live progress display: a run's state, redrawn as its entries commit.

``LiveView`` folds entries as they arrive (the same ``evolve`` as everywhere
else) and renders the run: a header with status and spend, the steps, the
agents, and the latest events. ``follow_live`` drives it from a journal until
the run ends; a run loop can also feed it directly.
"""

from __future__ import annotations

import collections
from contextlib import aclosing
from typing import final

import attrs
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.text import Text

from playbill.runtime import Entry, Journal, RunState, evolve, initial_state

from ._escape import SafeTable
from ._format import event_line, format_cost, format_seconds, format_tokens
from ._render import agents_table, steps_table

EVENTS_SHOWN = 8
"""How many of the latest events the display lists."""


@final
@attrs.define(eq=False)
class LiveView:
    """A run's state and its latest events, ready to render.

    Feed it every entry of the run in seq order with ``add``.
    """

    _state: RunState = attrs.field(factory=initial_state)
    _events: collections.deque[str] = attrs.field(
        factory=lambda: collections.deque(maxlen=EVENTS_SHOWN)
    )

    @property
    def state(self) -> RunState:
        """The state folded so far."""
        return self._state

    def add(self, entry: Entry) -> None:
        """Fold one more entry."""
        self._state = evolve(self._state, entry)
        self._events.append(event_line(entry))

    def renderable(self) -> RenderableType:
        """The display, as rich renders it."""
        state = self._state
        parts: list[RenderableType] = [_header(state)]
        if state.steps:
            parts.append(steps_table(state))
        if state.agents:
            parts.append(agents_table(state))
        events = SafeTable.grid()
        events.add_column(overflow="ellipsis", no_wrap=True)
        for line in self._events:
            events.add_row(Text(line, style="dim"))
        parts.append(events)
        return Group(*parts)


def _header(state: RunState) -> Text:
    elapsed = (state.updated_us - state.created_us) / 1_000_000 if state.created_us else 0.0
    text = Text()
    text.append(f"{state.run_id or '-'}  ", style="bold")
    text.append(state.status, style="bold cyan" if not state.is_terminal else "bold")
    text.append(
        f"  steps {state.steps_done()}/{len(state.steps)}"
        f"  tokens {format_tokens(state.usage.tokens)}"
        f"  cost {format_cost(state.usage.cost_usd)}"
        f"  elapsed {format_seconds(elapsed)}"
        f"  seq {state.last_seq}"
    )
    if state.reason:
        text.append(f"  ({state.reason})", style="yellow")
    return text


async def follow_live(
    journal: Journal, run_id: str, console: Console, *, refresh_per_second: float = 8.0
) -> RunState:
    """Show a run live until it ends (completed, failed or cancelled); return its state.

    Entries written by this process show at once; entries written by another
    process show within the journal's poll interval.
    """
    view = LiveView()
    with Live(
        view.renderable(),
        console=console,
        refresh_per_second=refresh_per_second,
        transient=False,
    ) as live:
        async with aclosing(journal.follow(run_id, 1)) as entries:
            async for entry in entries:
                view.add(entry)
                live.update(view.renderable())
                if view.state.is_terminal:
                    break
    return view.state
