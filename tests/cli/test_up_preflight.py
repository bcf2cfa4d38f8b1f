"""`pic-store up` checks what it needs before starting anything, and says in one line per
problem what is missing and how to fix it."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from app.embedded import free_port
from tests.parts.up import up_argv, up_cell

pytestmark = pytest.mark.integration


def _up(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        up_argv(env), capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_a_taken_port_is_named_with_its_fix_and_nothing_starts(tmp_path: Path) -> None:
    env = up_cell(tmp_path / "cell", "127.0.0.1:5000")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(env["NATS_PORT"])))
        squatter.listen()
        done = _up(env)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"pic-store up: port {env['NATS_PORT']} (nats) is taken by another program: "
        "stop it, or start with --nats-port N"
    ]
    assert not (tmp_path / "cell" / "logs").exists(), "nothing was started"
    assert not (tmp_path / "cell" / "nats").exists()


def test_no_docker_engine_is_one_line_before_anything(tmp_path: Path) -> None:
    env = up_cell(tmp_path / "cell", "127.0.0.1:5000")
    env["DOCKER_HOST"] = f"unix://{tmp_path}/no-docker.sock"
    taken = free_port()
    env["PIC_INSTALLER_HTTP_PORT"] = str(taken)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        done = _up(env)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"pic-store up: no Docker engine answers on unix://{tmp_path}/no-docker.sock: "
        "start it with `make setup` (or `dockerd &`)",
        f"pic-store up: port {taken} (installer) is taken by another program: stop it, or "
        "set PIC_INSTALLER_HTTP_PORT",
    ]
