"""`run_service()`: what every service's `__main__` shares.

Logging, the bus connection, a /healthz + /metrics HTTP endpoint, SIGTERM handling and a
drain on shutdown (nats.py's service pattern), so each `__main__.py` stays a few lines.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, TypeVar

import structlog
import uvicorn
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.bus import Bus
from shared.config_source import cell_config
from shared.errors import PicStoreError
from shared.events.layout import CELL_LAYOUT
from shared.http_guard import HttpGuard, loopback_hosts, parse_hosts
from shared.logging import configure_logging

log = structlog.get_logger("service")
T = TypeVar("T")


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def from_env(name: str, default: T, parse: Callable[[str], T]) -> T:
    """A settings field read from the environment variable `name` when the settings are made."""

    def make() -> T:
        raw = os.environ.get(name)
        return default if raw is None or raw == "" else parse(raw)

    return field(default_factory=make)


def _optional_path(key: str) -> Path | None:
    value = _env(key, "")
    return Path(value) if value else None


@dataclass
class ServiceSettings:
    """Settings every service reads from its environment."""

    name: str
    nats_url: str = field(default_factory=lambda: _env("PIC_NATS_URL", "nats://127.0.0.1:4222"))
    cell: str = field(default_factory=lambda: _env("PIC_CELL", "cell"))
    docker_host: str = field(default_factory=lambda: _env("PIC_DOCKER_HOST", "local"))
    data_dir: Path = field(default_factory=lambda: Path(_env("PIC_DATA_DIR", "/var/lib/pic")))
    http_host: str = field(default_factory=lambda: _env("PIC_HTTP_HOST", "127.0.0.1"))
    http_port: int = 0
    log_level: str = field(default_factory=lambda: _env("PIC_LOG_LEVEL", "INFO"))
    # The seed file of this service's identity on the bus (its role is the service's name).
    nats_seed: Path | None = field(
        default_factory=lambda: (
            Path(_env("PIC_NATS_SEED", "")) if _env("PIC_NATS_SEED", "") else None
        )
    )

    # The bearer token of the HTTP API, and the Host header values it answers to (empty:
    # loopback_hosts(http_port), and PIC_HTTP_HOST itself when it is not a loopback address).
    api_token_file: Path | None = from_env("PIC_API_TOKEN_FILE", None, Path)
    api_hosts: tuple[str, ...] = from_env("PIC_API_HOSTS", (), parse_hosts)

    # Each service's own port; PIC_<NAME>_HTTP_PORT overrides it (0: any free port).
    default_http_port: ClassVar[int] = 0

    def __post_init__(self) -> None:
        if not self.http_port:
            key = f"PIC_{self.name.upper()}_HTTP_PORT"
            self.http_port = int(_env(key, str(self.default_http_port)))

    def http_guard(self) -> HttpGuard | None:
        """The token and Host check in front of this service's HTTP API (None: none). Read
        before anything starts, so a service that needs one and cannot have it never runs.

        An API of /healthz and /metrics (the router's: and /routes) takes none on loopback;
        served beyond it (PIC_HTTP_HOST), every path but /healthz wants the token."""
        return None if is_loopback(self.http_host) else self._guard()

    def _guard(self) -> HttpGuard:
        hosts = self.api_hosts or loopback_hosts(self.http_port)
        if not self.api_hosts and not is_loopback(self.http_host):
            hosts = (*hosts, self.http_host, f"{self.http_host}:{self.http_port}")
        return HttpGuard.load(self.api_token_file, hosts)


@dataclass
class GuardedSettings(ServiceSettings):
    """Settings of a service whose HTTP API serves more than /healthz and /metrics: the
    bearer token is wanted on loopback too (there is no way to run such an API without one)."""

    def http_guard(self) -> HttpGuard:
        return self._guard()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve to anything


def warn_beyond_loopback(host: str) -> None:
    if not is_loopback(host):
        log.warning(
            "http_beyond_loopback",
            http_host=host,
            why="PIC_HTTP_HOST is not a loopback address: other machines can reach this "
            "service's HTTP API",
        )


@dataclass
class Health:
    """What /healthz reports; each service sets `ready` and may add checks."""

    ready: bool = False
    checks: dict[str, Callable[[], bool]] = field(default_factory=dict)

    def report(self) -> tuple[bool, dict[str, bool]]:
        results = {name: check() for name, check in self.checks.items()}
        return self.ready and all(results.values()), results


def base_app(name: str, health: Health) -> FastAPI:
    app = FastAPI(title=f"pic-store {name}", version="1")

    @app.get(
        "/healthz",
        tags=["ops"],
        response_class=PlainTextResponse,
        responses={503: {"description": "not ready", "content": {"text/plain": {}}}},
    )
    async def healthz() -> PlainTextResponse:
        ok, checks = health.report()
        body = "ok" if ok else "not ready: " + ", ".join(k for k, v in checks.items() if not v)
        return PlainTextResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)

    return app


def finish_on_exit(stack: AsyncExitStack, tasks: list[asyncio.Task[None]]) -> None:
    """On shutdown, wait for the consumers: they stop taking work and finish what they hold."""

    async def finish() -> None:
        await asyncio.gather(*tasks)

    stack.push_async_callback(finish)


Main = Callable[[Bus, AsyncExitStack, asyncio.Event, Health], Awaitable[FastAPI | None]]


async def serve(settings: ServiceSettings, main: Main) -> None:
    """Connect, let `main` start its consumers (returning its HTTP app), serve until SIGTERM."""
    guard = settings.http_guard()
    warn_beyond_loopback(settings.http_host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    health = Health()
    cell_config(settings.data_dir)  # a bad cell config is named now, and nothing starts
    async with AsyncExitStack() as stack:
        bus = await Bus.connect(
            settings.nats_url,
            settings.cell,
            name=settings.name,
            seed=settings.nats_seed,
            role=settings.name,
            layout=CELL_LAYOUT,
        )
        stack.push_async_callback(bus.close)
        health.checks["nats"] = lambda: bus.nc.is_connected
        app = await main(bus, stack, stop, health) or base_app(settings.name, health)
        if guard is not None:
            guard.protect(app)
        config = uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        server = uvicorn.Server(config)
        http = asyncio.create_task(server.serve())
        health.ready = True
        log.info(
            "service_started",
            nats=settings.nats_url,
            cell=settings.cell,
            http_port=settings.http_port,
        )
        await stop.wait()
        log.info("service_stopping")
        health.ready = False
        server.should_exit = True
        await http


def run_service(settings: ServiceSettings, main: Main) -> int:
    configure_logging(settings.name, settings.log_level)
    try:
        asyncio.run(serve(settings, main))
    except PicStoreError as exc:
        log.error("service_failed", reason=exc.message, key=exc.key)
        return 1
    return 0
