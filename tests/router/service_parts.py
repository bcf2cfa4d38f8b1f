"""The router service in a real cell: installer and router processes, real Caddy, a real DNS
server (dnsmasq or BIND), real Docker. Every process and container is cleaned up by the
fixtures it comes from (stack_factory, caddy, dnsmasq, named), even when a test fails."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.router.dns import HostsDirBackend
from shared.bus import Bus
from shared.client import StoreClient
from shared.contract.presence import ask_step
from shared.events import StepRequest, new_operation_id
from shared.events.messages import StepResultPayload
from shared.routes_client import routes_report
from tests.parts.stack import Stack
from tests.router.conftest import CaddyRunner, DnsServer, loopback_client
from tests.router.dns_parts import CELL_ADDRESS, ZONE

Connect = Callable[["Cell"], Awaitable[StoreClient]]
ROUTER_ENV = {"PIC_ROUTER_PROBE_PERIOD": "0.2", "PIC_ROUTER_RECONCILE_PERIOD": "1"}


def router_config(
    caddy: CaddyRunner, http_port: int, dns: DnsServer, key_file: Path | None = None
) -> dict[str, Any]:
    """The `router` block of cell_config.json: plain HTTP on a loopback port, `ip` mode."""
    config: dict[str, Any] = {
        "caddy_admin_url": caddy.admin_url,
        "tls": "off",
        "listen": [f"127.0.0.1:{http_port}"],
        "upstream_mode": "ip",
    }
    if dns.kind == "hostsdir":
        config["dns"] = {
            "backend": "hostsdir",
            "hostsdir": str(hosts_dir(dns)),
            "server": "127.0.0.1",
            "port": dns.port,
        }
    else:
        config["dns"] = {
            "backend": "rfc2136",
            "server": "127.0.0.1",
            "port": dns.port,
            "zone": ZONE,
            "tsig_key_file": str(key_file),
        }
    return config


def hosts_dir(dns: DnsServer) -> Path:
    assert isinstance(dns.backend, HostsDirBackend)
    return dns.backend.directory


@dataclass
class Cell:
    stack: Stack
    caddy: CaddyRunner
    dns: DnsServer
    http_port: int

    @property
    def router_url(self) -> str:
        return f"http://127.0.0.1:{self.stack.running('router').port}"

    async def through_caddy(self, host: str) -> httpx.Response:
        async with loopback_client() as client:
            return await client.get(f"http://127.0.0.1:{self.http_port}/", headers={"Host": host})

    async def router(self, path: str) -> httpx.Response:
        """The router's HTTP API: /healthz and /metrics only."""
        async with loopback_client() as client:
            return await client.get(f"{self.router_url}{path}")

    async def routes(self) -> dict[str, Any]:
        """The routes report, asked over the bus as the admin (the CLI and the gateway)."""
        bus = await self.stack.bus("admin", name="routes-report")
        try:
            return (await routes_report(bus, timeout=15.0)).model_dump(mode="json")
        finally:
            await bus.close()

    def cli_bus(self) -> list[str]:
        """The options that point `pic-store` at this cell's bus, as its admin."""
        stack = self.stack
        return [
            "--nats",
            stack.nats_url,
            "--cell",
            stack.cell,
            "--nats-seed",
            str(stack.seed("admin")),
        ]

    async def caddy_routes(self, server: str = "pic_store") -> list[dict[str, Any]]:
        async with self.caddy.raw_client() as client:
            resp = await client.get(f"/config/apps/http/servers/{server}/routes")
        return (resp.json() or []) if resp.status_code == 200 else []

    async def route_ids(self) -> list[str]:
        return [str(r.get("@id")) for r in await self.caddy_routes()]


def start_cell(
    stack_factory: Callable[..., Stack],
    caddy: CaddyRunner,
    dns: DnsServer,
    http_port: int,
    key_file: Path | None = None,
    installer: bool = True,
    **router: Any,
) -> Cell:
    """A cell whose router uses this Caddy and DNS server; `router` overrides config fields."""
    config = {**router_config(caddy, http_port, dns, key_file), **router}
    stack = stack_factory(
        cell_config={"domain": ZONE, "cell_address": CELL_ADDRESS, "router": config}
    )
    if installer:
        stack.start("installer")
    # Without an installer no service is ever installed: a reconcile would remove the routes
    # the tests ask for directly, so it runs only at start-up and when Caddy lost our config.
    env = ROUTER_ENV if installer else {**ROUTER_ENV, "PIC_ROUTER_RECONCILE_PERIOD": "600"}
    stack.start("router", **env)
    return Cell(stack, caddy, dns, http_port)


@pytest.fixture
async def cell_client() -> AsyncIterator[Connect]:
    """A StoreClient on a cell's bus, closed at teardown."""
    buses: list[Bus] = []

    async def connect(cell: Cell) -> StoreClient:
        bus = await cell.stack.bus("admin", name="router-tests")
        buses.append(bus)
        return StoreClient(bus)

    yield connect
    for bus in buses:
        await bus.close()


async def ask_router(
    bus: Bus,
    service_id: str,
    action: str,
    manifest: dict[str, Any],
    service_ip: str | None = "172.20.0.20",
    addresses: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> StepResultPayload:
    """A routes StepRequest sent straight to the router, as the installer's saga sends it;
    `addresses` only when given, as from an installer that does not report them."""
    payload: dict[str, Any] = {
        "step": "routes",
        "action": action,
        "manifest": manifest,
        "service_ip": service_ip,
        "domain": ZONE,
    }
    if addresses is not None:
        payload["addresses"] = addresses
    request = StepRequest(operation_id=new_operation_id(), service_id=service_id, payload=payload)
    return await ask_step(bus, request, timeout)
