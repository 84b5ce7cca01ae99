"""The scripted Responses API server's own checks, which the real-Codex tests rely on."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from model_servers.core import ScriptedServer
from model_servers.responses import ResponsesApi, Say, Turn, Usage, strict_schema_problem
from playbill.backends._prompt import result_schema
from playbill.runtime import ROLES


def body(schema: dict[str, Any], strict: bool = True) -> dict[str, Any]:
    return {"text": {"format": {"type": "json_schema", "strict": strict, "schema": schema}}}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", ["work", "review", "verify"])
def test_playbill_payload_schemas_are_strict(role: str, kind: str) -> None:
    assert strict_schema_problem(body(result_schema(role, kind))) is None  # type: ignore[arg-type]


def test_a_schema_strict_mode_refuses_is_found() -> None:
    loose = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    assert "additionalProperties" in (strict_schema_problem(body(loose)) or "")
    nested = result_schema("reviewer", "review")
    nested["$defs"]["Finding"]["required"].remove("line")
    assert "every property must be required" in (strict_schema_problem(body(nested)) or "")
    assert strict_schema_problem(body(result_schema("reviewer", "review"), strict=False))
    assert strict_schema_problem({"text": {"verbosity": "low"}}) is None  # no schema asked


def post(url: str, payload: dict[str, Any]) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_turns_stream_in_order_then_the_script_runs_out() -> None:
    api = ResponsesApi([Turn([Say("hello")], Usage(10, 4, 2))])
    with ScriptedServer(api) as server:
        status, streamed = post(f"{server.url}/v1/responses", {"stream": True})
        assert status == 200
        events = [
            json.loads(line[len("data: ") :])
            for line in streamed.decode().splitlines()
            if line.startswith("data: ")
        ]
        assert [e["type"] for e in events] == [
            "response.created",
            "response.output_item.added",
            "response.output_text.delta",
            "response.output_item.done",
            "response.completed",
        ]
        assert events[-1]["response"]["usage"]["input_tokens_details"] == {"cached_tokens": 4}
        loose = body({"type": "object", "properties": {}})
        assert post(f"{server.url}/v1/responses", loose)[0] == 400
        status, _ = post(f"{server.url}/v1/responses", {"stream": True})
        assert status == 500
