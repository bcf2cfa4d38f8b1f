"""Fixtures that start the real parts: NATS (JetStream), the Docker engine, a registry.

Each part is started once per test session on loopback, in a temporary folder, through the
same code that `pic-store up` uses (app.embedded).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS

from app.embedded import ManagedProcess, start_nats, start_registry
from tests.parts.docker_engine import engine_answers
from tests.parts.images import forget_registry_images


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    server = start_nats(tmp_path_factory.mktemp("nats"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nats_url(nats_server: ManagedProcess) -> str:
    return f"nats://127.0.0.1:{nats_server.port}"


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NATS]:
    client = await nats.connect(nats_url)
    yield client
    await client.drain()


@pytest.fixture(scope="session")
def docker_engine() -> None:
    if not engine_answers():
        pytest.fail("no Docker engine answers: run `make engine` (or .ci/run) to start dockerd")


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    server = start_registry(tmp_path_factory.mktemp("registry"))
    yield server
    server.stop()
    if engine_answers():
        forget_registry_images(f"127.0.0.1:{server.port}")


@pytest.fixture(scope="session")
def registry_host(registry: ManagedProcess) -> str:
    """host:port of the loopback registry; Docker trusts 127.0.0.0/8 over plain HTTP."""
    return f"127.0.0.1:{registry.port}"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
