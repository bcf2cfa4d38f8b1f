"""The gateway under test: its real app (services/gateway/app.py) behind the real token and
Host check, served by uvicorn on a loopback port in the test's own process, on the bus as
the cell's `gateway` role (real NATS, from tests/parts).

    gateway         on a cell of its own, no other service running (cheap: no Docker, no
                    turn on the cell subnet): what the gateway alone answers, the events
    stack_gateway   on the `stack` fixture's cell, whose installer runs (installs, logs)
    serve_gateway   the same for any Stack: `async with serve_gateway(stack) as gw:`
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from app.embedded import ManagedProcess, free_port
from app.embedded.api_token import ensure_api_token
from app.embedded.bus_identity import BusAuthority
from services.gateway.app import build_app
from services.gateway.deps import Deps
from services.gateway.journal import Journal, follow_events
from services.gateway.settings import GatewaySettings
from shared.client import StoreClient
from shared.config import CellConfig
from shared.http_guard import HttpGuard, loopback_hosts
from shared.service import Health
from tests.parts.stack import Stack, register_cell


@dataclass
class Gateway:
    """A running gateway: `http` carries the token; `anonymous` does not."""

    http: httpx.AsyncClient
    anonymous: httpx.AsyncClient
    base_url: str
    token: str
    deps: Deps
    stack: Stack

    @property
    def journal(self) -> Journal:
        return self.deps.journal


@asynccontextmanager
async def serve_gateway(stack: Stack, journal_size: int = 2000) -> AsyncIterator[Gateway]:
    token_file = Path(stack.env.get("PIC_API_TOKEN_FILE") or ensure_api_token(stack.data_dir))
    port = free_port()
    bus = await stack.bus("gateway", name="test-gateway")
    stop = asyncio.Event()
    deps = Deps(
        bus=bus,
        client=StoreClient(bus),
        data_dir=stack.data_dir,
        settings=GatewaySettings(data_dir=stack.data_dir, http_port=port),
        stop=stop,
        journal=Journal(journal_size),
    )
    feeds = follow_events(bus, deps.journal, stop)
    health = Health(ready=True)
    app = build_app(deps, health)
    guard = HttpGuard.load(token_file, loopback_hosts(port))
    guard.protect(app)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # raises what stopped it
        await asyncio.sleep(0.01)
    base_url = f"http://127.0.0.1:{port}"
    token = guard.token.decode()
    try:
        async with (
            httpx.AsyncClient(
                base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
            ) as http,
            httpx.AsyncClient(base_url=base_url, timeout=60) as anonymous,
        ):
            yield Gateway(http, anonymous, base_url, token, deps, stack)
    finally:
        stop.set()
        server.should_exit = True
        for feed in feeds:
            feed.cancel()  # not the second a fetch may wait
        await asyncio.gather(*feeds, return_exceptions=True)
        await serving
        await bus.close()


@pytest.fixture
def gateway_cell(
    nats_url: str,
    nats_server: ManagedProcess,
    bus_authority: BusAuthority,
    tmp_path: Path,
) -> Stack:
    """A cell with its identities, streams and buckets, and no service running."""
    cell = f"t{uuid.uuid4().hex[:10]}"
    data_dir = tmp_path / cell
    CellConfig(cell_name=cell, domain=f"{cell}.test").write(data_dir)
    register_cell(bus_authority, nats_server, nats_url, cell)
    env = {"PIC_API_TOKEN_FILE": str(ensure_api_token(data_dir))}
    return Stack(cell, data_dir, nats_url, "", env, bus_authority)


@pytest.fixture
async def gateway(gateway_cell: Stack) -> AsyncIterator[Gateway]:
    async with serve_gateway(gateway_cell) as served:
        yield served


@pytest.fixture
async def stack_gateway(stack: Stack) -> AsyncIterator[Gateway]:
    async with serve_gateway(stack) as served:
        yield served
