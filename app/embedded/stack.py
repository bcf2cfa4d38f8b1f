"""The embedded stack of `pic-store up`: the real parts and the services, on loopback.

Services are started as `python -m services.<name>` child processes (shared/ never imports
a service), each with the same environment: the NATS URL, the cell, the data dir.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from app.embedded.api_token import ensure_api_token
from app.embedded.bus_identity import BusAuthority
from app.embedded.parts import (
    caddy_admin_url,
    start_caddy,
    start_dnsmasq,
    start_nats,
    start_registry,
)
from app.embedded.process import ManagedProcess
from shared.config import CellConfig
from shared.roster import HTTP_PORTS, SERVICES


def available_services() -> list[str]:
    return [
        name
        for name in SERVICES
        if importlib.util.find_spec(f"services.{name}")
        and importlib.util.find_spec(f"services.{name}.__main__")
    ]


@dataclass
class EmbeddedStack:
    data_dir: Path
    cell: str = "cell"
    nats_port: int = 4222
    registry_port: int = 5050
    dns_port: int = 5354
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    _stack: ExitStack = field(default_factory=ExitStack)

    def __post_init__(self) -> None:
        # Every role of the cell gets its identity on the bus, made once, kept root-only.
        self.authority = BusAuthority(self.data_dir / "secrets")
        self.authority.add_cell(self.cell)

    def seed(self, role: str) -> Path:
        """The nkey seed file of a role of this cell (`admin` for the command line)."""
        return self.authority.seed(self.cell, role)

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.nats_port}"

    @property
    def registry(self) -> str:
        return f"127.0.0.1:{self.registry_port}"

    def config(self) -> CellConfig:
        return CellConfig.load(self.data_dir)

    def _keep(self, process: ManagedProcess) -> ManagedProcess:
        self.processes[process.name] = process
        self._stack.callback(process.stop)
        return process

    def start_parts(self) -> None:
        self._keep(start_nats(self.data_dir / "nats", self.authority, self.nats_port))
        self._keep(start_registry(self.data_dir / "registry", self.registry_port))
        self._keep(start_caddy(self.data_dir / "caddy"))
        config = self.config()
        hostsdir = self.data_dir / config.router.dns.hostsdir
        self._keep(start_dnsmasq(self.data_dir / "dns", self.dns_port, hostsdir, config.domain))

    def service_env(self) -> dict[str, str]:
        # The caller's PIC_* settings (timeouts, leases...) reach every service; the stack's
        # own wiring wins over them.
        tuning = {k: v for k, v in os.environ.items() if k.startswith("PIC_")}
        return {
            **tuning,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PIC_NATS_URL": self.nats_url,
            "PIC_CELL": self.cell,
            "PIC_DATA_DIR": str(self.data_dir),
            "PIC_API_TOKEN_FILE": str(ensure_api_token(self.data_dir)),
            "PIC_CADDY_ADMIN": caddy_admin_url(self.data_dir / "caddy"),
        }

    @staticmethod
    def service_port(name: str) -> int:
        """The HTTP port of service `name`: its roster port, or PIC_<NAME>_HTTP_PORT."""
        return int(os.environ.get(f"PIC_{name.upper()}_HTTP_PORT") or HTTP_PORTS[name])

    def start_service(self, name: str, **env: str) -> ManagedProcess:
        port = self.service_port(name)
        process = ManagedProcess(
            name,
            [sys.executable, "-m", f"services.{name}"],
            port,
            self.data_dir / "logs" / f"{name}.log",
            env={
                **self.service_env(),
                **env,
                f"PIC_{name.upper()}_HTTP_PORT": str(port),
                "PIC_NATS_SEED": str(self.seed(name)),
                # The installer's HTTP API is the gateway's, and acts with its identity.
                "PIC_API_NATS_SEED": str(self.seed("gateway")),
            },
        )
        return self._keep(process.start(timeout=60))

    def start(self) -> None:
        self.start_parts()
        for name in available_services():
            self.start_service(name)

    def stop(self) -> None:
        self._stack.close()
