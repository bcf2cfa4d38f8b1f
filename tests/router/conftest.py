"""Real parts for the router's tests: Caddy, dnsmasq and BIND, on 127.0.0.1 in a tmp dir.

Every process started here is stopped at teardown, whatever the test did, including the
Caddy instances a test restarts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx
import pytest

from app.embedded import ManagedProcess, free_port, start_caddy
from app.embedded.parts import caddy_admin_socket, caddy_admin_url, start_dnsmasq
from services.router.caddy import CaddyAdmin
from services.router.dns import HostsDirBackend, Rfc2136Backend
from tests.router.dns_parts import ZONE, named_config, sbin, tsig_key, wait_for_zone

# --- Caddy -------------------------------------------------------------------------------


class RetryUnanswered(httpx.AsyncHTTPTransport):
    """Caddy replaces its admin and HTTP servers on every config change; a connection the
    old server accepts as it closes dies unanswered. Send such a request again."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for attempt in range(3):
            try:
                return await super().handle_async_request(request)
            except (httpx.ReadError, httpx.RemoteProtocolError):
                if attempt == 2:
                    raise
                await asyncio.sleep(0.05)
        raise AssertionError("unreachable")


def loopback_client(uds: Path | None = None, **kwargs: object) -> httpx.AsyncClient:
    """No kept-alive connections, no proxy from the environment, retried when unanswered;
    through the Unix socket `uds` when given."""
    transport = RetryUnanswered(
        uds=str(uds) if uds else None, limits=httpx.Limits(max_keepalive_connections=0)
    )
    return httpx.AsyncClient(transport=transport, trust_env=False, timeout=5, **kwargs)  # type: ignore[arg-type]


@dataclass
class CaddyRunner:
    """Starts Caddy (admin API only, on its Unix socket, as `pic-store up` does) and can kill
    it and start it again, empty, on the same socket."""

    data_dir: Path
    started: list[ManagedProcess] = field(default_factory=list)

    @property
    def current(self) -> ManagedProcess:
        return self.started[-1]

    @property
    def admin_socket(self) -> Path:
        return caddy_admin_socket(self.data_dir)

    @property
    def admin_url(self) -> str:
        return caddy_admin_url(self.data_dir)

    def start(self) -> ManagedProcess:
        self.started.append(start_caddy(self.data_dir))
        return self.current

    def restart_empty(self) -> ManagedProcess:
        """SIGKILL, as a crash; the new process reads the admin-only config file again."""
        self.current.kill()
        return self.start()

    def raw_client(self) -> httpx.AsyncClient:
        """A plain client of the admin API, for the tests' own pokes at Caddy's config."""
        return loopback_client(self.admin_socket, base_url="http://localhost")

    def stop_all(self) -> None:
        for proc in self.started:
            proc.stop()


@pytest.fixture
def caddy(tmp_path: Path) -> Iterator[CaddyRunner]:
    runner = CaddyRunner(tmp_path / "caddy")
    try:
        runner.start()
        yield runner
    finally:
        runner.stop_all()


@pytest.fixture
def http_port() -> int:
    return free_port()


@pytest.fixture
async def admin(caddy: CaddyRunner, http_port: int) -> AsyncIterator[CaddyAdmin]:
    # Plain HTTP on a loopback high port: automatic HTTPS would try to get certificates.
    client = CaddyAdmin(caddy.admin_url, listen=[f"127.0.0.1:{http_port}"], automatic_https=False)
    try:
        yield client
    finally:
        await client.aclose()


# --- tiny HTTP backends (the services behind Caddy) -----------------------------------------


class Backends(Protocol):
    def __call__(self, name: str, host: str = "127.0.0.1") -> Awaitable[int]: ...


@pytest.fixture
async def backends() -> AsyncIterator[Backends]:
    """Start a loopback HTTP server answering `I am <name>`; returns its port. Another
    loopback `host` (127.0.0.2) stands for a container at an address of its own."""
    servers: list[asyncio.Server] = []

    async def start(name: str, host: str = "127.0.0.1") -> int:
        body = f"I am {name}".encode()

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(answer, host, 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    try:
        yield start
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()


# --- DNS servers ----------------------------------------------------------------------------


@dataclass
class DnsServer:
    kind: str
    port: int
    backend: HostsDirBackend | Rfc2136Backend
    process: ManagedProcess


@pytest.fixture
def dnsmasq(tmp_path: Path) -> Iterator[DnsServer]:
    # Started as `pic-store up` starts it (app.embedded.parts.start_dnsmasq).
    hostsdir = tmp_path / "hosts.d"
    port = free_port()
    proc = start_dnsmasq(tmp_path / "dnsmasq", port, hostsdir, ZONE)
    try:
        yield DnsServer("hostsdir", port, HostsDirBackend(hostsdir), proc)
    finally:
        proc.stop()


@pytest.fixture
def named(tmp_path: Path) -> Iterator[DnsServer]:
    workdir = tmp_path / "named"
    workdir.mkdir()
    port = free_port()
    key = tsig_key(workdir / "pic-store.key")
    conf = named_config(workdir, port, workdir / "pic-store.key")
    argv = [sbin("named"), "-g", "-n", "1", "-c", str(conf)]
    proc = ManagedProcess("named", argv, port, tmp_path / "named.log")
    try:
        proc.start()
        wait_for_zone(port)
        backend = Rfc2136Backend("127.0.0.1", ZONE, key, port=port)
        yield DnsServer("rfc2136", port, backend, proc)
    finally:
        proc.stop()


@pytest.fixture(params=["hostsdir", "rfc2136"])
def dns_server(request: pytest.FixtureRequest) -> DnsServer:
    """Each DNS test runs against both backends, each with its real server."""
    server: DnsServer = request.getfixturevalue(
        "dnsmasq" if request.param == "hostsdir" else "named"
    )
    return server
