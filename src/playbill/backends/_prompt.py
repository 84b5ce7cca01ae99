"""What a real agent is told: a ``WorkOrder`` rendered as a markdown prompt.

``render_prompt`` is deterministic (the same order always gives the same
text) so that prompts can be compared, cached and recorded. It always starts
with ``"# "``: command lines pass it as a positional argument, where a leading
``-`` would read as an option.

``result_schema`` is the JSON schema of the payload an agent must answer
with, in the strict dialect of OpenAI's structured outputs (every object
closes its properties and requires all of them; no ``default`` or
``discriminator`` keywords), which other tools accept as well.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeAlias, assert_never

import msgspec

from playbill._redact import tail
from playbill.runtime import (
    ArtifactExists,
    BuildPasses,
    CommandPasses,
    FileChanged,
    HumanApproval,
    ImplementationPayload,
    PlanPayload,
    ResultEnvelope,
    ReviewPayload,
    Role,
    TestsPass,
    Validator,
    VerificationPayload,
)

from ._backend import WorkKind, WorkOrder

PayloadType: TypeAlias = (
    type[PlanPayload]
    | type[ImplementationPayload]
    | type[ReviewPayload]
    | type[VerificationPayload]
)
"""The class of a role payload."""

_BY_ROLE: dict[Role, PayloadType] = {
    "planner": PlanPayload,
    "executor": ImplementationPayload,
    "reviewer": ReviewPayload,
    "verifier": VerificationPayload,
}

_FEEDBACK_LIMIT = 4000
"""Characters of a previous failure's detail repeated to the agent."""


def payload_type(role: Role, kind: WorkKind) -> PayloadType:
    """The payload class an agent answers with.

    A review is answered with a ``ReviewPayload`` and a verification with a
    ``VerificationPayload`` whatever the role; work is answered with the
    role's own payload (planner: plan, executor: implementation, reviewer:
    review, verifier: verification).

    Args:
        role: The role the agent plays.
        kind: What is asked of it.

    Returns:
        The payload class.
    """
    match kind:
        case "review":
            return ReviewPayload
        case "verify":
            return VerificationPayload
        case "work":
            return _BY_ROLE[role]
        case _:
            assert_never(kind)


def payload_tag(cls: PayloadType) -> str:
    """The ``kind`` tag of a payload class (``"review"``...)."""
    tag = cls.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def result_schema(role: Role, kind: WorkKind) -> dict[str, Any]:
    """The strict JSON schema of the payload for ``role`` doing ``kind``.

    Built from ``msgspec.json.schema`` of the payload class, then made
    strict: the root is the payload object itself, every object lists all its
    properties as required and allows no others, ``default`` and
    ``discriminator`` are dropped, and nested ``anyOf`` are flattened.

    Args:
        role: The role the agent plays.
        kind: What is asked of it.

    Returns:
        A JSON schema (a fresh dictionary; the caller may change it).
    """
    cls = payload_type(role, kind)
    raw = msgspec.json.schema(cls)
    defs: dict[str, Any] = dict(raw.get("$defs", {}))
    root: dict[str, Any] = _strict(defs.pop(cls.__name__))
    if defs:
        root["$defs"] = {name: _strict(schema) for name, schema in defs.items()}
    return root


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("default", "discriminator"):
            continue
        if key == "anyOf":
            out[key] = _flatten_any_of(value)
        elif key in ("properties", "$defs"):
            out[key] = {name: _strict(sub) for name, sub in value.items()}
        else:
            out[key] = _strict(value)
    if out.get("type") == "object" and "properties" in out:
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    return out


def _flatten_any_of(options: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for option in options:
        strict = _strict(option)
        if isinstance(strict, dict) and set(strict) == {"anyOf"}:
            flat.extend(strict["anyOf"])
        else:
            flat.append(strict)
    return flat


def schema_text(role: Role, kind: WorkKind) -> str:
    """``result_schema(role, kind)`` as indented JSON with sorted keys."""
    return json.dumps(result_schema(role, kind), indent=2, sort_keys=True)


def render_prompt(order: WorkOrder) -> str:
    """The prompt for ``order``: markdown, deterministic, starting with ``# ``.

    It names the run, the step and the attempt; states the goal, the
    repository's view the agent works in when it has one, the scope
    (the globs the agent may change, or that it must change nothing), the
    validators the work must satisfy, the previous attempt's failure when
    there is one, and for a review or verification the result under
    scrutiny; and it ends with what to answer: for an executor's work a
    short summary of the change, otherwise a JSON object of the role's
    payload, with its schema.

    Args:
        order: The work to describe.

    Returns:
        The prompt text.
    """
    step = order.step
    lines: list[str] = [
        f"# playbill: {_TITLES[order.kind]} `{step.id}` as the {order.role}",
        "",
        f"- Run: `{order.run_id}`",
        f"- Agent: `{order.agent}` (role: {order.role})",
        f"- Step: `{step.id}`, attempt {order.attempt}",
        "",
        "## Goal",
        "",
        step.goal.strip() or "(no goal was given)",
        "",
    ]
    if order.view and order.workspace is not None:
        lines += [
            "## The repository",
            "",
            f"`{order.workspace}` (your working directory) is {order.view}.",
            "Read it to do this work; nothing written there is kept or committed.",
            "",
        ]
    lines += _scope_section(order)
    lines += _validators_section(step.validators)
    if order.feedback is not None:
        failure = order.feedback
        lines += [
            "## The previous attempt failed",
            "",
            f"- Class: {failure.failure_class}",
            f"- Kind: {failure.kind}",
            "",
        ]
        if failure.detail:
            lines += [*_fenced(tail(failure.detail, _FEEDBACK_LIMIT), "text"), ""]
        lines += ["Do better this time: address this failure first.", ""]
    if order.subject is not None:
        lines += _subject_section(order.kind, order.subject)
    lines += _answer_section(order)
    return "\n".join(lines).rstrip("\n") + "\n"


_TITLES: dict[WorkKind, str] = {
    "work": "work on step",
    "review": "review attempt of step",
    "verify": "verify attempt of step",
}


def _scope_section(order: WorkOrder) -> list[str]:
    lines = ["## Scope", ""]
    if order.kind != "work" or order.role != "executor":
        return [*lines, "Change no files: this work is read-only.", ""]
    if not order.step.scope:
        return [*lines, "This step is read-only: change no files.", ""]
    lines.append(
        "Change only files whose paths (relative to the repository root) match these globs:"
    )
    lines.append("")
    lines += [f"- `{glob}`" for glob in order.step.scope]
    lines += ["", "Any change outside them fails the attempt. Do not commit.", ""]
    return lines


def _validators_section(validators: tuple[Validator, ...]) -> list[str]:
    if not validators:
        return []
    lines = ["## Validators", "", "The work is accepted only when all of these pass:", ""]
    lines += [f"- {_describe_validator(v)}" for v in validators]
    return [*lines, ""]


def _describe_validator(v: Validator) -> str:
    match v:
        case CommandPasses():
            where = "" if v.cwd == "." else f" in `{v.cwd}`"
            return (
                f"the command `{_command(v.argv, v.shell)}`{where} exits with {v.expect_exit}"
                f" (within {v.timeout_s:g} s)"
            )
        case TestsPass():
            where = "" if v.cwd == "." else f" in `{v.cwd}`"
            return (
                f"the tests `{_command(v.argv, False)}`{where} pass, at least {v.min_passed}"
                f" of them (within {v.timeout_s:g} s)"
            )
        case BuildPasses():
            where = "" if v.cwd == "." else f" in `{v.cwd}`"
            return f"the build `{_command(v.argv, False)}`{where} succeeds"
        case FileChanged():
            return f"the change touches a file matching `{v.path}`"
        case ArtifactExists():
            return f"the file `{v.path}` exists afterwards"
        case HumanApproval():
            suffix = f": {v.prompt}" if v.prompt else ""
            return f"a person approves the result{suffix}"
        case _:
            assert_never(v)


def _command(argv: tuple[str, ...], shell: bool) -> str:
    if shell:
        return " ".join(argv)
    return " ".join(json.dumps(a) if (not a or any(c.isspace() for c in a)) else a for a in argv)


def _subject_section(kind: WorkKind, subject: ResultEnvelope) -> list[str]:
    what = "review" if kind == "review" else "verify"
    lines = [
        f"## The result to {what}",
        "",
        f"- Agent: `{subject.agent}` ({subject.role}), attempt {subject.attempt}",
        f"- Exit status: {subject.exit_status}",
    ]
    payload = subject.payload
    match payload:
        case ImplementationPayload():
            if payload.commit:
                lines.append(f"- Commit: `{payload.commit}`")
            if payload.changed_files:
                lines += ["- Changed files:", *(f"  - `{p}`" for p in payload.changed_files)]
            else:
                lines.append("- Changed files: none")
            lines += ["", "Summary:", "", payload.summary.strip() or "(no summary)"]
        case PlanPayload() | ReviewPayload() | VerificationPayload():
            encoded = msgspec.json.encode(payload, order="sorted")
            lines += ["", *_fenced(msgspec.json.format(encoded, indent=2).decode(), "json")]
        case _:
            assert_never(payload)
    for title, items in (
        ("Evidence", [f"{e.kind} `{e.ref}` {e.detail}".rstrip() for e in subject.evidence]),
        ("Known gaps", [f"{g.kind}: {g.detail}" for g in subject.gaps]),
        ("Blockers", [f"{b.kind}: {b.detail}" for b in subject.blockers]),
    ):
        if items:
            lines += ["", f"{title}:", "", *(f"- {item}" for item in items)]
    return [*lines, ""]


def _fenced(text: str, lang: str) -> list[str]:
    """``text`` in a fenced block whose fence no backtick run inside can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{lang}", text, fence]


def _answer_section(order: WorkOrder) -> list[str]:
    cls = payload_type(order.role, order.kind)
    if cls is ImplementationPayload:
        if not order.step.scope:
            return [
                "## Your answer",
                "",
                "Change no files. When you are done, end your answer with a short plain-text"
                " summary of what you did and found.",
            ]
        return [
            "## Your answer",
            "",
            "Make the change in the current working directory. When you are done, end your"
            " answer with a short plain-text summary of what you changed and why.",
        ]
    return [
        "## Your answer",
        "",
        "Change no files. End your answer with one JSON object, alone in a ```json fenced"
        f' block, with `"kind": "{payload_tag(cls)}"`, matching this JSON schema:',
        "",
        "```json",
        schema_text(order.role, order.kind),
        "```",
    ]
