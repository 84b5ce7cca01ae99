"""The ``tests_pass`` validator: real pytest runs, JUnit counts, and reports gone wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixtures.validators.helpers import FIXTURES, PY, make_ctx, py
from playbill.runtime import Evidence, TestsPass
from playbill.validators import run_validator
from playbill.validators._junit import JUnitCounts, JUnitReportError, is_pytest, read_junit

PASSING = """
def test_one():
    assert 1 + 1 == 2

def test_two():
    assert "a".upper() == "A"
"""

FAILING = """
import pytest

def test_broken():
    assert 1 + 1 == 3

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tiny real Python project with a passing and a failing test file."""
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "tiny"\nversion = "0"\n')
    (root / "tests" / "test_ok.py").write_text(PASSING)
    (root / "tests" / "test_bad.py").write_text(FAILING)
    return root


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


@pytest.mark.slow
async def test_a_failing_suite_fails_with_its_counts(project: Path) -> None:
    v = TestsPass(argv=(PY, "-m", "pytest", "-q"))
    before = _files(project)
    result = await run_validator(v, make_ctx(project))
    assert not result.passed
    assert result.failure is not None
    assert (result.failure.failure_class, result.failure.kind) == ("validation", "tests_failed")
    assert "exit 1, 2 passed, 1 failed, 1 skipped" in result.failure.detail
    assert "expected exit 0, no failures and at least 1 passed" in result.failure.detail
    assert (result.check.tests_passed, result.check.tests_failed) == (2, 1)
    assert result.score == pytest.approx(2 / 3)
    assert "test_broken" in result.output_tail
    # no JUnit report, cache or bytecode was left in the worktree
    assert _files(project) == before


@pytest.mark.slow
async def test_a_passing_suite_passes_with_its_counts(project: Path) -> None:
    v = TestsPass(argv=(PY, "-m", "pytest", "-q", "tests/test_ok.py"), min_passed=2)
    result = await run_validator(v, make_ctx(project))
    assert result.passed, result.failure
    assert result.score == 1.0
    assert (result.check.tests_passed, result.check.tests_failed) == (2, 0)
    assert result.evidence == (
        Evidence(
            kind="test",
            ref=f"{PY} -m pytest -q tests/test_ok.py",
            detail="2 passed, 0 failed, 0 skipped (exit 0)",
        ),
    )


@pytest.mark.slow
async def test_no_tests_collected_is_a_failure(tmp_path: Path) -> None:
    result = await run_validator(TestsPass(argv=(PY, "-m", "pytest", "-q")), make_ctx(tmp_path))
    assert result.failure is not None
    assert result.failure.kind == "tests_failed"
    assert "no tests collected (exit 5)" in result.failure.detail
    assert (result.check.tests_passed, result.check.tests_failed) == (0, 0)


# ----------------------------------------------- reports, through a fake pytest


def fake(tmp_path: Path, mode: str, status: int, *, min_passed: int = 1) -> TestsPass:
    script = str(FIXTURES / "fake_pytest.py")
    return TestsPass(argv=(PY, "-I", script, "pytest", mode, str(status)), min_passed=min_passed)


def report(tmp_path: Path, xml: str) -> str:
    path = tmp_path / "given.xml"
    path.write_text(xml)
    return str(path)


SUITE = '<testsuite name="s" tests="5" failures="0" errors="0" skipped="1"/>'


async def test_fewer_passed_than_min_passed_fails(tmp_path: Path) -> None:
    v = fake(tmp_path, report(tmp_path, SUITE), 0, min_passed=5)
    result = await run_validator(v, make_ctx(tmp_path))
    assert result.failure is not None
    assert result.failure.kind == "tests_failed"
    assert "4 passed, 0 failed, 1 skipped" in result.failure.detail
    assert "at least 5 passed" in result.failure.detail
    assert result.score == 1.0  # every test that ran passed; there were too few


async def test_a_non_zero_exit_fails_even_when_every_test_passed(tmp_path: Path) -> None:
    result = await run_validator(fake(tmp_path, report(tmp_path, SUITE), 1), make_ctx(tmp_path))
    assert result.failure is not None
    assert result.failure.kind == "tests_failed"
    assert "exit 1, 4 passed" in result.failure.detail


async def test_the_runner_asks_pytest_for_a_report_and_no_cache(tmp_path: Path) -> None:
    result = await run_validator(fake(tmp_path, report(tmp_path, SUITE), 0), make_ctx(tmp_path))
    assert result.passed
    assert "-p no:cacheprovider" in result.output_tail
    assert "--junitxml=" in result.output_tail
    assert str(tmp_path) not in result.output_tail.split("--junitxml=")[1]


@pytest.mark.parametrize(("mode", "reason"), [("none", "not written"), ("garbage", "not XML")])
async def test_a_missing_or_unreadable_report_is_a_validator_error(
    tmp_path: Path, mode: str, reason: str
) -> None:
    result = await run_validator(fake(tmp_path, mode, 0), make_ctx(tmp_path))
    assert result.failure is not None
    assert (result.failure.failure_class, result.failure.kind) == ("validation", "validator_error")
    assert f"exit 0, but its JUnit report is {reason}" in result.failure.detail


async def test_a_command_that_is_not_pytest_is_judged_by_its_exit_status(tmp_path: Path) -> None:
    good = await run_validator(TestsPass(argv=py("print('ok')")), make_ctx(tmp_path))
    bad = await run_validator(TestsPass(argv=py("raise SystemExit(2)")), make_ctx(tmp_path))
    assert good.passed
    assert good.check.tests_passed is None
    assert good.evidence[0].kind == "test"
    assert bad.failure is not None
    assert bad.failure.kind == "tests_failed"
    assert "exit 2, expected exit 0" in bad.failure.detail


async def test_a_test_timeout_is_a_transient_failure(tmp_path: Path) -> None:
    v = TestsPass(argv=py("import time; time.sleep(30)"), timeout_s=0.5)
    result = await run_validator(v, make_ctx(tmp_path))
    assert result.failure is not None
    assert (result.failure.failure_class, result.failure.kind) == ("transient", "validator_timeout")


# ---------------------------------------------------------------- the parser


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("python", "-m", "pytest"), True),
        (("uv", "run", "pytest", "-x"), True),
        ((".venv/bin/pytest",), True),
        (("py.test",), True),
        (("make", "test"), False),
        (("python", "-m", "unittest"), False),
        ((), False),
    ],
)
def test_pytest_commands_are_recognized(argv: tuple[str, ...], expected: bool) -> None:
    assert is_pytest(argv) is expected


def test_counts_are_read_from_a_testsuites_root(tmp_path: Path) -> None:
    xml = (
        "<testsuites>"
        '<testsuite tests="4" failures="1" errors="1" skipped="0"/>'
        '<testsuite tests="3" failures="0" errors="0" skipped="2"/>'
        "</testsuites>"
    )
    counts = read_junit(Path(report(tmp_path, xml)))
    assert counts == JUnitCounts(tests=7, failures=1, errors=1, skipped=2)
    assert (counts.passed, counts.failed) == (3, 2)


def test_counts_are_read_from_a_bare_testsuite(tmp_path: Path) -> None:
    counts = read_junit(Path(report(tmp_path, SUITE)))
    assert (counts.passed, counts.failed, counts.skipped) == (4, 0, 1)


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        ("<html/>", "root element <html>"),
        ('<testsuite tests="many"/>', "is not a count"),
        ('<testsuite tests="-1"/>', "is negative"),
        ("<testsuite", "not XML"),
    ],
)
def test_reports_that_are_not_junit_are_refused(tmp_path: Path, xml: str, reason: str) -> None:
    with pytest.raises(JUnitReportError) as caught:
        read_junit(Path(report(tmp_path, xml)))
    assert reason in caught.value.reason


def test_a_report_that_is_not_a_regular_file_is_refused_without_waiting(tmp_path: Path) -> None:
    # the tests are the agent's: they may leave a FIFO or a link to a device there
    fifo = tmp_path / "fifo.xml"
    os.mkfifo(fifo)
    with pytest.raises(JUnitReportError, match="not a regular file"):
        read_junit(fifo)
    device = tmp_path / "zero.xml"
    device.symlink_to("/dev/zero")
    with pytest.raises(JUnitReportError, match="not a regular file"):
        read_junit(device)
