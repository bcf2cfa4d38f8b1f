"""docs/operator.md, run as written: its `cell` commands against a cell started as `make run`
starts it (`pic-store up --install-example`, its default ports, its data folder `var/pic`
under the folder the commands run in), its `repo` commands in the repository folder."""

from __future__ import annotations

import argparse
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli.commands.up import _first_config
from app.embedded.example import INSTALLED
from app.embedded.stack import EmbeddedStack
from shared.config import CellConfig
from tests.docs.guide import read_steps
from tests.docs.shell import Shell, run_steps
from tests.docs.test_store_author_guide import guide_env
from tests.parts.docker_engine import docker
from tests.parts.stack import cleanup_docker
from tests.parts.up import Lines, reachable

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "operator.md"
EXAMPLE_REGISTRY = "127.0.0.1:5050"  # `pic-store up`'s own registry


def steps_of(setting: str) -> list:  # type: ignore[type-arg]
    return [s for s in read_steps(GUIDE) if s.setting == setting]


def registry_refs() -> set[str]:
    listed = docker("images", "--format", "{{.Repository}}:{{.Tag}}")
    return {ref for ref in listed.splitlines() if ref.startswith(EXAMPLE_REGISTRY + "/")}


def write_first_config(data: Path) -> None:
    """`up`'s own first config, with the VPN subnet a cell needs for its firewall rules."""
    stack = EmbeddedStack(data)
    _first_config(argparse.Namespace(data_dir=data, cell="cell", domain="cell.pic.test"), stack)
    config = CellConfig.load(data)
    netpolicy = config.netpolicy.model_copy(update={"vpn_subnet": "10.8.0.0/24"})
    config.model_copy(update={"netpolicy": netpolicy}).write(data)


@pytest.fixture
def running_cell(tmp_path: Path, cell_turn: None) -> Iterator[Path]:
    """A folder whose var/pic is the data folder of a running `pic-store up --install-example`.
    Its netpolicy works in a network namespace made here, never in the host's tables."""
    root = reachable(tmp_path / "operator")  # the roles' users enter the data folder
    data = root / "var" / "pic"
    write_first_config(data)
    netns = f"pic-docs-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    before = registry_refs()
    env = guide_env(
        root, PIC_NETPOLICY_NETNS=netns, PIC_MIN_FREE_BYTES="1", PIC_HEALTH_TIMEOUT="20"
    )
    up = subprocess.Popen(
        ["pic-store", "up", "--install-example"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        Lines(up).until(r"Ctrl-C stops the stack|^install \w+: failed|^pic-store: ", 300)
        if up.poll() is not None:
            pytest.fail(f"pic-store up ended with {up.returncode}; see {data / 'logs'}")
        yield root
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()
        cleanup_docker("pic-cell", list(INSTALLED))
        subprocess.run(["ip", "netns", "del", netns], check=False)
        made = sorted(registry_refs() - before)
        if made:
            docker("rmi", *made, check=False)


def test_the_repository_commands_run_as_written() -> None:
    shell = Shell(REPO, guide_env(REPO))
    try:
        ran = run_steps(steps_of("repo"), shell, REPO, {}, GUIDE.name)
    finally:
        shell.close()
    assert ran >= 2


def test_the_cell_commands_run_as_written(running_cell: Path) -> None:
    shell = Shell(running_cell, guide_env(running_cell))
    try:
        ran = run_steps(steps_of("cell"), shell, running_cell, {}, GUIDE.name)
    finally:
        shell.close()
    assert ran >= 20, f"only {ran} commands ran: are the blocks still marked?"
