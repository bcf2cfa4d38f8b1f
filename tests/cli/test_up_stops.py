"""`pic-store up`'s children never outlive it (issue #20, "a stack that outlives its up"):
killed with SIGKILL, which it cannot catch, every part and service it started is gone within
seconds. (Its stop on Ctrl-C within a bound is what `stop_up` checks for every `up` test.)"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from tests.parts.up import start_up, stop_up, up_cell

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GONE_WITHIN = 5.0


def alive(pid: int) -> bool:
    """Running (a zombie, dead and waiting for its new parent to reap it, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_a_killed_up_takes_every_child_with_it(
    tmp_path: Path, registry_host: str, cell_turn: None
) -> None:
    cell = up_cell(tmp_path / "cell", registry_host, cell="orphans")
    up, out = start_up(cell)
    children: dict[str, int] = {}
    try:
        out.until("pic-store is up", 120)
        children = {
            found.group(1): int(found.group(2))
            for line in out.seen
            if (found := re.match(r"^  (\S+)\s+.*\spid (\d+) ", line))
        }
        assert {"nats-server", "caddy", "installer", "router"} <= set(children), out.seen
        assert all(alive(pid) for pid in children.values())
        os.kill(up.pid, signal.SIGKILL)  # up alone: not its process group
        up.wait(timeout=10)
        deadline = time.monotonic() + GONE_WITHIN
        while time.monotonic() < deadline and any(alive(p) for p in children.values()):
            time.sleep(0.1)
        left = {name: pid for name, pid in children.items() if alive(pid)}
        assert left == {}, f"still running {GONE_WITHIN} s after up was killed"
    finally:
        if up.poll() is None:
            stop_up(up)
        for pid in children.values():
            if alive(pid):  # no orphan for the next tests, even when this one failed
                os.kill(pid, signal.SIGKILL)
