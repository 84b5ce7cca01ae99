"""Fuzzing the inputs users hand to playbill: mutated plans and mutated exports.

In-process, the plan loader and the run-file parser get a valid file with
random mutations (bytes deleted, replaced or inserted, lines duplicated or
swapped, hostile tokens: deep nesting, huge and negative numbers, lone
surrogates, terminal escapes). Whatever comes in, the loader answers with a
value or its one typed error, never anything else; an accepted run file
also renders (event lines, folded state) without raising, and shows no
control character. The ``ci`` profile runs a few hundred examples, and
``thorough`` tens of thousands.

A small sample goes through the real console script (``validate``,
``import``), which must exit 0 or 2 with no traceback.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from playbill.cli._format import event_line
from playbill.cli._jsonl import parse_run_file
from playbill.cli._render import print_state
from playbill.plans import parse_plan, starter_plan
from playbill.runtime.logic._reducer import fold
from playbill.runtime.model._errors import InputError

GOLDEN = Path(__file__).parent.parent / "tests" / "golden" / "demo-0001.jsonl"
SCRIPT = Path(sys.executable).parent / "playbill"
SAFETY_TIMEOUT_S = 120
"""Only so that a regression (a hang) cannot hang the suite; nothing is timed."""

_SCALE = 10
"""In-process examples per example of the profile (ci: 300, thorough: 20,000)."""

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

TOKENS = [
    b"[" * 2000,
    b"{" * 70,
    b"[[" * 40,
    b"9223372036854775808",
    b"-9223372036854775809",
    b"300000000000000000",
    b"-1",
    b"1e400",
    b"NaN",
    b"null",
    b'"\\ud800"',
    b'"\\u001b]0;x\\u0007"',
    b"\x1b[31m",
    b"\xff\xfe",
    b'""',
    b'"../x"',
    b"\n",
    b"=",
    b"[[steps]]\n",
    b'"a\\nb"',
]


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` with one to four random mutations."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        match draw(st.sampled_from(["delete", "replace", "insert", "token", "lines", "cut"])):
            case "delete":
                del data[at : at + draw(st.integers(1, 64))]
            case "replace" if at < len(data):
                data[at] = draw(st.integers(0, 255))
            case "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=16))
            case "token":
                data[at:at] = draw(st.sampled_from(TOKENS))
            case "lines":
                lines = bytes(data).split(b"\n")
                i = draw(st.integers(0, len(lines) - 1))
                j = draw(st.integers(0, len(lines) - 1))
                if draw(st.booleans()):
                    lines.insert(j, lines[i])
                else:
                    lines[i], lines[j] = lines[j], lines[i]
                data = bytearray(b"\n".join(lines))
            case "cut":
                del data[at:]
            case _:
                pass
    return bytes(data)


PLAN = starter_plan().encode()
RUN_FILE = GOLDEN.read_bytes()


def _profile_examples(scale: int) -> int:
    return max(1, settings().max_examples * scale)


@settings(max_examples=_profile_examples(_SCALE), suppress_health_check=[HealthCheck.too_slow])
@given(mutated(PLAN))
def test_the_plan_loader_answers_every_mutated_plan_with_a_value_or_its_error(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return  # load_plan reports undecodable files itself; parse_plan takes text
    try:
        parse_plan(text, source="fuzz.toml")
    except InputError as error:
        assert str(error).startswith("fuzz.toml")


@settings(max_examples=_profile_examples(_SCALE), suppress_health_check=[HealthCheck.too_slow])
@given(mutated(RUN_FILE))
def test_import_answers_every_mutated_export_with_entries_or_its_error(data: bytes) -> None:
    try:
        entries = parse_run_file("fuzz.jsonl", data)
    except InputError as error:
        assert str(error).startswith("fuzz.jsonl")
        assert "\n" not in str(error).strip()
        return
    for entry in entries:
        assert not _CONTROL.search(event_line(entry))
    console = Console(file=io.StringIO(), width=120)
    print_state(console, fold(entries))
    file = console.file
    assert isinstance(file, io.StringIO)
    assert "\x1b" not in file.getvalue()


def _playbill(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PLAYBILL_JOURNAL"}
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SAFETY_TIMEOUT_S,
        check=False,
    )


@pytest.mark.slow
@settings(max_examples=_profile_examples(1) // 6 + 2, suppress_health_check=list(HealthCheck))
@given(plan=mutated(PLAN), run_file=mutated(RUN_FILE))
def test_the_console_script_exits_0_or_2_without_a_traceback(plan: bytes, run_file: bytes) -> None:
    with tempfile.TemporaryDirectory() as where:
        cwd = Path(where)
        (cwd / "plan.toml").write_bytes(plan)
        (cwd / "run.jsonl").write_bytes(run_file)
        for args in (
            ("validate", "plan.toml"),
            ("--journal", "j.db", "import", "run.jsonl"),
        ):
            result = _playbill(*args, cwd=cwd)
            assert result.returncode in (0, 2), (args, result.stderr)
            assert "Traceback" not in result.stderr
            if result.returncode == 2:
                assert result.stderr.startswith("playbill: error: "), result.stderr
            if args[-2] == "import" and result.returncode == 2:
                assert not (cwd / "j.db").exists()
