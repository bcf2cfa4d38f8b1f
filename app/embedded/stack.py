"""The embedded stack of `pic-store up`: the real parts and the services, on loopback.

Services are started as `python -m services.<name>` child processes (shared/ never imports
a service), each with the same environment: the NATS URL, the cell, the data dir. Run as
root, each service runs as its role's own user (app/embedded/roles.py).

Stopping takes at most STOP_SERVICES + STOP_PARTS seconds: the services first, all at once
(they finish what they hold), then the parts; whatever still runs then is killed.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.embedded.api_token import api_token_path, ensure_api_token
from app.embedded.bus_identity import BusAuthority
from app.embedded.parts import (
    caddy_admin_url,
    start_caddy,
    start_dnsmasq,
    start_nats,
    start_registry,
)
from app.embedded.process import ManagedProcess, stop_together
from app.embedded.roles import HostRoles, parts_user_of
from app.embedded.wiring import service_process
from shared.cell_ca import ROOT_KEY, ensure_ca
from shared.config import CellConfig
from shared.roster import HTTP_PORTS, SERVICES

STOP_SERVICES = 15.0
STOP_PARTS = 5.0


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
    # Where `stop` says what it waits for.
    say: Callable[[str], None] = field(default=print, repr=False)
    # The roles' users (None: every process runs as the user running pic-store).
    roles: HostRoles | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        # Every role of the cell gets its identity on the bus, made once, kept root-only.
        self.authority = BusAuthority(self.data_dir / "secrets")
        self.authority.add_cell(self.cell)

    def isolate_roles(self) -> None:
        """Run as root: a user per role, each owning its own files only (roles.py)."""
        if os.geteuid() != 0:
            return
        ensure_api_token(self.data_dir)
        self.roles = HostRoles.make(self.data_dir)
        self.roles.seal({role: self.seed(role) for role in self.authority.cells[self.cell]})

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
        return process

    def start_parts(self) -> None:
        self._keep(start_nats(self.data_dir / "nats", self.authority, self.nats_port))
        self._keep(start_registry(self.data_dir / "registry", self.registry_port))
        # Caddy and dnsmasq are the router's parts: they run as its user (roles.py).
        parts_user = parts_user_of(self.roles.users["router"]) if self.roles else None
        config = self.config()
        # The cell's CA: Caddy's root when it serves HTTPS (it reads the key), and the signer
        # of services' hostnames (the installer, root, reads it too).
        ca = ensure_ca(self.data_dir, config.cell_name)
        if parts_user is not None:
            os.chown(ca / ROOT_KEY, parts_user.uid, parts_user.gid)
        self._keep(start_caddy(self.data_dir / "caddy", parts_user))
        hostsdir = self.data_dir / config.router.dns.hostsdir
        self._keep(
            start_dnsmasq(self.data_dir / "dns", self.dns_port, hostsdir, config.domain, parts_user)
        )

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
            # Made (and kept private) once; the roles' users read it through its group.
            "PIC_API_TOKEN_FILE": str(
                api_token_path(self.data_dir) if self.roles else ensure_api_token(self.data_dir)
            ),
            "PIC_CADDY_ADMIN": caddy_admin_url(self.data_dir / "caddy"),
            # PIC's project folder (a service's backup.config_paths are config/<id> below it):
            # the caller's, else one in the data dir.
            "PIC_ROOT": tuning.get("PIC_ROOT") or str(self.data_dir / "pic-root"),
        }

    @staticmethod
    def service_port(name: str) -> int:
        """The HTTP port of service `name`: its roster port, or PIC_<NAME>_HTTP_PORT."""
        return int(os.environ.get(f"PIC_{name.upper()}_HTTP_PORT") or HTTP_PORTS[name])

    def start_service(self, name: str, **env: str) -> ManagedProcess:
        process = service_process(
            name,
            self.service_port(name),
            self.data_dir / "logs" / f"{name}.log",
            {**self.service_env(), **env},
            self.seed,
            run_as=self.roles.users.get(name) if self.roles else None,
        )
        return self._keep(process.start(timeout=60))

    def start(self) -> None:
        self.isolate_roles()
        self.start_parts()
        for name in available_services():
            self.start_service(name)

    def stop(self) -> None:
        """The services, then the parts; at most STOP_SERVICES + STOP_PARTS seconds."""
        services = [p for name, p in self.processes.items() if name in SERVICES]
        parts = [p for name, p in self.processes.items() if name not in SERVICES]
        stop_together(services, STOP_SERVICES, self.say)
        stop_together(parts, STOP_PARTS, self.say)
