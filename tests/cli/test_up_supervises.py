"""`pic-store up` heals itself: the installer killed with SIGKILL in the middle of an install
is started again, its recovery finishes the operation, and the CLI gets the result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.installer.helpers import service_id
from tests.parts.docker_engine import docker
from tests.parts.image_set import ImageSet
from tests.parts.stack import cleanup_docker
from tests.parts.store import web_manifest, web_template, write_store
from tests.parts.up import Lines, start_up, stop_up, up_cell

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def cell(tmp_path: Path, registry_host: str, cell_turn: None) -> dict[str, str]:
    return up_cell(tmp_path / "cell", registry_host)


def test_a_killed_installer_is_restarted_and_the_install_finishes(
    cell: dict[str, str], tmp_path: Path, images: ImageSet
) -> None:
    sid = service_id()
    manifest = web_manifest(sid, images.web)
    store = write_store(tmp_path / "store", [(manifest, web_template(manifest))])
    up, up_out = start_up(cell)
    try:
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
        stop_up(up)
        cleanup_docker("pic-cell", [sid])
