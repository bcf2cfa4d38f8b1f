"""Router settings, from the environment (PIC_*), with named defaults.

What the router talks to (Caddy's admin API, the DNS server) is in the cell config
(`router` in cell_config.json), read fresh for each operation; only the process's own
rhythm is set here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from shared.config import CellConfig
from shared.manifest import DEFAULT_PIC_ROOT, ValidationOptions
from shared.roster import HTTP_PORTS
from shared.service import ServiceSettings, from_env

DEFAULT_HTTP_PORT = HTTP_PORTS["router"]
RECONCILE_PERIOD = 60.0  # a full comparison of Caddy and DNS with the installed services
PROBE_PERIOD = 2.0  # a one-request check that Caddy still holds our config


@dataclass
class RouterSettings(ServiceSettings):
    name: str = "router"
    reconcile_period: float = from_env("PIC_ROUTER_RECONCILE_PERIOD", RECONCILE_PERIOD, float)
    probe_period: float = from_env("PIC_ROUTER_PROBE_PERIOD", PROBE_PERIOD, float)
    # The embedded stack serves Caddy's admin API on a Unix socket of its data dir: it says
    # where, here (unix:///<data dir>/caddy/admin.sock).
    caddy_admin: str | None = from_env("PIC_CADDY_ADMIN", None, str)
    pic_root: Path | None = from_env("PIC_ROOT", None, Path)

    default_http_port: ClassVar[int] = DEFAULT_HTTP_PORT

    def validation_options(self, config: CellConfig) -> ValidationOptions:
        """The rules the installer applied to the manifest, applied again."""
        root = str(self.pic_root) if self.pic_root else DEFAULT_PIC_ROOT
        return ValidationOptions(allowed_registry=config.allowed_image_prefix, pic_root=root)
