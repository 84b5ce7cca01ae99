"""Secrets from the environment never reach the journal: the redactor."""

from __future__ import annotations

from playbill._redact import Redactor, is_secret_name, tail


def test_secret_values_are_replaced_by_their_names() -> None:
    env = {"OPENAI_API_KEY": "sk-abcdef123456", "HOME": "/home/me", "GH_TOKEN": "ghp_zzzzzz"}
    r = Redactor.from_environ(env)
    out = r.redact("auth sk-abcdef123456 in /home/me with ghp_zzzzzz")
    assert "sk-abcdef123456" not in out
    assert "ghp_zzzzzz" not in out
    assert "[redacted:OPENAI_API_KEY]" in out
    assert "[redacted:GH_TOKEN]" in out
    assert "/home/me" in out


def test_short_values_and_ordinary_names_are_left_alone() -> None:
    r = Redactor.from_environ({"API_KEY": "abc", "PATH": "/usr/bin:/bin"})
    assert r.redact("abc /usr/bin:/bin") == "abc /usr/bin:/bin"


def test_longest_secret_wins_when_one_contains_another() -> None:
    r = Redactor.from_environ({"A_TOKEN": "secret1", "B_TOKEN": "secret1-long"})
    assert r.redact("x secret1-long y") == "x [redacted:B_TOKEN] y"


def test_extra_names_are_secrets_too() -> None:
    r = Redactor.from_environ({"DATABASE_URL": "postgres://u:pw@h/db"}, extra=["DATABASE_URL"])
    assert "pw@h" not in r.redact("url=postgres://u:pw@h/db")


def test_secret_names() -> None:
    assert is_secret_name("ANTHROPIC_API_KEY")
    assert is_secret_name("db_password")
    assert not is_secret_name("HOME")


def test_tail_marks_what_it_cuts() -> None:
    assert tail("abc", 10) == "abc"
    cut = tail("x" * 20 + "end", 5)
    assert cut.endswith("x" * 2 + "end")
    assert "18 characters cut" in cut


def test_values_are_redacted_through_and_through() -> None:
    from playbill.runtime import Failure, ImplementationPayload, ResultEnvelope

    r = Redactor.from_environ({"API_TOKEN": "tok-123456"})
    result = ResultEnvelope(
        agent="a",
        role="executor",
        step="s",
        attempt=1,
        exit_status="ok",
        payload=ImplementationPayload(summary="used tok-123456 to log in"),
    )
    cleaned = r.redact_value(result)
    assert isinstance(cleaned.payload, ImplementationPayload)
    assert cleaned.payload.summary == "used [redacted:API_TOKEN] to log in"
    failure = Failure(failure_class="agent", kind="x", detail="no secret here")
    assert r.redact_value(failure) is failure


def test_secrets_with_quotes_and_backslashes_and_numeric_ones_are_handled() -> None:
    from playbill.runtime import ImplementationPayload, ResultEnvelope, Usage

    r = Redactor.from_environ({"DB_PASSWORD": 'pa"ss\\word1', "PIN_TOKEN": "1234567"})
    result = ResultEnvelope(
        agent="a",
        role="executor",
        step="s",
        attempt=1,
        exit_status="ok",
        payload=ImplementationPayload(summary='logged in with pa"ss\\word1 and pin 1234567'),
        usage=Usage(tokens_in=1234567),
    )
    cleaned = r.redact_value(result)
    assert isinstance(cleaned.payload, ImplementationPayload)
    assert cleaned.payload.summary == (
        "logged in with [redacted:DB_PASSWORD] and pin [redacted:PIN_TOKEN]"
    )
    assert cleaned.usage.tokens_in == 1234567  # numbers are not text: left alone


def test_secrets_inside_tuples_of_structs_are_redacted() -> None:
    from playbill.runtime import Finding, ResultEnvelope, ReviewPayload

    r = Redactor.from_environ({"LLM_ACCESS": "llm-access-0123456789"}, extra=("LLM_ACCESS",))
    finding = Finding(severity="minor", message="my key is llm-access-0123456789")
    result = ResultEnvelope(
        agent="a",
        role="reviewer",
        step="s",
        attempt=1,
        exit_status="ok",
        payload=ReviewPayload(verdict="pass", findings=(finding,)),
    )
    cleaned = r.redact_value(result)
    assert isinstance(cleaned.payload, ReviewPayload)
    assert cleaned.payload.findings[0].message == "my key is [redacted:LLM_ACCESS]"


def test_ordinary_names_that_contain_secret_words_are_not_secrets() -> None:
    for name in ("GIT_AUTHOR_NAME", "DESKTOP_SESSION", "KEYBOARD_LAYOUT", "XAUTHORITY"):
        assert not is_secret_name(name), name
    for name in ("PGPASSWORD", "AWS_SECRET_ACCESS_KEY", "GH_AUTH", "OPENAI_APIKEY", "GITHUB_PAT"):
        assert is_secret_name(name), name
