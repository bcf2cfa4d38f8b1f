"""docs/store-author.md, run as written: every file it shows is written, every command run
in one shell in an empty folder, each exit code and shown output checked. The registry is
the session's loopback one, the base image the busybox one `pic-store up` makes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.embedded.base_image import build_base
from tests.docs.guide import read_steps
from tests.docs.shell import Shell, run_steps
from tests.parts.docker_engine import docker

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "store-author.md"
PROJECT = "hello-try"  # the Compose project the guide runs
NETWORK = "pic-cell"


def guide_env(root: Path, **values: str) -> dict[str, str]:
    """A reader's environment: the venv's `pic-store` first, none of the suite's PIC_*."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIC_", "COSIGN_")) and k != "VIRTUAL_ENV"
    }
    venv_bin = Path(__file__).resolve().parents[2] / ".venv" / "bin"
    env["PATH"] = f"{venv_bin}:{env.get('PATH', '/usr/bin:/bin')}"
    env["HOME"] = str(root)
    return {**env, **values}


@pytest.fixture
def author_folder(tmp_path: Path, cell_turn: None) -> Iterator[Path]:
    """An empty folder, and the cell network free for the guide to make (and remove)."""
    if docker("network", "ls", "-q", "--filter", f"name=^{NETWORK}$"):
        pytest.fail(f"a network {NETWORK} exists already; the guide makes its own")
    build_base()
    root = tmp_path / "author"
    root.mkdir()
    yield root
    # Only after a failure is anything left: the guide's own last commands remove it all.
    compose = root / "my-store" / "hello-compose.yml"
    if compose.exists():
        docker("compose", "-f", str(compose), "-p", PROJECT, "down", "--volumes", check=False)
    docker("network", "rm", NETWORK, check=False)


def test_the_store_authors_guide_runs_as_written(author_folder: Path, registry_host: str) -> None:
    steps = [s for s in read_steps(GUIDE) if s.setting == "author"]
    values = {"REGISTRY": registry_host}
    shell = Shell(author_folder, guide_env(author_folder, **values))
    try:
        ran = run_steps(steps, shell, author_folder, values, GUIDE.name)
    finally:
        shell.close()
    assert ran >= 20, f"only {ran} commands ran: are the blocks still marked?"
    manifest = (author_folder / "my-store" / "services" / "hello" / "manifest.json").read_text()
    assert f'"image": "{registry_host}/roof/hello@sha256:' in manifest
    assert not docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}")
    assert not docker("network", "ls", "-q", "--filter", f"name=^{NETWORK}$")
