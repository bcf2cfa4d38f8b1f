"""The deployment's settings: the environment `deploy/compose.yml` gives every container.

The data dir is the same path on the host and in the containers (a named volume bound to
it): the Docker engine resolves a store service's `${PIC_DATA_DIR}/<id>` binds on the host.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass(frozen=True)
class DeploySettings:
    data_dir: Path = field(default_factory=lambda: Path(_env("PIC_DATA_DIR", "/var/lib/pic")))
    nats_store: Path = field(
        default_factory=lambda: Path(_env("PIC_NATS_STORE", "/var/lib/pic-nats"))
    )
    cell: str = field(default_factory=lambda: _env("PIC_CELL", "cell"))
    nats_port: int = field(default_factory=lambda: int(_env("PIC_NATS_PORT", "4222")))
    dns_port: int = field(default_factory=lambda: int(_env("PIC_DNS_PORT", "53")))
    # The cell's VPN side usually: peers ask it for the services' names.
    dns_listen: str = field(default_factory=lambda: _env("PIC_DNS_LISTEN", "127.0.0.1"))
    # Only for the cell config written on first start; the admin edits it afterwards.
    domain: str = field(default_factory=lambda: _env("PIC_DOMAIN", "cell.local"))
    https_listen: str = field(default_factory=lambda: _env("PIC_HTTPS_LISTEN", ":443"))
    registry: str = field(default_factory=lambda: _env("PIC_REGISTRY_PREFIX", ""))
    # The VPN peers' network: the firewall rules of services accept from it.
    vpn_subnet: str = field(default_factory=lambda: _env("PIC_VPN_SUBNET", "10.8.0.0/24"))

    @property
    def caddy_dir(self) -> Path:
        return self.data_dir / "caddy"

    @property
    def hostsdir(self) -> Path:
        return self.data_dir / "dns" / "hosts.d"
