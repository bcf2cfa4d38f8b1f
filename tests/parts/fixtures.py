"""Fixtures that start the real parts: NATS (JetStream), the Docker engine, a registry.

Each part is started once per test session on loopback, in a temporary folder, through the
same code that `pic-store up` uses (app.embedded).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
import structlog
from nats.aio.client import Client as NATS

from app.embedded import ManagedProcess, start_nats, start_registry
from app.embedded.bus_identity import BusAuthority
from shared.bus.auth import new_seed, public_key
from tests.parts.docker_engine import engine_answers
from tests.parts.images import forget_registry_images


@pytest.fixture(autouse=True)
def default_logging() -> None:
    """Each test starts with structlog's defaults: a command run in-process configures it for
    errors only, which would hide later tests' warnings from `capture_logs`."""
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def bus_authority(tmp_path_factory: pytest.TempPathFactory) -> BusAuthority:
    """The session server's identities. Besides each test cell's roles, the suite has one
    identity of its own, unrestricted, for the tests of the bus layer itself (streams and
    buckets of their own names); authentication is on for everyone."""
    authority = BusAuthority(tmp_path_factory.mktemp("bus-secrets"))
    seed = new_seed()
    suite = authority.secrets_dir / "suite.nk"
    suite.write_bytes(seed)
    suite.chmod(0o600)
    authority.extra_users = [{"nkey": public_key(seed)}]
    return authority


@pytest.fixture(scope="session")
def suite_seed(bus_authority: BusAuthority) -> Path:
    return bus_authority.secrets_dir / "suite.nk"


@pytest.fixture(scope="session")
def nats_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nats")


@pytest.fixture(scope="session")
def nats_store_dir(nats_dir: Path) -> Path:
    """Where the session's nats-server keeps its JetStream streams and buckets on disk."""
    return nats_dir / "jetstream"


@pytest.fixture(scope="session")
def nats_server(nats_dir: Path, bus_authority: BusAuthority) -> Iterator[ManagedProcess]:
    server = start_nats(nats_dir, bus_authority)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nats_url(nats_server: ManagedProcess) -> str:
    return f"nats://127.0.0.1:{nats_server.port}"


@pytest.fixture
async def nc(nats_url: str, suite_seed: Path) -> AsyncIterator[NATS]:
    client = await nats.connect(nats_url, nkeys_seed=str(suite_seed))
    yield client
    await client.drain()


@pytest.fixture(scope="session")
def docker_engine() -> None:
    if not engine_answers():
        pytest.fail("no Docker engine answers: run `make setup` (or .ci/run) to start dockerd")


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
