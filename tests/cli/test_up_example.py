"""`pic-store up --install-example` (what `make run` runs): Notes, Files, Calendar and Email
installed, the lines it prints to try next work as printed and at once (through Caddy, or
to the mail host with the cell's CA, with the demo peer's credentials), and a second start
reuses what the first made."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.embedded.example import INSTALLED
from tests.parts.host_tables import clear_cell, leftovers
from tests.parts.stack import cleanup_docker
from tests.parts.up import Lines, start_up, stop_up, up_cell

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CELL = "example"


@pytest.fixture
def cell(tmp_path: Path, cell_turn: None) -> Iterator[dict[str, str]]:
    yield up_cell(tmp_path / "cell", cell=CELL)
    asyncio.run(clear_cell(CELL, tmp_path / "cell"))
    cleanup_docker("pic-cell", list(INSTALLED))
    assert leftovers(CELL) == []


def _advice(out: Lines) -> list[str]:
    """The printed "Try it" block, up to its last line."""
    out.until(r"^Try it: ", 600)
    start = len(out.seen) - 1
    out.until(r" routes$", 10)
    return [line.rstrip("\n") for line in out.seen[start:]]


def _bash(exports: list[str], line: str) -> subprocess.CompletedProcess[str]:
    script = "\n".join([*exports, line])
    return subprocess.run(
        ["bash", "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )


def _until_ok(exports: list[str], line: str, within: float = 30) -> str:
    """The peer's accounts are made as the stack starts: a line may need a moment."""
    deadline = time.monotonic() + within
    while True:
        done = _bash(exports, line + " --fail --silent --show-error")
        if done.returncode == 0 or time.monotonic() > deadline:
            assert done.returncode == 0, f"{line}\n{done.stderr}"
            return done.stdout
        time.sleep(1)


def test_the_example_is_installed_and_every_printed_line_works(
    cell: dict[str, str], tmp_path: Path
) -> None:
    started = time.monotonic()
    up, out = start_up(cell, "--install-example")
    try:
        advice = _advice(out)
        first = time.monotonic() - started
        exports = [line.strip() for line in advice if line.strip().startswith("export ")][:1]
        curls = [line.strip() for line in advice if line.strip().startswith("curl ")]
        sends = [line.strip() for line in advice if line.strip().startswith("printf ")]
        assert len(curls) == 5 and len(sends) == 1, advice
        assert not any("password" in line and "$(" not in line for line in advice)
        notes_login, files_put, files_get, calendar, imap = curls
        # Printed once the accounts work: each line works the first time.
        assert '"user":"demo"' in _until_ok(exports, notes_login, within=0)
        _until_ok(exports, files_put, within=0)
        assert _until_ok(exports, files_get, within=0) == (REPO / "README.md").read_text()
        wrong = _bash(exports, re.sub(r'-u "demo:\$\([^)]*\)"', "-u demo:wrong", files_get))
        assert "401" in wrong.stdout, "a wrong password is refused"
        assert "<multistatus" in _until_ok(exports, calendar, within=0)
        # Mail to herself over submission, then read over IMAP: both trust only the cell's CA.
        _until_ok(exports, sends[0], within=0)
        assert "from the cell" in _until_ok(exports, imap, within=20)
        for line in advice:
            command = line.strip()
            if command.split(" ")[0].endswith("/pic-store"):
                if command.endswith(("peers add alice", "backup files")):
                    continue  # they change the cell; the others only look
                assert _bash(exports, command).returncode == 0, command
    finally:
        stop_up(up)

    again = time.monotonic()
    up, out = start_up(cell, "--install-example")
    try:
        out.until(r"published store .* is up to date", 120)
        assert out.until(r"^install notes: (\w+)", 60).group(1) == "noop"
        for service in INSTALLED[1:]:
            assert out.until(rf"^install {service}: (\w+)", 60).group(1) == "noop"
        _advice(out)
        second = time.monotonic() - again
    finally:
        stop_up(up)
    print(f"first start {first:.1f} s, second {second:.1f} s")
    assert second < first
