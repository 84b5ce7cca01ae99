"""Hostile input through the real console script: one line and exit 2, never a traceback.

Each test is a reproducer from issue 19 (items 6 to 9), run as a real
process: the ``playbill`` console script, real files, FIFOs and devices, a
real second writer, a real full disk (``RLIMIT_FSIZE``: Python ignores
``SIGXFSZ``, so a write past the limit fails with ``EFBIG``), and real
permissions (``setpriv`` drops the capabilities that let root ignore them).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(sys.executable).parent / "playbill"
SAFETY_TIMEOUT_S = 120
"""Only so that a regression (a hang) cannot hang the suite; nothing is timed."""

SETPRIV = shutil.which("setpriv")
NO_DAC = ["--bounding-set=-dac_override,-dac_read_search"]
"""Without these two capabilities even root is held to file permissions."""


def playbill(
    *args: str,
    cwd: Path,
    limit_file_bytes: int | None = None,
    prefix: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run the console script; ``limit_file_bytes`` makes the disk full past that size."""
    env = {k: v for k, v in os.environ.items() if k != "PLAYBILL_JOURNAL"}
    preexec: Callable[[], None] | None = None
    if limit_file_bytes is not None:
        size = limit_file_bytes

        def preexec() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return subprocess.run(
        [*prefix, str(SCRIPT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SAFETY_TIMEOUT_S,
        check=False,
        preexec_fn=preexec,
    )


def one_line(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit status 2 and one line on stderr, no traceback, naming every fragment."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "rror" in line]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


@pytest.fixture(scope="module")
def exported_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export of a real simulated run, ``sim-1`` (made once: tests only read it)."""
    where = tmp_path_factory.mktemp("exported")
    journal = where / "source.db"
    assert playbill("--journal", str(journal), "sim", "--seed", "1", cwd=where).returncode == 0
    target = where / "run.jsonl"
    result = playbill("--journal", str(journal), "export", "sim-1", "-o", str(target), cwd=where)
    assert result.returncode == 0, result.stderr
    return target


@pytest.fixture
def exported(exported_once: Path, tmp_path: Path) -> Path:
    """A copy of the export, in the test's own directory."""
    copy = tmp_path / "run.jsonl"
    shutil.copy(exported_once, copy)
    return copy


def _rewrite(source: Path, target: Path, change: Callable[[dict[str, object]], None]) -> Path:
    lines = []
    for line in source.read_text().splitlines():
        entry = json.loads(line)
        change(entry)
        lines.append(json.dumps(entry))
    target.write_text("\n".join(lines) + "\n")
    return target


# ------------------------------------------------------------------ item 7


def test_sim_twice_on_one_journal_is_one_line(tmp_path: Path) -> None:
    journal = str(tmp_path / "j.db")
    assert playbill("--journal", journal, "sim", "--seed", "1", cwd=tmp_path).returncode == 0
    again = playbill("--journal", journal, "sim", "--seed", "1", cwd=tmp_path)
    one_line(again, "sim-1 already exists", "playbill resume sim-1")


HOLDER = """
import sys, trio
from playbill.runtime import open_journal

async def main():
    async with open_journal(sys.argv[1], create=True) as journal:
        async with journal.writer(sys.argv[2]):
            print("held", flush=True)
            await trio.to_thread.run_sync(sys.stdin.read)

trio.run(main)
"""


def test_a_second_writer_of_a_run_is_one_line(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(journal), "sim-5"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        result = playbill("--journal", str(journal), "sim", "--seed", "5", cwd=tmp_path)
        one_line(result, "sim-5", "refusing a second writer")
    finally:
        assert holder.stdin is not None
        assert holder.stdout is not None
        holder.stdin.close()
        holder.wait(SAFETY_TIMEOUT_S)
        holder.stdout.close()


def test_a_full_disk_during_sim_is_one_line(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    result = playbill(
        "--journal", str(journal), "sim", "--seed", "1", cwd=tmp_path, limit_file_bytes=60_000
    )
    one_line(result, "journal store failed")


def test_a_full_disk_during_resume_is_one_line(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    killed = playbill(
        "--journal", str(journal), "sim", "--seed", "1", "--faults", "kill=@40", cwd=tmp_path
    )
    assert killed.returncode != 0
    size = journal.stat().st_size + sum(
        p.stat().st_size for p in tmp_path.glob("j.db-*") if p.is_file()
    )
    result = playbill(
        "--journal", str(journal), "resume", "sim-1", cwd=tmp_path, limit_file_bytes=size + 4096
    )
    one_line(result, "journal store failed")


@pytest.mark.parametrize("at_us", [2**63, 3 * 10**17, -1])
def test_import_refuses_times_no_date_can_show(tmp_path: Path, exported: Path, at_us: int) -> None:
    def change(entry: dict[str, object]) -> None:
        if entry["seq"] == 3:
            entry["at_us"] = at_us

    hostile = _rewrite(exported, tmp_path / "hostile.jsonl", change)
    journal = tmp_path / "j.db"
    result = playbill("--journal", str(journal), "import", str(hostile), cwd=tmp_path)
    one_line(result, "hostile.jsonl:line 3", "out of range", "$.at_us")
    assert not journal.exists()


def test_a_line_nested_50000_deep_is_one_line(tmp_path: Path) -> None:
    hostile = tmp_path / "deep.jsonl"
    hostile.write_text("[" * 50_000 + "\n")
    result = playbill("--journal", str(tmp_path / "j.db"), "import", str(hostile), cwd=tmp_path)
    one_line(result, "deep.jsonl:line 1", "nests more than 64 levels")


def test_a_plan_nested_1000_deep_is_one_line(tmp_path: Path) -> None:
    plan = tmp_path / "deep.toml"
    plan.write_text("a = " + "[" * 1000 + "]" * 1000 + "\n")
    one_line(playbill("validate", str(plan), cwd=tmp_path), "deep.toml", "64 levels deep")
    result = playbill("sim", "--seed", "1", "--plan", str(plan), cwd=tmp_path)
    one_line(result, "deep.toml", "64 levels deep")


def test_a_journal_or_plan_under_a_file_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")
    journal = str(blocker / "j.db")
    one_line(playbill("--journal", journal, "status", "x", cwd=tmp_path), "j.db")
    one_line(playbill("--journal", journal, "sim", "--seed", "1", cwd=tmp_path), "j.db")
    one_line(playbill("validate", str(blocker / "plan.toml"), cwd=tmp_path), "plan.toml")


@pytest.mark.skipif(SETPRIV is None, reason="needs setpriv (util-linux)")
def test_a_journal_or_plan_in_a_directory_one_cannot_enter_is_one_line(
    tmp_path: Path, exported: Path
) -> None:
    assert SETPRIV is not None
    closed = tmp_path / "closed"
    closed.mkdir()
    journal = closed / "j.db"
    assert (
        playbill("--journal", str(journal), "import", str(exported), cwd=tmp_path).returncode == 0
    )
    (closed / "plan.toml").write_text("[run]\n")
    closed.chmod(0)
    try:
        as_user = (SETPRIV, *NO_DAC)
        for args in (
            ("runs",),
            ("status", "sim-1"),
            ("sim", "--seed", "2"),
            ("import", str(exported)),
        ):
            result = playbill("--journal", str(journal), *args, cwd=tmp_path, prefix=as_user)
            one_line(result, "j.db")
        result = playbill("validate", str(closed / "plan.toml"), cwd=tmp_path, prefix=as_user)
        one_line(result, "plan.toml")
    finally:
        closed.chmod(0o755)


BAD_RUN_IDS = ["", "../x", "a\nb", "x" * 10_000, "-x", "a\x1b[31m"]


@pytest.mark.parametrize(
    "run_id", BAD_RUN_IDS, ids=["empty", "dotdot", "newline", "long", "dash", "escape"]
)
def test_every_command_that_takes_a_new_run_id_checks_it_alike(
    tmp_path: Path, exported: Path, run_id: str
) -> None:
    journal = str(tmp_path / "j.db")
    sim = playbill("--journal", journal, "sim", "--seed", "1", "--run-id", run_id, cwd=tmp_path)
    line = one_line(sim, "--run-id", "expected 1 to 64 letters")

    def change(entry: dict[str, object]) -> None:
        entry["run_id"] = run_id

    hostile = _rewrite(exported, tmp_path / "hostile.jsonl", change)
    imported = playbill("--journal", journal, "import", str(hostile), cwd=tmp_path)
    assert line.split("expected", 1)[1] in one_line(imported, "hostile.jsonl:line 1", "$.run_id")
    assert not Path(journal).exists()


def test_integrate_of_an_empty_run_id_is_one_line(tmp_path: Path, exported: Path) -> None:
    journal = str(tmp_path / "j.db")
    assert playbill("--journal", journal, "import", str(exported), cwd=tmp_path).returncode == 0
    one_line(playbill("--journal", journal, "integrate", "", cwd=tmp_path), "unknown run ''")


# ------------------------------------------------------------------ item 8


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_validate_refuses_what_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    target = Path("/dev/zero")  # endless: reading it all would never end
    if kind == "fifo":
        target = tmp_path / "plan.fifo"
        os.mkfifo(target)  # nobody writes it: reading it would block for ever
    one_line(playbill("validate", str(target), cwd=tmp_path), "not a regular file")
    result = playbill("sim", "--seed", "1", "--profile", "/dev/zero", cwd=tmp_path)
    one_line(result, "/dev/zero", "not a regular file")


@pytest.mark.parametrize("speed", ["inf", "nan", "-1"])
def test_sim_refuses_a_speed_that_is_not_finite(tmp_path: Path, speed: str) -> None:
    result = playbill("sim", "--seed", "1", "--speed", speed, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "--speed" in result.stderr
    assert not (tmp_path / ".playbill").exists()


# ------------------------------------------------------------------ item 6


@pytest.fixture
def journal_with_run(tmp_path: Path, exported: Path) -> Path:
    journal = tmp_path / "j.db"
    assert (
        playbill("--journal", str(journal), "import", str(exported), cwd=tmp_path).returncode == 0
    )
    return journal


def test_export_never_replaces_a_device(tmp_path: Path, journal_with_run: Path) -> None:
    before = Path("/dev/full").stat()
    result = playbill(
        "--journal", str(journal_with_run), "export", "sim-1", "-o", "/dev/full", cwd=tmp_path
    )
    one_line(result, "/dev/full", "not a regular file")
    after = Path("/dev/full").stat()
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_export_never_replaces_a_fifo_or_a_directory(
    tmp_path: Path, journal_with_run: Path
) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    result = playbill(
        "--journal", str(journal_with_run), "export", "sim-1", "-o", str(fifo), cwd=tmp_path
    )
    one_line(result, "out.fifo", "not a regular file")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    folder = tmp_path / "out"
    folder.mkdir()
    result = playbill(
        "--journal", str(journal_with_run), "export", "sim-1", "-o", str(folder), cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert folder.is_dir()
    assert list(tmp_path.glob(".out*")) == []  # no temporary file left behind


def test_export_to_dash_writes_stdout(
    tmp_path: Path, journal_with_run: Path, exported: Path
) -> None:
    result = playbill(
        "--journal", str(journal_with_run), "export", "sim-1", "-o", "-", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == exported.read_text()
    assert not (tmp_path / "-").exists()


def test_export_keeps_a_replaced_files_mode_and_gives_a_new_one_the_umask(
    tmp_path: Path, journal_with_run: Path, exported: Path
) -> None:
    old = tmp_path / "old.jsonl"
    old.write_text("old\n")
    old.chmod(0o640)
    args = ("--journal", str(journal_with_run), "export", "sim-1", "-o")
    assert playbill(*args, str(old), cwd=tmp_path).returncode == 0
    assert stat.S_IMODE(old.stat().st_mode) == 0o640
    assert old.read_bytes() == exported.read_bytes()
    new = tmp_path / "new.jsonl"
    umask = os.umask(0o022)
    try:
        assert playbill(*args, str(new), cwd=tmp_path).returncode == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o644


# ------------------------------------------------------------------ item 9


@pytest.mark.skipif(SETPRIV is None, reason="needs setpriv (util-linux)")
def test_read_commands_work_on_a_journal_nobody_can_write(
    tmp_path: Path, journal_with_run: Path, exported: Path
) -> None:
    assert SETPRIV is not None
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    journal = shelf / "j.db"
    shutil.copy(journal_with_run, journal)
    journal.chmod(0o444)
    shelf.chmod(0o555)
    out = tmp_path / "out.jsonl"
    original = journal.read_bytes()
    try:
        as_user = (SETPRIV, *NO_DAC)
        for args in (
            ("runs",),
            ("status", "sim-1"),
            ("events", "sim-1"),
            ("replay", "sim-1", "--check"),
            ("retry-plan", "sim-1"),
            ("export", "sim-1", "-o", str(out)),
        ):
            result = playbill("--journal", str(journal), *args, cwd=tmp_path, prefix=as_user)
            assert result.returncode == 0, (args, result.stderr)
        # The capabilities are really gone: a write is refused.
        touched = subprocess.run(
            [*as_user, "touch", str(shelf / "x")], capture_output=True, check=False
        )
        assert touched.returncode != 0
    finally:
        shelf.chmod(0o755)
    assert out.read_bytes() == exported.read_bytes()
    assert journal.read_bytes() == original
    assert sorted(p.name for p in shelf.iterdir()) == ["j.db"]


def test_a_failed_import_leaves_no_journal_behind(tmp_path: Path, exported: Path) -> None:
    journal = tmp_path / "j.db"
    full = playbill(
        "--journal", str(journal), "import", str(exported), cwd=tmp_path, limit_file_bytes=40_000
    )
    one_line(full, "journal store failed")
    assert list(tmp_path.glob("j.db*")) == []
    again = playbill("--journal", str(journal), "import", str(exported), cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_a_failed_import_into_an_existing_journal_keeps_it(
    tmp_path: Path, journal_with_run: Path, exported: Path
) -> None:
    before = journal_with_run.read_bytes()
    result = playbill("--journal", str(journal_with_run), "import", str(exported), cwd=tmp_path)
    one_line(result, "sim-1")
    assert journal_with_run.read_bytes() == before


HOSTILE_GOAL = "G\x1b]0;pwned\x07\x1b[31mRED\x9b2J\x1b[2K\r"


def test_control_sequences_in_journal_text_are_escaped_everywhere(
    tmp_path: Path, exported: Path
) -> None:
    def change(entry: dict[str, object]) -> None:
        msg = entry["msg"]
        assert isinstance(msg, dict)
        if "goal" in msg:
            msg["goal"] = HOSTILE_GOAL
        if "summary" in msg:
            msg["summary"] = HOSTILE_GOAL
        entry["sender"] = "api\x1b]8;;http://evil\x07" if entry["seq"] == 1 else entry["sender"]

    hostile = _rewrite(exported, tmp_path / "hostile.jsonl", change)
    journal = str(tmp_path / "j.db")
    assert playbill("--journal", journal, "import", str(hostile), cwd=tmp_path).returncode == 0
    for args in (("status", "sim-1"), ("events", "sim-1"), ("runs",), ("replay", "sim-1")):
        result = playbill("--journal", journal, *args, cwd=tmp_path)
        assert result.returncode == 0, (args, result.stderr)
        shown = result.stdout + result.stderr
        for control in ("\x1b", "\x07", "\x9b", "\r"):
            assert control not in shown, (args, control)
    status = playbill("--journal", journal, "status", "sim-1", cwd=tmp_path).stdout
    assert r"G\x1b]0;pwned\x07\x1b[31mRED\x9b2J" in status
    events = playbill("--journal", journal, "events", "sim-1", cwd=tmp_path).stdout
    assert r"api\x1b]8;;http://evil\x07" in events
