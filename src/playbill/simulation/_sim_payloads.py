"""What a simulated agent produces: the role payloads, evidence and names.

Pure functions of a work order, an outcome and a seeded ``random.Random``;
``_sim_draws`` decides the outcome, this module dresses it as a result.
"""

from __future__ import annotations

import fnmatch
import hashlib
import random
from typing import Literal

from playbill.backends import WorkOrder
from playbill.runtime import (
    ArtifactExists,
    Blocker,
    BuildPasses,
    Check,
    CommandPasses,
    Evidence,
    FileChanged,
    Finding,
    Gap,
    HumanApproval,
    ImplementationPayload,
    PlanPayload,
    ReviewPayload,
    StepSpec,
    TestsPass,
    Validator,
    VerificationPayload,
)

_CLASS_FILL = "abcxyz019_"
"""Characters tried for a negated character class (``[!...]``)."""

Severity = Literal["info", "minor", "major", "critical"]


def stable_digest(*parts: object, size: int = 32) -> bytes:
    """A digest of ``parts`` that is the same in every process.

    ``repr`` of strings and integers does not depend on the hash seed, the
    locale or the platform, and ``blake2b`` is not Python's salted ``hash()``.
    """
    return hashlib.blake2b(
        repr(parts).encode("utf-8", "backslashreplace"), digest_size=size
    ).digest()


def stable_rng(*parts: object) -> random.Random:
    """A generator seeded by ``parts`` alone (see ``stable_digest``)."""
    return random.Random(int.from_bytes(stable_digest(*parts), "big"))


def validator_name(validator: Validator) -> str:
    """The name a simulated verifier gives the check of ``validator``.

    ``tests_pass``, ``build_passes: make``, ``command_passes: ruff check .``,
    ``file_changed: src/*.py``, ``artifact_exists: dist/app.whl``,
    ``human_approval``.
    """
    match validator:
        case TestsPass():
            return "tests_pass"
        case CommandPasses(argv=argv) | BuildPasses(argv=argv):
            kind = "command_passes" if isinstance(validator, CommandPasses) else "build_passes"
            return f"{kind}: {' '.join(argv)}"
        case FileChanged(path=path):
            return f"file_changed: {path}"
        case ArtifactExists(path=path):
            return f"artifact_exists: {path}"
        case HumanApproval():
            return "human_approval"


def path_in_scope(pattern: str, name: str) -> str | None:
    """A repository path that the scope glob ``pattern`` matches, or ``None``.

    A trailing ``/`` means the directory's contents (``docs/`` is
    ``docs/**``). ``*`` becomes ``name``, a ``**`` segment becomes one
    directory (or, last, the file ``name.py``), ``?`` and ``[...]`` one
    matching character. The result matches the pattern under ``fnmatch`` and
    under gitignore-style globbing; a pattern without wildcards is returned
    as is.
    """
    pattern = pattern.strip().removeprefix("./")
    if pattern.endswith("/"):
        pattern += "**"
    if not pattern:
        return None
    segments = pattern.split("/")
    out = []
    for index, segment in enumerate(segments):
        if segment == "**":
            out.append(f"{name}.py" if index == len(segments) - 1 else "sim")
        else:
            out.append(_fill(segment, name))
    path = "/".join(out)
    return path if fnmatch.fnmatchcase(path, pattern) else None


def _fill(segment: str, name: str) -> str:
    out = []
    i = 0
    while i < len(segment):
        c = segment[i]
        if c == "*":
            while i < len(segment) and segment[i] == "*":
                i += 1
            out.append(name)
            continue
        if c == "?":
            out.append("x")
        elif c == "[" and (end := segment.find("]", i + 2)) != -1:
            body = segment[i + 1 : end]
            out.append(_class_char(body))
            i = end + 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _class_char(body: str) -> str:
    negated = body[:1] in ("!", "^")
    members = body[1:] if negated else body
    for c in _CLASS_FILL if negated else members:
        if c != "-" and fnmatch.fnmatchcase(c, f"[{body}]"):
            return c
    return members[:1] or "x"


def implementation(
    order: WorkOrder, rng: random.Random, ok: bool, edits_files: bool
) -> tuple[ImplementationPayload, tuple[Evidence, ...], tuple[Gap, ...]]:
    """An executor's payload, evidence and gaps."""
    key = (order.run_id, order.agent, order.step.id, order.attempt)
    if not ok:
        log = Evidence(
            kind="log",
            ref=f"sim://{order.agent}/{order.step.id}/{order.attempt}",
            detail="the simulated attempt did not achieve its goal",
        )
        gap = Gap(kind="incomplete", detail=f"step {order.step.id!r} is not done")
        return ImplementationPayload(summary="simulated failure"), (log,), (gap,)
    files: list[str] = []
    if edits_files and order.step.scope:
        for _ in range(1 + rng.randrange(3)):
            pattern = rng.choice(order.step.scope)
            path = path_in_scope(pattern, f"sim_{rng.getrandbits(24):06x}")
            if path is not None and path not in files:
                files.append(path)
    files.sort()
    commit = stable_digest(*key, "commit", size=20).hex() if files else None
    evidence = [
        Evidence(kind="file", ref=path, sha256=stable_digest(*key, path).hex()) for path in files
    ]
    if commit is not None:
        evidence.append(Evidence(kind="commit", ref=commit, detail="simulated commit"))
    else:
        evidence.append(Evidence(kind="note", ref="simulated", detail="no file changed"))
    summary = f"simulated work on {order.step.id}: {len(files)} file(s) changed"
    payload = ImplementationPayload(summary=summary, changed_files=tuple(files), commit=commit)
    return payload, tuple(evidence), ()


def plan(order: WorkOrder, ok: bool, substeps: int) -> tuple[PlanPayload, tuple[Gap, ...]]:
    """A planner's payload: ``substeps`` executor steps ``<step>.1`` ... in a chain.

    Each sub-step has the planner step's scope, and its validators (human
    approvals left out), or ``tests_pass`` when none is left.
    """
    if not ok:
        return PlanPayload(rationale="simulated failure"), (
            Gap(kind="incomplete", detail="no plan was produced"),
        )
    step = order.step
    checks = tuple(v for v in step.validators if not isinstance(v, HumanApproval)) or (TestsPass(),)
    steps = tuple(
        StepSpec(
            id=f"{step.id}.{i}",
            goal=f"{step.goal} (part {i} of {substeps})",
            role="executor",
            depends_on=(f"{step.id}.{i - 1}",) if i > 1 else (),
            scope=step.scope,
            validators=checks,
        )
        for i in range(1, substeps + 1)
    )
    rationale = f"simulated plan for {step.id}: {substeps} sub-step(s)"
    return PlanPayload(steps=steps, rationale=rationale), ()


def review(
    order: WorkOrder, rng: random.Random, ok: bool, blocked_share: float
) -> tuple[ReviewPayload, tuple[Blocker, ...]]:
    """A reviewer's verdict and findings, and its blockers when blocked."""
    paths = _subject_paths(order)

    def finding(severity: Severity, message: str) -> Finding:
        path = rng.choice(paths) if paths else None
        line = 1 + rng.randrange(400) if path is not None else None
        return Finding(severity=severity, message=message, path=path, line=line)

    if ok:
        notes = tuple(finding("info", "simulated remark") for _ in range(rng.randrange(2)))
        return ReviewPayload(verdict="pass", findings=notes), ()
    if rng.random() < blocked_share:
        blocker = Blocker(
            kind="needs_replan", detail=f"step {order.step.id!r} cannot work as planned"
        )
        return ReviewPayload(
            verdict="blocked", findings=(finding("critical", "the approach cannot work"),)
        ), (blocker,)
    findings = [finding("major", "simulated defect")]
    findings.extend(finding("minor", "simulated nit") for _ in range(rng.randrange(3)))
    return ReviewPayload(verdict="request_changes", findings=tuple(findings)), ()


def _subject_paths(order: WorkOrder) -> tuple[str, ...]:
    subject = order.subject
    if subject is not None and isinstance(subject.payload, ImplementationPayload):
        return subject.payload.changed_files
    return ()


def verification(order: WorkOrder, rng: random.Random, ok: bool) -> VerificationPayload:
    """A verifier's checks: all pass when ``ok``, else at least one fails.

    One check per validator of the step, named by ``validator_name`` (``#2``
    and up for repeats), none for human approvals (a person gives those), or
    one ``tests`` check when that leaves none.
    """
    validators: list[Validator | None] = [
        v for v in order.step.validators if not isinstance(v, HumanApproval)
    ]
    if not validators:
        validators = [None]
    names: list[str] = []
    for validator in validators:
        name = "tests" if validator is None else validator_name(validator)
        repeats = sum(1 for n in names if n == name or n.startswith(f"{name} #"))
        names.append(name if repeats == 0 else f"{name} #{repeats + 1}")
    failing = set()
    if not ok:
        failing.add(rng.randrange(len(names)))
        failing.update(i for i in range(len(names)) if rng.random() < 0.5)
    checks = []
    for i, (name, validator) in enumerate(zip(names, validators, strict=True)):
        passed = i not in failing
        if validator is None or isinstance(validator, TestsPass):
            count = (validator.min_passed if validator is not None else 1) + rng.randrange(200)
            bad = 0 if passed else 1 + rng.randrange(5)
            detail = f"{count} passed, {bad} failed"
            checks.append(
                Check(name=name, passed=passed, detail=detail, tests_passed=count, tests_failed=bad)
            )
        else:
            detail = "simulated: passed" if passed else "simulated: failed"
            checks.append(Check(name=name, passed=passed, detail=detail))
    return VerificationPayload(checks=tuple(checks))
