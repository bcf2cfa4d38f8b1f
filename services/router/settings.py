"""Router settings, from the environment (PIC_*), with named defaults.

What the router talks to (Caddy's admin API, the DNS server) is in the cell config
(`router` in cell_config.json), read fresh for each operation; only the process's own
rhythm is set here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from shared.config import CellConfig
from shared.manifest import DEFAULT_PIC_ROOT, ValidationOptions
from shared.service import ServiceSettings

DEFAULT_HTTP_PORT = 8472
RECONCILE_PERIOD = 60.0  # a full comparison of Caddy and DNS with the installed services
PROBE_PERIOD = 2.0  # a one-request check that Caddy still holds our config


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass
class RouterSettings(ServiceSettings):
    name: str = "router"
    reconcile_period: float = field(
        default_factory=lambda: _float("PIC_ROUTER_RECONCILE_PERIOD", RECONCILE_PERIOD))
    probe_period: float = field(
        default_factory=lambda: _float("PIC_ROUTER_PROBE_PERIOD", PROBE_PERIOD))
    # The embedded stack starts Caddy on a new admin port each run: it says where, here.
    caddy_admin: str | None = field(default_factory=lambda: os.environ.get("PIC_CADDY_ADMIN"))
    pic_root: Path | None = field(
        default_factory=lambda: Path(p) if (p := os.environ.get("PIC_ROOT")) else None)

    def __post_init__(self) -> None:
        if not os.environ.get("PIC_ROUTER_HTTP_PORT") and not self.http_port:
            self.http_port = DEFAULT_HTTP_PORT
        super().__post_init__()

    def validation_options(self, config: CellConfig) -> ValidationOptions:
        """The rules the installer applied to the manifest, applied again."""
        root = str(self.pic_root) if self.pic_root else DEFAULT_PIC_ROOT
        return ValidationOptions(allowed_registry=config.allowed_image_prefix, pic_root=root)
