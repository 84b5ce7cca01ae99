"""The OpenAI backend against a real HTTP server on loopback, with scripted answers."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import msgspec
import pytest

from backend_helpers import RecordingReporter, order
from playbill.backends import OpenAIBackend, openai
from playbill.backends._backend import BackendError
from playbill.backends._command import BackendConfigError
from playbill.backends._openai import SYSTEM_PROMPT
from playbill.backends._prompt import render_prompt, result_schema
from playbill.runtime import PlanPayload, ReviewPayload, StepSpec

KEY = "sk-test-0123456789abcdef"
HANG = "hang"


@attrs.define
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = attrs.Factory(dict)


@attrs.define
class Server:
    url: str
    script: list[Reply | str]
    requests: list[dict[str, Any]]
    release: threading.Event


def completion(payload: Any, *, prompt_tokens: int = 900, completion_tokens: int = 60) -> Reply:
    content = payload if isinstance(payload, str) else json.dumps(payload)
    return Reply(
        body={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-test",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


class _Handler(BaseHTTPRequestHandler):
    server: _Scripted

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"null")
        self.server.requests.append(
            {"path": self.path, "headers": dict(self.headers.items()), "body": body}
        )
        reply = self.server.script.pop(0) if self.server.script else Reply(status=500)
        if reply == HANG:
            self.server.release.wait(10)
            return
        assert isinstance(reply, Reply)
        data = json.dumps(reply.body).encode() if not isinstance(reply.body, bytes) else reply.body
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Scripted(ThreadingHTTPServer):
    script: list[Reply | str]
    requests: list[dict[str, Any]]
    release: threading.Event

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up is no failure of the server


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = _Scripted(("127.0.0.1", 0), _Handler)
    httpd.script, httpd.requests, httpd.release = [], [], threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]
    try:
        yield Server(f"http://{host!s}:{port}/v1", httpd.script, httpd.requests, httpd.release)
    finally:
        httpd.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYBILL_TEST_OPENAI_KEY", KEY)


def backend(server: Server, **options: Any) -> OpenAIBackend:
    defaults: dict[str, Any] = {
        "model": "gpt-test",
        "base_url": server.url,
        "api_key_env": "PLAYBILL_TEST_OPENAI_KEY",
        "backoff_s": 0.01,
        "timeout_s": 5.0,
    }
    return openai(**{**defaults, **options})


REVIEW = {
    "kind": "review",
    "verdict": "request_changes",
    "findings": [{"severity": "major", "message": "no test", "path": None, "line": None}],
}


async def test_success_sends_the_prompt_and_schema_and_reports_usage(server: Server) -> None:
    server.script.append(completion(REVIEW))
    reporter = RecordingReporter()
    b = backend(server, price_in_per_mtok=2.0, price_out_per_mtok=8.0, temperature=0.2)
    the_order = order("reviewer", "review")
    result = await b.run(the_order, reporter)

    assert isinstance(result.payload, ReviewPayload)
    assert result.payload.verdict == "request_changes"
    assert result.payload.findings[0].message == "no test"
    assert (result.agent, result.step, result.attempt) == ("agent-1", "greet", 2)
    assert (result.usage.tokens_in, result.usage.tokens_out) == (900, 60)
    assert result.usage.cost_usd == pytest.approx((900 * 2.0 + 60 * 8.0) / 1e6)
    assert reporter.usages == [result.usage]
    assert reporter.heartbeats

    [request] = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"
    body = request["body"]
    assert body["model"] == "gpt-test" and body["temperature"] == 0.2
    assert body["messages"] == [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": render_prompt(the_order)},
    ]
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == result_schema("reviewer", "review")
    assert KEY.encode() not in msgspec.json.encode(result)


async def test_planner_answers_a_plan(server: Server) -> None:
    plan = {"kind": "plan", "steps": [msgspec.to_builtins(StepSpec(id="a", goal="do a"))]}
    plan["steps"][0].update({"role": "executor", "depends_on": [], "scope": [], "validators": []})
    plan["steps"][0].update({"strategy": None, "max_attempts": None})
    plan.update({"criteria": [], "rationale": "one step"})
    server.script.append(completion(plan))
    result = await backend(server).run(order("planner", "work"), RecordingReporter())
    assert isinstance(result.payload, PlanPayload)
    assert result.payload.steps == (StepSpec(id="a", goal="do a"),)


async def test_429_honours_retry_after_then_succeeds(server: Server) -> None:
    server.script += [
        Reply(429, {"error": "slow down"}, {"Retry-After": "0.02"}),
        completion(REVIEW),
    ]
    reporter = RecordingReporter()
    result = await backend(server, backoff_s=30.0).run(order("reviewer", "review"), reporter)
    assert isinstance(result.payload, ReviewPayload)
    assert len(server.requests) == 2
    assert any("HTTP 429, retry 1 in 0.02 s" in beat for beat in reporter.heartbeats)


async def test_server_errors_until_retries_run_out(server: Server) -> None:
    server.script += [Reply(503, {"error": "overloaded"}) for _ in range(3)]
    with pytest.raises(BackendError) as caught:
        await backend(server, max_retries=2).run(order("reviewer", "review"), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("transient", "http_status")
    assert "HTTP 503" in failure.detail and "overloaded" in failure.detail
    assert len(server.requests) == 3
    assert caught.value.usage.tokens == 0 and caught.value.usage.wall_s > 0


async def test_401_is_a_policy_failure_and_the_echoed_key_is_redacted(server: Server) -> None:
    server.script.append(Reply(401, {"error": {"message": f"Incorrect API key provided: {KEY}"}}))
    with pytest.raises(BackendError) as caught:
        await backend(server).run(order("reviewer", "review"), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("policy", "http_status")
    assert "Incorrect API key provided" in failure.detail
    assert KEY not in failure.detail and KEY not in str(caught.value)
    assert "[redacted:PLAYBILL_TEST_OPENAI_KEY]" in failure.detail
    assert len(server.requests) == 1  # not retried


async def test_other_4xx_is_an_agent_failure(server: Server) -> None:
    server.script.append(Reply(400, {"error": {"message": "Invalid schema for response_format"}}))
    with pytest.raises(BackendError) as caught:
        await backend(server).run(order("reviewer", "review"), RecordingReporter())
    assert (caught.value.failure.failure_class, caught.value.failure.kind) == (
        "agent",
        "http_status",
    )
    assert "Invalid schema" in caught.value.failure.detail


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (completion("this is not json"), "not JSON"),
        (completion({**REVIEW, "verdict": "maybe"}), "$content.verdict"),
        (completion({"kind": "plan"}), "expected a 'review' payload"),
        (Reply(body={"choices": []}), "no choices"),
        (Reply(body=b"<html>gateway</html>"), "not a chat completion"),
        (
            Reply(
                body={
                    "choices": [{"message": {"content": None, "refusal": "I can't help with that"}}]
                }
            ),
            "refused",
        ),
        (
            Reply(
                body={"choices": [{"message": {"content": '{"kind"'}, "finish_reason": "length"}]}
            ),
            "token limit",
        ),
    ],
)
async def test_malformed_answers(server: Server, reply: Reply, expected: str) -> None:
    server.script.append(reply)
    with pytest.raises(BackendError) as caught:
        await backend(server).run(order("reviewer", "review"), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "malformed_output")
    assert expected in failure.detail


async def test_malformed_answer_still_reports_its_tokens(server: Server) -> None:
    server.script.append(completion("nope", prompt_tokens=10, completion_tokens=3))
    with pytest.raises(BackendError) as caught:
        await backend(server).run(order("reviewer", "review"), RecordingReporter())
    assert (caught.value.usage.tokens_in, caught.value.usage.tokens_out) == (10, 3)


async def test_a_hanging_response_times_out_without_retry(server: Server) -> None:
    server.script.append(HANG)
    with pytest.raises(BackendError) as caught:
        await backend(server, timeout_s=0.3).run(order("reviewer", "review"), RecordingReporter())
    assert (caught.value.failure.failure_class, caught.value.failure.kind) == (
        "transient",
        "timeout",
    )
    assert len(server.requests) == 1


async def test_connection_errors_are_retried_then_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = openai(
        model="m",
        base_url=f"http://127.0.0.1:{port}/v1",
        api_key_env="PLAYBILL_TEST_OPENAI_KEY",
        max_retries=2,
        backoff_s=0.01,
    )
    reporter = RecordingReporter()
    with pytest.raises(BackendError) as caught:
        await dead.run(order("reviewer", "review"), reporter)
    assert (caught.value.failure.failure_class, caught.value.failure.kind) == (
        "transient",
        "connection",
    )
    assert "after 3 attempts" in caught.value.failure.detail
    assert len(reporter.heartbeats) == 3  # one before each request


async def test_missing_key_is_backend_unavailable(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PLAYBILL_TEST_OPENAI_KEY")
    with pytest.raises(BackendError) as caught:
        await backend(server).run(order("reviewer", "review"), RecordingReporter())
    assert (caught.value.failure.failure_class, caught.value.failure.kind) == (
        "policy",
        "backend_unavailable",
    )
    assert server.requests == []


async def test_roles_and_capabilities(server: Server) -> None:
    b = backend(server)
    assert b.name == "openai"
    assert b.capabilities.roles == frozenset({"planner", "reviewer"})
    assert not b.capabilities.edits_files and b.capabilities.structured_output
    with pytest.raises(BackendError) as caught:
        await b.run(order(), RecordingReporter())
    assert caught.value.failure.kind == "unsupported_role"
    assert KEY not in repr(b)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("model", ""),
        ("base_url", "ftp://x"),
        ("timeout_s", 0),
        ("max_retries", -1),
        ("roles", ("boss",)),
        ("max_tokens", 0),
    ],
)
def test_bad_options_are_refused(option: str, value: Any) -> None:
    options: dict[str, Any] = {"model": "m", option: value}
    with pytest.raises(BackendConfigError) as caught:
        openai(**options)
    assert caught.value.option == option


async def test_heartbeats_when_a_request_is_sent_and_when_its_answer_arrives(
    server: Server,
) -> None:
    server.script += [
        Reply(429, {"error": "slow down"}, {"Retry-After": "0.02"}),
        completion(REVIEW),
    ]
    reporter = RecordingReporter()
    await backend(server).run(order("reviewer", "review"), reporter)
    assert reporter.heartbeats == [
        "openai: asking the model",
        "openai: HTTP 429 received",
        "openai: HTTP 429, retry 1 in 0.02 s",
        "openai: HTTP 200 received",
    ]
