"""`pic-store up` as a test starts it: a child process on free ports, its output read line by
line with deadlines, stopped with Ctrl-C."""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from app.embedded import free_port
from shared.config import CellConfig, ImageVerification, VerificationMode
from shared.roster import SERVICES


class Lines:
    """A child's output, line by line, readable with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        stream = proc.stdout
        threading.Thread(
            target=lambda: [self._queue.put(line) for line in stream], daemon=True
        ).start()

    def until(self, pattern: str, within: float) -> re.Match[str]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        pytest.fail(f"no line matching {pattern!r} within {within} s:\n" + "".join(self.seen))


# Outside pytest's folders: each new pytest session (another run beside this one) closes
# /tmp/pytest-of-<user> to 0700 again, and the roles' users could no longer reach a data dir.
UP_FOLDERS = Path("/tmp/pic-store-up")


def reachable(folder: Path) -> Path:
    """`folder`, made as a link to a new folder that other users may enter: run as root, `up`
    starts each service as its role's own user, who must reach the data dir (and `up` finds
    the real path: it resolves its data dir). The real folder goes when the tests end."""
    UP_FOLDERS.mkdir(exist_ok=True)
    UP_FOLDERS.chmod(0o711)
    real = Path(tempfile.mkdtemp(dir=UP_FOLDERS, prefix=f"{folder.name}-"))
    real.chmod(0o755)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.symlink_to(real, target_is_directory=True)
    atexit.register(shutil.rmtree, real, True)
    return folder


def up_cell(data: Path, registry_host: str | None = None, cell: str = "sup") -> dict[str, str]:
    """The environment of an `up` on free ports (and of the CLI beside it), its cell config
    written in `data`: images from `registry_host`, or (None) from the stack's own registry,
    where `--install-example` publishes."""
    if not data.exists():
        reachable(data)
    registry_port = free_port()
    CellConfig.model_validate(
        {
            "cell_name": cell,
            "domain": f"{cell}.test",
            "cell_address": "127.0.0.1",
            "allowed_image_prefix": f"{registry_host or f'127.0.0.1:{registry_port}'}/roof/",
            "allow_local_stores": True,
            "image_verification": ImageVerification(mode=VerificationMode.off),
            "router": {"listen": [f"127.0.0.1:{free_port()}"], "tls": "off"},
            "netpolicy": {"vpn_subnet": "198.18.9.0/24"},  # a benchmarking range: nobody's
        }
    ).write(data)
    env = {
        **os.environ,
        "PIC_ACK_WAIT": "4",
        "PIC_LOCK_LEASE": "3",
        "PIC_HEALTH_TIMEOUT": "20",
        "PIC_MIN_FREE_BYTES": "1",
    }
    for name in SERVICES:
        env[f"PIC_{name.upper()}_HTTP_PORT"] = str(free_port())
    nats_port = free_port()
    return {
        **env,
        "DATA": str(data),
        "NATS_PORT": str(nats_port),
        "REGISTRY_PORT": str(registry_port),
        "DNS_PORT": str(free_port()),
        "PIC_NATS_URL": f"nats://127.0.0.1:{nats_port}",
        # The command line finds the cell's admin identity in the data folder, as a user's
        # `pic-store install` beside a `pic-store up` does.
        "PIC_DATA_DIR": str(data),
        "PIC_CELL": cell,
    }


def up_argv(env: dict[str, str], *extra: str) -> list[str]:
    """`pic-store up` on the stack of `up_cell`."""
    return [
        sys.executable,
        "-m",
        "app.cli.main",
        "up",
        "--data-dir",
        env["DATA"],
        "--cell",
        env["PIC_CELL"],
        "--nats-port",
        env["NATS_PORT"],
        "--registry-port",
        env["REGISTRY_PORT"],
        "--dns-port",
        env["DNS_PORT"],
        *extra,
    ]


def start_up(env: dict[str, str], *extra: str) -> tuple[subprocess.Popen[str], Lines]:
    up = subprocess.Popen(
        up_argv(env, *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, stopped as one below
    )
    return up, Lines(up)


# `up` stops its services and parts within 20 s (app/embedded/stack.py); a margin on top.
STOP_WITHIN = 30


def stop_up(up: subprocess.Popen[str]) -> None:
    """Ctrl-C, as a user stops it; SIGKILL to its whole process group when it does not stop
    in time (its children die with it: they have the parent-death signal)."""
    with contextlib.suppress(ProcessLookupError):
        up.send_signal(signal.SIGINT)
    try:
        up.wait(timeout=STOP_WITHIN)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(up.pid, signal.SIGKILL)
        up.wait(timeout=10)
        pytest.fail(f"pic-store up did not stop within {STOP_WITHIN} s of Ctrl-C")
