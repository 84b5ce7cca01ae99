"""Reading the two logs aider writes on request: its LLM history and its analytics log.

The LLM history (``--llm-history-file``; aider's ``io.log_llm_history``):
for every model call, a header ``TO LLM <ISO time>`` and the messages sent,
every line prefixed with its role (``SYSTEM ``, ``USER ``, ``ASSISTANT ``,
``utils.format_messages``), then a header ``LLM RESPONSE <ISO time>`` and the
reply, every line prefixed ``ASSISTANT `` (``utils.format_content``); a call
that failed has an empty reply. A reply cannot forge a header, since each of
its lines is prefixed. (Message parts aider sends as lists, images and
prompt-cache markers, are logged unprefixed: a file in the prompt could then
forge a header in the part of the log that precedes the real reply. The last
reply is the real one whatever precedes it, and the last JSON object of the
replies is taken from it when it has one.)

The analytics log (``--analytics-log``; ``analytics.Analytics.event``, which
writes it even with ``--no-analytics``, and then only it): one JSON object a
line, ``{"event": NAME, "properties": {...}, "user_id": ..., "time": ...}``.
``message_send_starting`` when a message goes to the model;
``message_send`` when its call's usage is reported (``prompt_tokens``,
aider's count of the prompt with cache writes, ``completion_tokens``,
``cost`` of the call in US dollars, ``total_cost``); ``message_send_exception``
(``exception``) when the call raised something unexpected. A call that
failed with an API error (a bad key, a refused request) logs neither.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any, Final, final

import attrs

from playbill.runtime import Usage

LLM_HISTORY: Final = "aider.llm.history"
"""The LLM history's name in the scratch directory."""

ANALYTICS_LOG: Final = "aider.analytics.jsonl"
"""The analytics log's name in the scratch directory."""

READ_LIMIT: Final = 8 * 1024 * 1024
"""Bytes of a log read (the last ones of the LLM history; the analytics log must fit)."""

MAX_CALL_TOKENS: Final = 10_000_000
"""Tokens one model call may report, in or out: no model's context comes near."""

MAX_CALL_COST_USD: Final = 10_000.0
"""US dollars one model call may report."""

_HEADER = re.compile(r"(TO LLM|LLM RESPONSE) \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_REPLY_LINE = "ASSISTANT "
_REASONING = re.compile(
    r"<(thinking-content-7bbeb8e1441453ad999a0bbba8a46d4b|think)>.*?</\1>\s*", re.DOTALL
)
"""Reasoning aider keeps in the reply it logs: its own tag, and ``think`` (reasoning models)."""


@final
@attrs.frozen
class AiderLogs:
    """What aider's logs say about one run.

    Attributes:
        started: Aider got as far as logging (its analytics log has an event).
        calls: Model calls whose usage it reported.
        usage: Their tokens and cost, summed.
        failed_call: Why the last model call failed, when it did.
        bad_usage: What is wrong with a usage figure, when one cannot be trusted.
        text: The model's replies, in order, reasoning left out.
    """

    started: bool = False
    calls: int = 0
    usage: Usage = attrs.field(factory=Usage)
    failed_call: str | None = None
    bad_usage: str | None = None
    text: str = ""


def read_logs(scratch: Path) -> AiderLogs:
    """Read the logs aider wrote into ``scratch`` (missing ones are empty)."""
    events, too_long = _read(scratch / ANALYTICS_LOG)
    history, _ = _read(scratch / LLM_HISTORY)
    if too_long:
        return AiderLogs(started=True, bad_usage=f"its analytics log is over {READ_LIMIT} bytes")
    calls = _calls(events)
    return attrs.evolve(calls, text="\n\n".join(replies(history)))


def _read(path: Path) -> tuple[str, bool]:
    """The last ``READ_LIMIT`` bytes of a file, decoded; whether there were more.

    Aider wrote it, so anything may stand there: only a regular file is read
    (opened without blocking, so a FIFO cannot hold the run), anything else
    reads as empty.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return "", False
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "", False
        size = f.seek(0, 2)
        f.seek(max(0, size - READ_LIMIT))
        data = f.read(READ_LIMIT)
    return data.decode("utf-8", errors="replace"), size > READ_LIMIT


def replies(history: str) -> list[str]:
    """The model's replies in an LLM history, in order (reasoning left out, empty ones too).

    A history cut at its start (only its end was read) loses what precedes
    its first whole header.
    """
    found: list[str] = []
    reply: list[str] | None = None
    for line in history.split("\n"):
        header = _HEADER.fullmatch(line)
        if header is not None:
            if reply is not None:
                found.append("\n".join(reply))
            reply = [] if header[1] == "LLM RESPONSE" else None
        elif reply is not None and line.startswith(_REPLY_LINE):
            reply.append(line[len(_REPLY_LINE) :])
    if reply is not None:
        found.append("\n".join(reply))
    texts = (_REASONING.sub("", text).strip() for text in found)
    return [text for text in texts if text]


def _calls(log: str) -> AiderLogs:
    started = False
    calls = 0
    tokens_in = tokens_out = 0
    cost = 0.0
    pending: str | None = None
    for event in _events(log):
        started = True
        name, props = event.get("event"), event.get("properties")
        props = props if isinstance(props, dict) else {}
        if name == "message_send_starting":
            pending = "no usage was reported for it"
        elif name == "message_send_exception":
            pending = str(props.get("exception") or "an exception")
        elif name == "message_send":
            try:
                tokens_in += _count(props, "prompt_tokens")
                tokens_out += _count(props, "completion_tokens")
                cost += _amount(props, "cost")
            except ValueError as bad:
                return AiderLogs(started=True, bad_usage=str(bad))
            calls += 1
            pending = None
    usage = Usage(tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=cost)
    return AiderLogs(started=started, calls=calls, usage=usage, failed_call=pending)


def _events(log: str) -> list[dict[str, Any]]:
    """The log's events; a line that is no JSON object (cut short, nested too deep) is none."""
    found = []
    for line in log.splitlines():
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def _count(props: dict[str, Any], key: str) -> int:
    value = props.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} of a model call is {value!r}, not a count of tokens")
    if not 0 <= value <= MAX_CALL_TOKENS:
        raise ValueError(f"{key} of a model call is {value}, not within 0..{MAX_CALL_TOKENS}")
    return value


def _amount(props: dict[str, Any], key: str) -> float:
    value = props.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} of a model call is {value!r}, not an amount")
    if not (math.isfinite(value) and 0 <= value <= MAX_CALL_COST_USD):
        raise ValueError(f"{key} of a model call is {value}, not within 0..{MAX_CALL_COST_USD:g}")
    return float(value)
