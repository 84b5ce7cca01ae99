"""An OpenAI-compatible chat completions API as a backend (planners, reviewers).

One ``POST {base_url}/chat/completions`` per piece of work: a system message
and the rendered prompt, with ``response_format`` a strict JSON schema of
the role's payload (``result_schema``), so the answer's
``choices[0].message.content`` is the payload as JSON. Tokens come from
``usage.prompt_tokens`` and ``usage.completion_tokens``; the cost from the
prices given (0 when unknown).

Rate limits (429), server errors (5xx) and connection errors are retried
with exponential backoff (``backoff_s * 2**n``, or the response's
``Retry-After`` seconds when it gives them, never more than
``max_backoff_s``), ``max_retries`` times. Timeouts are not retried here (a
slow model would only be slow again at full price): the step's retry policy
decides.

Heartbeats are what the backend can honestly tell: one when each request is
sent, one when its answer arrives. The answer is not streamed, so a request
shows no progress while the model writes: it may last up to ``timeout_s``
(and a wait before a retry up to ``max_backoff_s``) without a heartbeat,
which ``playbill validate`` checks against the stall window.

The API key is read from the environment variable ``api_key_env`` when a
request is made; it is never stored, and every captured text (an error body
that echoes it, say) is redacted before it reaches a failure.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, final

import attrs
import msgspec
import trio

from playbill._extras import MissingExtraError, require
from playbill._redact import Redactor
from playbill.runtime import ROLES, ResultEnvelope, Role, Usage

from ._agent_output import decode_payload, envelope, fail, unsupported_role
from ._backend import BackendConfigError, BackendError, Capabilities, Reporter, WorkOrder, role_set
from ._prompt import payload_tag, payload_type, render_prompt, result_schema

if TYPE_CHECKING:
    import httpx

    from ._backend_options import OpenAIOptions

SYSTEM_PROMPT = (
    "You are one agent of a team of coding agents coordinated by playbill, playing the"
    " role named in the prompt. You cannot run commands or change files: answer from the"
    " prompt alone, with one JSON object that matches the response schema."
)
"""The system message of every request."""


class _Message(msgspec.Struct, frozen=True):
    content: str | None = None
    refusal: str | None = None


class _Choice(msgspec.Struct, frozen=True):
    message: _Message
    finish_reason: str | None = None


class _ChatUsage(msgspec.Struct, frozen=True):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _Completion(msgspec.Struct, frozen=True):
    choices: tuple[_Choice, ...] = ()
    usage: _ChatUsage | None = None


def retry_after_s(response: httpx.Response) -> float | None:
    """The ``Retry-After`` delay of a response, when given in seconds."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: fall back to the backoff
    return max(seconds, 0.0)


@final
@attrs.frozen
class OpenAIBackend:
    """Asks an OpenAI-compatible chat completions API (see the module documentation).

    ``openai(...)`` makes one from its options given one by one.

    Attributes:
        options: Its options (``OpenAIOptions``): the model, the API's URL
            and key, the timeout, retries and prices.
        roles: The roles it plays.

    Raises:
        BackendConfigError: An option cannot work (no model, a base URL
            that is not HTTP, a timeout that is not positive...).
    """

    options: OpenAIOptions
    roles: frozenset[Role] = attrs.field(
        default=frozenset({"planner", "reviewer"}), converter=role_set, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        def bad(option: str, detail: str) -> BackendConfigError:
            return BackendConfigError("openai", option, detail)

        o = self.options
        if not o.model:
            raise bad("model", "must be given")
        if not o.base_url.startswith(("http://", "https://")):
            raise bad("base_url", "must be an http:// or https:// URL")
        if not o.api_key_env:
            raise bad("api_key_env", "must name an environment variable")
        if not self.roles or not self.roles <= set(ROLES):
            raise bad("roles", f"must be among {', '.join(ROLES)}")
        if not o.timeout_s > 0:
            raise bad("timeout_s", "must be positive")
        if o.max_retries < 0:
            raise bad("max_retries", "must not be negative")
        if o.backoff_s < 0 or o.max_backoff_s < 0:
            raise bad("backoff_s", "must not be negative")
        if o.max_tokens is not None and o.max_tokens <= 0:
            raise bad("max_tokens", "must be positive")

    @property
    def name(self) -> str:
        """``openai``."""
        return "openai"

    @property
    def capabilities(self) -> Capabilities:
        """Its roles; it edits no files, reports usage and returns typed results."""
        return Capabilities(
            roles=self.roles, edits_files=False, reports_usage=True, structured_output=True
        )

    def request_body(self, order: WorkOrder) -> dict[str, Any]:
        """The JSON body of the request for ``order``."""
        tag = payload_tag(payload_type(order.role, order.kind))
        body: dict[str, Any] = {
            "model": self.options.model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": render_prompt(order)},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": f"{tag}_payload",
                    "schema": result_schema(order.role, order.kind),
                    "strict": True,
                },
            },
        }
        if self.options.temperature is not None:
            body["temperature"] = self.options.temperature
        if self.options.max_tokens is not None:
            body["max_tokens"] = self.options.max_tokens
        return body

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        """Ask the model for ``order``'s payload.

        Reports the usage before returning; a failure carries it instead.

        Raises:
            BackendError: ``policy``/``unsupported_role``;
                ``policy``/``backend_unavailable`` (no API key);
                ``transient``/``http_status`` (429 or 5xx, retries spent),
                ``transient``/``connection`` (retries spent),
                ``transient``/``timeout``; ``policy``/``http_status`` (401,
                403), ``agent``/``http_status`` (other 4xx);
                ``agent``/``malformed_output`` (a refusal, a cut answer, or
                content that is not the payload).
        """
        if order.role not in self.roles:
            raise unsupported_role(self.name, order)
        o = self.options
        key = os.environ.get(o.api_key_env, "")
        if not key:
            raise fail(
                "policy",
                "backend_unavailable",
                f"openai: the environment variable {o.api_key_env} holds no API key",
            )
        try:  # loads with the first request, not with playbill
            httpx = require("httpx", "openai", "the OpenAI-compatible backend")
        except MissingExtraError as missing:
            raise fail("policy", "backend_unavailable", f"openai: {missing}") from missing
        redactor = _redactor(o.api_key_env, key)
        started = trio.current_time()
        async with httpx.AsyncClient(timeout=httpx.Timeout(o.timeout_s)) as client:
            response = await self._post(
                client,
                self.request_body(order),
                {"Authorization": f"Bearer {key}"},
                report,
                redactor,
                started,
            )
        try:
            completion = msgspec.json.decode(response.content, type=_Completion)
        except msgspec.DecodeError as exc:
            raise fail(
                "agent",
                "malformed_output",
                f"openai: the response is not a chat completion: {exc}",
                usage=Usage(wall_s=trio.current_time() - started),
                output=response.text,
                redactor=redactor,
            ) from None
        tokens = completion.usage if completion.usage is not None else _ChatUsage()
        usage = Usage(
            tokens_in=tokens.prompt_tokens,
            tokens_out=tokens.completion_tokens,
            cost_usd=(
                tokens.prompt_tokens * o.price_in_per_mtok
                + tokens.completion_tokens * o.price_out_per_mtok
            )
            / 1_000_000,
            wall_s=trio.current_time() - started,
        )
        try:
            payload = decode_payload(
                _content(completion, redactor),
                payload_type(order.role, order.kind),
                where="$content",
            )
        except BackendError as bad:
            detail = redactor.redact(bad.failure.detail)
            raise BackendError(msgspec.structs.replace(bad.failure, detail=detail), usage) from None
        await report.usage(usage)
        return envelope(order, payload, usage)

    async def _post(
        self,
        client: httpx.AsyncClient,
        body: dict[str, Any],
        headers: dict[str, str],
        report: Reporter,
        redactor: Redactor,
        started: float,
    ) -> httpx.Response:
        import httpx

        o = self.options
        url = o.base_url.rstrip("/") + "/chat/completions"
        retries = 0
        progress = "openai: asking the model"

        def spent() -> Usage:
            return Usage(wall_s=trio.current_time() - started)

        while True:
            await report.heartbeat(progress)
            try:
                with trio.fail_after(o.timeout_s):
                    response = await client.post(url, json=body, headers=headers)
            except (trio.TooSlowError, httpx.TimeoutException):
                raise fail(
                    "transient",
                    "timeout",
                    f"openai: no answer from {url} within {o.timeout_s:g} s",
                    usage=spent(),
                    redactor=redactor,
                ) from None
            except httpx.TransportError as exc:
                if retries < o.max_retries:
                    delay = self._backoff(retries, None)
                    progress = f"openai: {type(exc).__name__}, retry {retries + 1} in {delay:g} s"
                    retries += 1
                    await trio.sleep(delay)
                    continue
                raise fail(
                    "transient",
                    "connection",
                    f"openai: cannot reach {url} ({type(exc).__name__}: {exc})"
                    f" after {retries + 1} attempts",
                    usage=spent(),
                    redactor=redactor,
                ) from None
            status = response.status_code
            # the server answered: evidence of progress, as the request was
            await report.heartbeat(f"openai: HTTP {status} received")
            if status == 429 or status >= 500:
                if retries < o.max_retries:
                    delay = self._backoff(retries, retry_after_s(response))
                    progress = f"openai: HTTP {status}, retry {retries + 1} in {delay:g} s"
                    retries += 1
                    await trio.sleep(delay)
                    continue
                raise fail(
                    "transient",
                    "http_status",
                    f"openai: HTTP {status} from {url} after {retries + 1} attempts",
                    usage=spent(),
                    output=response.text,
                    redactor=redactor,
                )
            if status >= 400:
                raise fail(
                    "policy" if status in (401, 403) else "agent",
                    "http_status",
                    f"openai: HTTP {status} from {url}",
                    usage=spent(),
                    output=response.text,
                    redactor=redactor,
                )
            return response

    def _backoff(self, retries: int, retry_after: float | None) -> float:
        o = self.options
        delay = retry_after if retry_after is not None else o.backoff_s * 2**retries
        return min(delay, o.max_backoff_s)


def _content(completion: _Completion, redactor: Redactor) -> Any:
    """The decoded JSON content of the first choice."""

    def malformed(detail: str, output: str = "") -> BackendError:
        return fail("agent", "malformed_output", detail, output=output, redactor=redactor)

    if not completion.choices:
        raise malformed("openai: the response has no choices")
    choice = completion.choices[0]
    if choice.message.refusal:
        raise malformed(f"openai: the model refused: {choice.message.refusal}")
    if choice.finish_reason == "length":
        raise malformed(
            "openai: the answer was cut at the token limit", choice.message.content or ""
        )
    if choice.message.content is None:
        raise malformed("openai: the answer has no content")
    try:
        return msgspec.json.decode(choice.message.content)
    except msgspec.DecodeError as exc:
        raise malformed(f"openai: the answer is not JSON ({exc})", choice.message.content) from None


def _redactor(name: str, key: str) -> Redactor:
    """The environment's redactor, sure to know ``key`` whatever its length."""
    base = Redactor.from_environ(extra=(name,))
    pairs = {*base.secrets, (name, key)}
    return Redactor(tuple(sorted(pairs, key=lambda p: (-len(p[1]), p[0]))))
