"""The redactor's reach: secrets in the forms an agent may print them, invalid Unicode,
the names a plan makes secret, usage that cannot be true, and a result line too long."""

from __future__ import annotations

import json
import re
import urllib.parse

import msgspec
import pytest

from playbill._redact import Redactor, has_lone_surrogate, lone_surrogate_at
from playbill.actors._usage_check import usage_problem
from playbill.backends._agent_output import missing_json_line
from playbill.plans import PlanError, parse_plan, secret_names
from playbill.runtime import (
    Heartbeat,
    ImplementationPayload,
    ResultEnvelope,
    ResultProposed,
    Usage,
)

SECRET = "postgres://app:Pa55 w0rd@db.internal:5432/app"
R = Redactor.from_environ({"DATABASE_URL": SECRET}, extra=["DATABASE_URL"])
MARK = "[redacted:DATABASE_URL]"


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        urllib.parse.quote(SECRET),
        urllib.parse.quote(SECRET, safe=""),
        re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote(SECRET)),
        urllib.parse.quote_plus(SECRET),
        SECRET[:10] + "\n" + SECRET[10:],
        SECRET[:1] + "\r\n" + SECRET[1:],
        json.dumps({"k": SECRET[:20] + "\n" + SECRET[20:]}),
        json.dumps({"outer": json.dumps({"k": SECRET})}),
        json.dumps({"outer": json.dumps({"k": SECRET[:5] + "\r\n" + SECRET[5:]})}),
    ],
    ids=[
        *("raw", "quote", "quote-all", "quote-lower", "plus", "lf", "crlf"),
        *("json-lf", "json-json", "json-json-crlf"),
    ],
)
def test_every_form_of_a_secret_is_redacted(form: str) -> None:
    out = R.redact(f"before {form} after")
    assert MARK in out
    assert R.find(f"x {form} y") == "DATABASE_URL"
    flat = out.replace("\\n", "").replace("\\r", "").replace("\n", "").replace("\r", "")
    assert SECRET not in urllib.parse.unquote_plus(flat)


def test_text_without_the_secret_is_left_as_it_is() -> None:
    text = "a%20b+c\nd \\n postgres://app:other@db"
    assert R.redact(text) == text
    assert R.find(text) is None


def test_a_secret_split_across_two_strings_is_not_found() -> None:
    # documented: each string is redacted on its own
    assert R.redact(SECRET[:10]) == SECRET[:10]


def test_lone_surrogates_become_replacement_characters_everywhere() -> None:
    beat = Heartbeat(agent="a", step="s", attempt=1, progress="bad \ud800 name \udcff")
    cleaned = Redactor().scrub(beat)
    assert cleaned.progress == "bad \ufffd name \ufffd"
    cleaned.progress.encode("utf-8")  # encodable now
    assert Redactor().scrub(Heartbeat(agent="a", step="s", attempt=1)) is not None


def test_where_a_lone_surrogate_is_is_named() -> None:
    result = ResultEnvelope(
        agent="a",
        role="executor",
        step="s",
        attempt=1,
        exit_status="ok",
        payload=ImplementationPayload(summary="ok", changed_files=("fine.py", "bad-\udcff.py")),
    )
    assert lone_surrogate_at(result) == "$.payload.changed_files[1]"
    assert has_lone_surrogate("\ud800") and not has_lone_surrogate("\U0001f600")


def test_with_names_adds_set_variables_only() -> None:
    env = {"SLACK_WEBHOOK_URL": "https://hooks.example/T0/B0/xyz", "EMPTY": ""}
    r = Redactor().with_names(["SLACK_WEBHOOK_URL", "EMPTY", "UNSET"], env)
    assert r.secrets == (("SLACK_WEBHOOK_URL", "https://hooks.example/T0/B0/xyz"),)


PLAN = """
[run]
goal = "g"
redact = ["RELEASE_CODE"]

[[agents]]
id = "ex"
roles = ["executor"]
backend = "command"
[agents.options]
argv = ["agent"]
env_allow = ["DATABASE_URL"]

[[agents]]
id = "rev"
roles = ["reviewer"]
backend = "openai"
[agents.options]
model = "m"
api_key_env = "MY_LLM"

[[agents]]
id = "cx"
roles = ["executor"]
backend = "codex"
[agents.options]
base_url = "http://127.0.0.1:9/v1"
env_key = "LAB_LLM_ACCESS"

[[agents]]
id = "tests"
roles = ["verifier"]
backend = "checks"
[agents.options]
env_allow = ["SLACK_WEBHOOK_URL", "DATABASE_URL"]

[[steps]]
id = "s"
goal = "g"
"""


def test_a_plan_names_its_secrets_by_env_allow_api_key_env_env_key_and_redact() -> None:
    plan = parse_plan(PLAN)
    assert secret_names(plan) == (
        "RELEASE_CODE",
        "DATABASE_URL",
        "MY_LLM",
        "LAB_LLM_ACCESS",
        "SLACK_WEBHOOK_URL",
    )


def test_redact_takes_names_of_variables_only() -> None:
    with pytest.raises(PlanError, match="redact"):
        parse_plan(PLAN.replace('redact = ["RELEASE_CODE"]', 'redact = ["hunter2 value"]'))


@pytest.mark.parametrize(
    ("usage", "said"),
    [
        (Usage(tokens_in=-1_000_000_000), "tokens_in = -1000000000"),
        (Usage(cost_usd=-100), "cost_usd = -100"),
        (Usage(cost_usd=float("nan")), "cost_usd = nan, which is not a finite number"),
        (Usage(cost_usd=float("inf")), "cost_usd = inf, which is not a finite number"),
        (Usage(tokens_out=2**70), "tokens_out = 1180591620717411303424"),
        (Usage(tokens_in=-(10**12)), "tokens_in = -1000000000000"),
        (Usage(wall_s=-1.0), "wall_s = -1"),
    ],
)
def test_usage_that_cannot_be_true_is_named(usage: Usage, said: str) -> None:
    problem = usage_problem(usage)
    assert problem is not None and said in problem


def test_honest_usage_passes() -> None:
    assert usage_problem(Usage(tokens_in=10**9, tokens_out=5, cost_usd=12.5, wall_s=3.0)) is None
    assert usage_problem(Usage()) is None


def test_a_line_too_long_is_named_as_such() -> None:
    assert "longer than the" in missing_json_line("x" * 300_000 + "\n")
    assert "300,000 characters" in missing_json_line("log\n" + "x" * 300_000)
    assert missing_json_line("no json here\n") == "printed no line holding a JSON object"


def test_a_secret_equal_to_a_tag_or_a_literal_leaves_the_message_valid() -> None:
    # a Literal-typed string (the tag, a role, a kind) is no free text: left alone
    r = Redactor((("ROLE_VALUE", "executor"), ("KIND_VALUE", "implementation")))
    result = ResultEnvelope(
        agent="a",
        role="executor",
        step="s",
        attempt=1,
        exit_status="ok",
        payload=ImplementationPayload(summary="an executor's implementation"),
    )
    cleaned = r.scrub(ResultProposed(result=result))
    assert cleaned.result.role == "executor"
    assert isinstance(cleaned.result.payload, ImplementationPayload)
    assert cleaned.result.payload.summary == "an [redacted:ROLE_VALUE]'s [redacted:KIND_VALUE]"
    msgspec.json.decode(msgspec.json.encode(cleaned), type=ResultProposed)  # still valid
