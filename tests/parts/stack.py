"""pic-store services started as real processes against the session's NATS, Docker and
registry (a pytest plugin, loaded by the root conftest.py).

Each stack gets its own cell token (so its subjects, and nothing else, are its own), its own
data dir and Docker network; everything it created is removed afterwards, even on failure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.embedded import ManagedProcess, free_port
from app.embedded.api_token import ensure_api_token
from app.embedded.bus_identity import BusAuthority
from app.embedded.wiring import service_process
from shared.bus import Bus
from shared.client import StoreClient
from shared.config import CellConfig, ImageVerification, VerificationMode
from shared.errors import PartUnavailableError
from shared.events.layout import CELL_LAYOUT
from tests.parts.docker_engine import docker
from tests.parts.image_set import ImageSet, build_test_images

CELL_TURN = Path("/tmp/pic-store-test-cell.lock")


@pytest.fixture(scope="session")
def images(docker_engine: None, registry_host: str) -> ImageSet:
    return build_test_images(registry_host)


@dataclass
class Stack:
    cell: str
    data_dir: Path
    nats_url: str
    network: str
    env: dict[str, str]
    authority: BusAuthority
    processes: list[ManagedProcess] = field(default_factory=list)

    def seed(self, role: str) -> Path:
        return self.authority.seed(self.cell, role)

    async def bus(self, role: str = "admin", name: str = "test") -> Bus:
        """A connection with the identity of one of the cell's roles."""
        return await Bus.connect(
            self.nats_url,
            self.cell,
            name=f"{name}-{role}",
            seed=self.seed(role),
            role=role,
            layout=CELL_LAYOUT,
        )

    def start(self, service: str, **env: str) -> ManagedProcess:
        """Start `python -m services.<service>` as `pic-store up` does (app.embedded.wiring);
        returns once its HTTP port answers."""
        name = f"{service}-{len(self.processes)}"
        proc = service_process(
            service,
            free_port(),
            self.data_dir / f"{name}.log",
            {**self.env, **env},
            self.seed,
            process_name=name,
        )
        proc.start(timeout=30)
        self.processes.append(proc)
        return proc

    def start_installer(self) -> ManagedProcess:
        return self.start("installer")

    def running(self, service: str) -> ManagedProcess:
        return next(
            p for p in reversed(self.processes) if p.running() and p.name.startswith(service + "-")
        )

    @property
    def installer(self) -> ManagedProcess:
        return self.running("installer")

    def log(self) -> str:
        return "\n".join(
            p.log_path.read_text()[-4000:] for p in self.processes if p.log_path.exists()
        )


def cleanup_docker(cell_network: str, service_ids: list[str]) -> None:
    for sid in service_ids:
        ids = docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={sid}")
        if ids:
            docker("rm", "-f", *ids.split(), check=False)
        vols = docker("volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={sid}")
        if vols:
            docker("volume", "rm", "-f", *vols.split(), check=False)
        # Each service's private network (`<id>_default`): left behind, they would use up
        # Docker's address pools and could take the cell subnet while no cell network exists.
        nets = docker("network", "ls", "-q", "--filter", f"label=com.docker.compose.project={sid}")
        if nets:
            docker("network", "rm", *nets.split(), check=False)
    docker("network", "rm", cell_network, check=False)


def register_cell(
    authority: BusAuthority, server: ManagedProcess, nats_url: str, cell: str
) -> None:
    """Give the cell its identities on the session's server, and set its streams and buckets
    up as its installer, the one role that makes them (the services of a cell wait for them)."""
    authority.add_cell(cell)
    authority.reload(server.pid)

    async def set_up() -> None:
        deadline = time.monotonic() + 10
        while True:  # until the server has read its new configuration
            try:
                bus = await Bus.connect(
                    nats_url,
                    cell,
                    name="set-up",
                    seed=authority.seed(cell, "installer"),
                    role="installer",
                    timeout=1.0,
                    reconnect_attempts=0,
                    layout=CELL_LAYOUT,
                )
                break
            except PartUnavailableError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        await bus.close()

    # The tests' own event loop is running: set up in a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, set_up()).result()


@pytest.fixture
def cell_turn(docker_engine: None) -> Iterator[None]:
    """The cell subnet (172.20.0.0/16) for this test alone. Every test cell uses it: two test
    runs on one engine (a developer's and CI's, say) take turns per test instead of failing
    on each other's network."""
    with CELL_TURN.open("a+") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)
        overlapping = docker("network", "ls", "-q", "--filter", "label=ngo.pic.store.network=cell")
        if overlapping:
            pytest.fail(
                "a cell network (172.20.0.0/16) from another pic-store (`make run`?) "
                "exists, and the test cells need that subnet: remove its services and "
                "the network (`docker network ls --filter label=ngo.pic.store.network`)"
            )
        yield  # the lock goes with the file


@pytest.fixture
def stack_factory(
    nats_url: str,
    nats_server: ManagedProcess,
    bus_authority: BusAuthority,
    registry_host: str,
    tmp_path: Path,
    cell_turn: None,
) -> Iterator[callable]:  # type: ignore[valid-type]
    made: list[Stack] = []
    used_ids: list[str] = []

    def make(
        mode: VerificationMode = VerificationMode.off,
        cell_config: dict[str, Any] | None = None,
        **env: str,
    ) -> Stack:
        """A new cell; `cell_config` overrides fields of its cell_config.json."""
        cell = f"t{uuid.uuid4().hex[:10]}"
        data_dir = tmp_path / cell
        config = CellConfig(
            cell_name=cell,
            domain=f"{cell}.test",
            cell_address="127.0.0.1",
            allowed_image_prefix=f"{registry_host}/roof/",
            allow_local_stores=True,  # the tests install from folders
            image_verification=ImageVerification(mode=mode),
        )
        CellConfig.model_validate({**config.model_dump(), **(cell_config or {})}).write(data_dir)
        network = f"pic-{cell}"
        base = {
            "PATH": os.environ["PATH"],
            "PIC_NATS_URL": nats_url,
            "PIC_CELL": cell,
            "PIC_DATA_DIR": str(data_dir),
            "PIC_NETWORK": network,
            "PIC_HEALTH_TIMEOUT": "20",
            "PIC_STEP_TIMEOUT": "5",
            "PIC_LOCK_LEASE": "3",
            "PIC_ACK_WAIT": "4",
            "PIC_MIN_FREE_BYTES": "1",
            "PIC_LOG_LEVEL": "INFO",
            "PIC_API_TOKEN_FILE": str(ensure_api_token(data_dir)),
        }
        register_cell(bus_authority, nats_server, nats_url, cell)
        stack = Stack(cell, data_dir, nats_url, network, {**base, **env}, bus_authority)
        made.append(stack)
        return stack

    make.used_ids = used_ids  # type: ignore[attr-defined]
    yield make
    for stack in made:
        for proc in stack.processes:
            proc.stop()
    ids = set(used_ids)
    for stack in made:
        services_dir = stack.data_dir / "services"
        if services_dir.exists():
            ids.update(p.name for p in services_dir.iterdir())
    for stack in made:
        cleanup_docker(stack.network, sorted(ids))


@pytest.fixture
async def stack(stack_factory) -> Stack:  # type: ignore[no-untyped-def]
    s = stack_factory()
    s.start_installer()
    return s


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[StoreClient]:
    bus = await stack.bus("admin", name="test-client")
    yield StoreClient(bus)
    await bus.close()
