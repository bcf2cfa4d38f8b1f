"""`pic-store up` heals itself: the installer killed with SIGKILL in the middle of an install
is started again, its recovery finishes the operation, and the CLI gets the result."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.embedded import free_port
from shared.config import CellConfig, ImageVerification, VerificationMode
from tests.installer.helpers import service_id
from tests.parts.docker_engine import docker
from tests.parts.image_set import ImageSet
from tests.parts.stack import cleanup_docker
from tests.parts.store import web_manifest, web_template, write_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]


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


@pytest.fixture
def cell(tmp_path: Path, registry_host: str, docker_engine: None) -> dict[str, str]:
    data = tmp_path / "cell"
    CellConfig(
        cell_name="sup",
        domain="sup.test",
        cell_address="127.0.0.1",
        allowed_image_prefix=f"{registry_host}/roof/",
        allow_local_stores=True,
        image_verification=ImageVerification(mode=VerificationMode.off),
        router={"listen": [f"127.0.0.1:{free_port()}"], "tls": "off"},
    ).write(data)
    env = {
        **os.environ,
        "PIC_ACK_WAIT": "4",
        "PIC_LOCK_LEASE": "3",
        "PIC_HEALTH_TIMEOUT": "20",
        "PIC_MIN_FREE_BYTES": "1",
    }
    for name in ("installer", "verifier", "router", "netpolicy", "accounts", "backup"):
        env[f"PIC_{name.upper()}_HTTP_PORT"] = str(free_port())
    nats_port = free_port()
    return {
        **env,
        "DATA": str(data),
        "NATS_PORT": str(nats_port),
        "REGISTRY_PORT": str(free_port()),
        "DNS_PORT": str(free_port()),
        "PIC_NATS_URL": f"nats://127.0.0.1:{nats_port}",
        # The command line finds the cell's admin identity in the data folder, as a user's
        # `pic-store install` beside a `pic-store up` does.
        "PIC_DATA_DIR": str(data),
        "PIC_CELL": "sup",
    }


def test_a_killed_installer_is_restarted_and_the_install_finishes(
    cell: dict[str, str], tmp_path: Path, images: ImageSet
) -> None:
    sid = service_id()
    manifest = web_manifest(sid, images.web)
    store = write_store(tmp_path / "store", [(manifest, web_template(manifest))])
    up = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli.main",
            "up",
            "--data-dir",
            cell["DATA"],
            "--cell",
            "sup",
            "--nats-port",
            cell["NATS_PORT"],
            "--registry-port",
            cell["REGISTRY_PORT"],
            "--dns-port",
            cell["DNS_PORT"],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cell,
    )
    try:
        up_out = Lines(up)
        installer_pid = int(up_out.until(r"installer\s+\S+\s+pid (\d+)", 90).group(1))
        up_out.until("pic-store is up", 90)
        cli = subprocess.Popen(
            [sys.executable, "-m", "app.cli.main", "install", sid, "--store", str(store)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=cell,
        )
        cli_out = Lines(cli)
        cli_out.until(r"allocate_ip", 60)  # the install is under way: kill its installer
        os.kill(installer_pid, signal.SIGKILL)
        up_out.until(r"installer exited \(code -9\)", 10)
        up_out.until(r"installer is running again", 30)
        cli_out.until(rf"install {sid}: succeeded", 120)
        assert cli.wait(timeout=10) == 0, "".join(cli_out.seen)
        assert docker("inspect", "-f", "{{.State.Running}}", f"cell-{sid}") == "true"
        removed = subprocess.run(
            [sys.executable, "-m", "app.cli.main", "remove", sid, "--purge"],
            capture_output=True,
            text=True,
            env=cell,
            timeout=120,
            check=False,
        )
        assert removed.returncode == 0, removed.stdout + removed.stderr
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            up.kill()
        cleanup_docker("pic-cell", [sid])
