"""Test counts from a JUnit XML report, and recognizing pytest commands."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import final

import attrs

from playbill._inputs import InputRefused, read_input
from playbill.runtime import PlaybillError

MAX_REPORT_BYTES = 64 << 20
"""A larger report is refused rather than parsed."""


def is_pytest(argv: Sequence[str]) -> bool:
    """Whether ``argv`` runs pytest, so that a JUnit report can be asked of it.

    True when an element is ``pytest`` (``python -m pytest``, ``uv run
    pytest``) or the program itself is named ``pytest``/``py.test``
    (``.venv/bin/pytest``).
    """
    if not argv:
        return False
    return "pytest" in argv or PurePath(argv[0]).name in ("pytest", "py.test")


@final
@attrs.frozen
class JUnitCounts:
    """The totals of a JUnit report.

    Attributes:
        tests: Test cases run.
        failures: Cases that failed an assertion.
        errors: Cases that errored (in a fixture, during collection...).
        skipped: Cases skipped or expected to fail.
    """

    tests: int
    failures: int
    errors: int
    skipped: int

    @property
    def passed(self) -> int:
        """Cases that passed."""
        return max(0, self.tests - self.failures - self.errors - self.skipped)

    @property
    def failed(self) -> int:
        """Cases that failed or errored."""
        return self.failures + self.errors


class JUnitReportError(PlaybillError):
    """A JUnit report is missing or cannot be read.

    Attributes:
        path: The report's path.
        reason: What is wrong with it.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"JUnit report {str(path)!r}: {reason}")
        self.path = path
        self.reason = reason


def read_junit(path: Path) -> JUnitCounts:
    """Sum the counts of a JUnit report's top-level ``<testsuite>`` elements.

    The root may be ``<testsuites>`` (pytest's) or a bare ``<testsuite>``.

    Raises:
        JUnitReportError: The file is missing, too large, not XML, or not a
            JUnit report.
    """
    # The tests it reports on are the agent's: the report may be anything (a
    # FIFO, a link to a device), so only a regular file within the cap is read.
    try:
        report = read_input(path, MAX_REPORT_BYTES)
    except InputRefused as refused:
        raise JUnitReportError(path, "not written" if refused.missing else str(refused)) from None
    try:
        # expat (2.4.1+) refuses entity-expansion bombs; the size is capped above
        root = ET.fromstring(report)
    except ET.ParseError as exc:
        raise JUnitReportError(path, f"not XML ({exc})") from None
    if root.tag == "testsuite":
        suites = [root]
    elif root.tag == "testsuites":
        suites = root.findall("testsuite")
    else:
        raise JUnitReportError(path, f"root element <{root.tag}>, expected <testsuites>")
    totals = [0, 0, 0, 0]
    for suite in suites:
        for i, name in enumerate(("tests", "failures", "errors", "skipped")):
            raw = suite.get(name, "0")
            try:
                value = int(raw)
            except ValueError:
                raise JUnitReportError(path, f"{name}={raw!r} is not a count") from None
            if value < 0:
                raise JUnitReportError(path, f"{name}={raw!r} is negative")
            totals[i] += value
    tests, failures, errors, skipped = totals
    return JUnitCounts(tests=tests, failures=failures, errors=errors, skipped=skipped)
