"""Small, pure formatters shared by the CLI's renderers: times, amounts, one-line events.

An event line is ``seq  time  sender → recipient  type  summary``. The summary
is built from the message's own fields, in declaration order, leaving out
those at their defaults, so a new message type gets a readable line without
any change here; only values that would not fit on a line (plans, result
envelopes, score tables) are condensed.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import msgspec

from playbill.runtime import (
    Budget,
    ControlRequest,
    Entry,
    Failure,
    ImplementationPayload,
    MessageBase,
    Plan,
    PlanPayload,
    PolicySettings,
    ProcessInfo,
    ResultEnvelope,
    ResultProposed,
    ReviewPayload,
    RolePayload,
    Score,
    StepSpec,
    Usage,
    VerificationPayload,
    message_tag,
)

from ._escape import printable

_HEX = frozenset("0123456789abcdef")

TEXT_LIMIT = 72
"""Free text longer than this is cut, with an ellipsis, in one-line summaries."""


def format_time(at_us: int, *, precise: bool = False) -> str:
    """A UTC time: ``2025-03-14 09:30:00Z``, or with milliseconds when ``precise``.

    A time no calendar date can show (before year 1, after 9999: only a
    hostile or damaged entry holds one) is shown as its number, ``@<n>us``.
    """
    try:
        moment = datetime.fromtimestamp(at_us / 1_000_000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return f"@{at_us}us"
    if precise:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def format_tokens(tokens: int) -> str:
    """Tokens with thousands separators: ``172,202``."""
    return f"{tokens:,}"


def round_money(usd: float) -> float:
    """The one rounding of an amount of dollars: to the micro-dollar (``runs --json``).

    Sums of float costs carry binary noise (``0.1 + 0.115`` is
    ``0.21500000000000002``); every figure shown is made from this value, so
    that ``runs``, ``status`` and the reports never disagree by a cent.
    """
    return round(usd, 6)


def format_cost(usd: float) -> str:
    """Dollars, to the cent below $100 and to the dollar above: ``$1.29``.

    The amount is rounded once to the micro-dollar (``round_money``), then
    half up to the cent (or the dollar), whatever path it took here.
    """
    exact = Decimal(repr(round_money(usd) + 0.0))  # + 0.0: no "-0.00"
    cents = exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if cents < 100:
        return f"${cents:,}"
    return f"${exact.quantize(Decimal('1'), rounding=ROUND_HALF_UP):,}"


def format_seconds(seconds: float) -> str:
    """A duration: ``41.2s``, ``10m41s``, ``2h05m``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_usage(usage: Usage) -> str:
    """Usage in one short phrase: ``48,292 tok $0.41 2m46s``."""
    parts = []
    if usage.tokens:
        parts.append(f"{format_tokens(usage.tokens)} tok")
    if usage.cost_usd:
        parts.append(format_cost(usage.cost_usd))
    if usage.wall_s:
        parts.append(format_seconds(usage.wall_s))
    return " ".join(parts) or "none"


def format_failure(failure: Failure) -> str:
    """A failure in one phrase: ``validation/changes_requested: detail``."""
    head = f"{failure.failure_class}/{failure.kind}"
    return f"{head}: {clip(failure.detail)}" if failure.detail else head


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    """The text on one line, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def event_line(entry: Entry) -> str:
    """One line for an entry: ``seq  time  sender → recipient  type  summary``.

    Escaped with ``printable``: no control sequence from the journal reaches
    the terminal.
    """
    summary = summarize(entry.msg)
    head = (
        f"{entry.seq:>5}  {format_time(entry.at_us, precise=True)}  "
        f"{entry.sender} → {entry.recipient}  {message_tag(entry.msg)}"
    )
    return printable(f"{head}  {summary}" if summary else head)


def summarize(msg: MessageBase) -> str:
    """The message's fields as ``name=value`` pairs, defaults left out."""
    if isinstance(msg, ResultProposed):
        return _envelope(msg.result)
    return _pairs(msg)


def _pairs(struct: msgspec.Struct) -> str:
    pairs = []
    for name, default in _fields(type(struct)):
        value = getattr(struct, name)
        if default is not _REQUIRED and value == default:
            continue
        pairs.append(f"{name}={_value(name, value)}")
    return " ".join(pairs)


_REQUIRED = object()


@functools.cache
def _fields(cls: type[msgspec.Struct]) -> tuple[tuple[str, object], ...]:
    """Each field's name and default (``_REQUIRED`` if none), once per type."""
    fields = []
    for field in msgspec.structs.fields(cls):
        default: object = _REQUIRED
        if field.default is not msgspec.NODEFAULT:
            default = field.default
        elif field.default_factory is not msgspec.NODEFAULT:
            default = field.default_factory()
        fields.append((field.name, default))
    return tuple(fields)


def _value(name: str, value: object) -> str:
    match value:
        case None:
            return "-"
        case bool():
            return "yes" if value else "no"
        case int() if name.endswith("_us"):
            return format_time(value, precise=True)
        case int():
            return str(value)
        case float():
            return f"{value:g}"
        case str() if len(value) == 40 and all(ch in _HEX for ch in value):
            return value[:12]  # a commit: the short form is what people read
        case str():
            return _text(value)
        case Usage():
            return _text(format_usage(value))
        case Failure():
            return _text(format_failure(value))
        case Budget():
            return _budget(value)
        case PolicySettings():
            return _settings(value)
        case Plan():
            return (
                f"[{_count(value.steps, 'step')}, {_count(value.agents, 'agent')}, "
                f"{_count(value.criteria, 'criterion', 'criteria')}]"
            )
        case StepSpec():
            return value.id
        case ControlRequest():
            words = [value.action, *([value.step] if value.step else [])]
            if value.agent:
                words.append(f"to {value.agent}")
            if value.new_steps:
                words.append("into " + ",".join(s.id for s in value.new_steps))
            return _text(" ".join([*words, value.by]))
        case ProcessInfo():
            started = f" started@{value.start_ticks}" if value.start_ticks is not None else ""
            where = f" on {value.host}" if value.host else ""
            return _text(f"pid {value.pid}{started}{where} {value.label}".strip())
        case dict():
            return ",".join(f"{k}:{_value(k, v)}" for k, v in sorted(value.items()))
        case tuple():
            return _sequence(value)
        case msgspec.Struct():
            return _tag(value)
        case _:
            return _text(str(value))


def _sequence(items: tuple[object, ...]) -> str:
    if not items:
        return "[]"
    if all(isinstance(item, Score) for item in items):
        return ",".join(f"{s.agent}#{s.attempt}:{s.score:g}" for s in items if isinstance(s, Score))
    if all(isinstance(item, str) for item in items):
        return _text(",".join(str(item) for item in items))
    if all(isinstance(item, StepSpec) for item in items):
        return ",".join(item.id for item in items if isinstance(item, StepSpec))
    return str(len(items))


def _envelope(result: ResultEnvelope) -> str:
    parts = [
        f"step={result.step}#{result.attempt}",
        f"agent={result.agent}",
        f"role={result.role}",
        f"exit={result.exit_status}",
    ]
    if result.exit_code is not None:
        parts.append(f"code={result.exit_code}")
    parts.append(f"payload={_payload(result.payload)}")
    if result.usage != Usage():
        parts.append(f"usage={_text(format_usage(result.usage))}")
    for name, items in (
        ("evidence", result.evidence),
        ("gaps", result.gaps),
        ("blockers", result.blockers),
    ):
        if items:
            parts.append(f"{name}={len(items)}")
    return " ".join(parts)


def _payload(payload: RolePayload) -> str:
    match payload:
        case PlanPayload():
            steps = _count(payload.steps, "step")
            return f"plan[{steps}, {_count(payload.criteria, 'criterion', 'criteria')}]"
        case ImplementationPayload():
            files = _count(payload.changed_files, "file")
            summary = f" {_text(payload.summary)}" if payload.summary else ""
            return f"implementation[{files}]{summary}"
        case ReviewPayload():
            return f"review[{payload.verdict}, {_count(payload.findings, 'finding')}]"
        case VerificationPayload():
            passed = sum(1 for check in payload.checks if check.passed)
            return f"verification[{passed}/{len(payload.checks)} checks passed]"
        case _:
            return _tag(payload)


def _budget(budget: Budget) -> str:
    limits = [
        f"{field.name}≤{_value(field.name, getattr(budget, field.name))}"
        for field in msgspec.structs.fields(budget)
        if getattr(budget, field.name) is not None
    ]
    return ",".join(limits) if limits else "unlimited"


def _settings(settings: PolicySettings) -> str:
    """The policy's values, each as ``name:value`` (``max_attempts:3,...``)."""
    return ",".join(
        f"{field.name}:{_value(field.name, getattr(settings, field.name))}"
        for field in msgspec.structs.fields(settings)
    )


def _tag(struct: msgspec.Struct) -> str:
    tag = struct.__struct_config__.tag
    return tag if isinstance(tag, str) else type(struct).__name__


def _count(items: tuple[object, ...], noun: str, plural: str | None = None) -> str:
    return f"{len(items)} {noun if len(items) == 1 else plural or noun + 's'}"


def _text(text: str) -> str:
    clipped = clip(text)
    if clipped and not any(ch.isspace() or ch == '"' for ch in clipped):
        return clipped
    return '"' + clipped.replace('"', "'") + '"'
