"""Worker processes never run the caller's main module: scripts without a guard, stdin, ``-c``.

Each test runs a real Python process that sweeps a few seeds with two
workers, and checks its rows against a sweep of one worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from playbill.sweeps import ROWS_JSONL, SweepWorkersError, load_setup, run_sweep

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import sys
    from playbill.sweeps import load_setup, run_sweep

    print("main module ran", file=sys.stderr)
    result = run_sweep(load_setup(), sys.argv[1] if len(sys.argv) > 1 else "out",
                       strategies=["pipeline", "parallel"], seeds=range(3), workers=2)
    print(len(result.rows))
    """
)


def _run(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    source = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("one") / "out"
    run_sweep(load_setup(), out, strategies=["pipeline", "parallel"], seeds=range(3), workers=1)
    return (out / ROWS_JSONL).read_bytes()


def test_a_script_without_a_main_guard_sweeps_with_workers(tmp_path: Path, expected: bytes) -> None:
    (tmp_path / "sweep_script.py").write_text(SCRIPT)
    done = _run(["sweep_script.py"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "12"
    assert done.stderr.count("main module ran") == 1  # not again in each worker
    assert (tmp_path / "out" / ROWS_JSONL).read_bytes() == expected


@pytest.mark.parametrize("how", ["stdin", "-c"])
def test_code_without_a_file_sweeps_with_workers(tmp_path: Path, expected: bytes, how: str) -> None:
    done = _run(["-"], tmp_path, stdin=SCRIPT) if how == "stdin" else _run(["-c", SCRIPT], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("main module ran") == 1
    assert (tmp_path / "out" / ROWS_JSONL).read_bytes() == expected


def test_a_strategy_defined_in_main_is_refused_for_workers_in_one_line(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        from playbill.lowlevel import STRATEGIES
        from playbill.sweeps import load_setup, run_sweep, SweepWorkersError

        class Mine(type(STRATEGIES["pipeline"])):
            pass

        setup = load_setup(strategies={**STRATEGIES, "mine": Mine()})
        try:
            run_sweep(setup, "out", strategies=["mine"], seeds=[0], workers=2)
        except SweepWorkersError as error:
            print(error)
        print(len(run_sweep(setup, "out", strategies=["mine"], seeds=[0], workers=1).rows))
        """
    )
    (tmp_path / "mine.py").write_text(script)
    done = _run(["mine.py"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "strategy 'mine' is of class __main__.Mine, which worker processes cannot import: "
        "define it in a module, or sweep with workers=1",
        "2",
    ]


def test_the_workers_error_is_a_sweep_error() -> None:
    error = SweepWorkersError("mine", "Mine")
    assert (error.strategy, error.qualname) == ("mine", "Mine")
    assert "\n" not in str(error)
