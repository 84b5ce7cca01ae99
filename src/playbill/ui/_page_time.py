"""Time travel: a run's state at any seq, and what its entry changed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import msgspec

from playbill.runtime import Entry, RunState, initial_state, message_tag

from ._common import budget_rows, clip, status, table
from ._html import Html, html
from ._links import Links
from ._page_history import fields_text

IGNORED = frozenset({"updated_us", "last_seq"})
"""State fields every entry changes: left out of the changes."""

MAX_CHANGES = 300
"""Changed fields listed at most."""


def flatten(value: object, path: str = "") -> Iterator[tuple[str, object]]:
    """``(path, leaf)`` for every leaf of a state.

    Struct fields (defaults included) and dict items go by name, sequence
    items by index.
    """
    if isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            yield from flatten(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, Mapping):  # dicts, and a state's steps (a StepMap)
        if not value and path:
            yield path, {}
        for key, item in value.items():
            yield from flatten(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        if not value and path:
            yield path, []
        for i, item in enumerate(value):
            yield from flatten(item, f"{path}[{i}]")
    else:
        yield path, value


def changes(before: RunState, after: RunState) -> list[tuple[str, object, object]]:
    """Every field that differs between two states, as ``(path, before, after)``.

    ``updated_us`` and ``last_seq``, which every entry moves, are left out.
    """
    old = dict(flatten(before))
    new = dict(flatten(after))
    missing = object()
    found = []
    for path in dict.fromkeys([*old, *new]):
        if path.split(".")[0].split("[")[0] in IGNORED:
            continue
        a, b = old.get(path, missing), new.get(path, missing)
        if a != b:
            found.append((path, None if a is missing else a, None if b is missing else b))
    return found


def _as_dict(value: object) -> object:
    """A mapping that is not a dict (a state's ``StepMap``), for the encoder."""
    if isinstance(value, Mapping):
        return dict(value.items())
    raise NotImplementedError(f"cannot show {type(value).__name__}")


_encoder = msgspec.json.Encoder(enc_hook=_as_dict)


def _shown(value: object) -> str:
    return "—" if value is None else clip(_encoder.encode(value).decode(), 200)


def state_at_body(
    state: RunState, before: RunState | None, entry: Entry, last: int, links: Links
) -> Html:
    """The live part of the time travel page: the entry, its changes, the state."""
    diff = changes(before or initial_state(), state)
    rows = [(path, _shown(a), _shown(b)) for path, a, b in diff[:MAX_CHANGES]]
    more = len(diff) - MAX_CHANGES
    steps = [
        (step_id, status(step.status), step.owner or "", str(len(step.attempts)))
        for step_id, step in list(state.steps.items())[:200]
    ]
    agents = [(agent_id, status(a.status), a.step or "") for agent_id, a in state.agents.items()]
    return html(
        '<div id="time-state">'
        "<h2>Entry {}</h2>"
        '<p><b>{}</b> {} → {} <a href="{}">in the history</a></p><pre>{}</pre>'
        '<h2>What it changed</h2><div class="changed">{}</div>{}'
        "<h2>State after seq {} of {}</h2>"
        "<p>Run {} · {} of {} steps done</p>"
        '<div style="display:flex;gap:30px;flex-wrap:wrap"><div>{}</div><div>{}</div>'
        "<div>{}</div></div></div>",
        str(entry.seq),
        message_tag(entry.msg),
        entry.sender,
        entry.recipient,
        links.entry(entry.run_id, entry.seq),
        fields_text(entry),
        table(("field", "before", "after"), rows)
        if rows
        else html('<p class="muted">Nothing but the time and seq.</p>'),
        html('<p class="note">{} more changes.</p>', str(more)) if more > 0 else Html(""),
        str(state.last_seq),
        str(last),
        status(state.status),
        str(state.steps_done()),
        str(len(state.steps)),
        table(("step", "status", "owner", "attempts"), steps),
        table(("agent", "status", "on"), agents),
        table(("resource", "used", "limit"), budget_rows(state), numeric=(1, 2)),
    )


def slider(base: str, seq: int, last: int) -> Html:
    """The seq slider and field (the field works without script)."""
    return html(
        '<form class="filters" method="get" action="{}">'
        '<input id="seq-slider" class="slider" type="range" min="1" max="{}" value="{}" '
        'data-base="{}" aria-label="seq">'
        '<br><label>seq <input id="seq-field" name="seq" type="number" min="1" max="{}" '
        'value="{}"></label> <button>Show</button></form>',
        base,
        str(last),
        str(seq),
        base,
        str(last),
        str(seq),
    )
