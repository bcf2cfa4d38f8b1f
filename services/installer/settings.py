"""Installer settings, from the environment (PIC_*), with named defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from shared.service import ServiceSettings

CELL_NETWORK = "pic-cell"
CELL_SUBNET = "172.20.0.0/16"
# Docker assigns addresses of containers without a fixed IP from this range only, so they
# can never take an address of the pool below.
DYNAMIC_RANGE = "172.20.128.0/17"
POOL_FIRST = "172.20.0.20"
POOL_LAST = "172.20.0.254"
DEFAULT_HTTP_PORT = 8470


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass
class InstallerSettings(ServiceSettings):
    name: str = "installer"
    network: str = field(default_factory=lambda: os.environ.get("PIC_NETWORK", CELL_NETWORK))
    subnet: str = field(default_factory=lambda: os.environ.get("PIC_SUBNET", CELL_SUBNET))
    dynamic_range: str = field(
        default_factory=lambda: os.environ.get("PIC_DYNAMIC_RANGE", DYNAMIC_RANGE))
    pool_first: str = field(default_factory=lambda: os.environ.get("PIC_POOL_FIRST", POOL_FIRST))
    pool_last: str = field(default_factory=lambda: os.environ.get("PIC_POOL_LAST", POOL_LAST))
    health_timeout: float = field(default_factory=lambda: _float("PIC_HEALTH_TIMEOUT", 120.0))
    step_timeout: float = field(default_factory=lambda: _float("PIC_STEP_TIMEOUT", 60.0))
    lock_lease: float = field(default_factory=lambda: _float("PIC_LOCK_LEASE", 20.0))
    ack_wait: float = field(default_factory=lambda: _float("PIC_ACK_WAIT", 30.0))
    concurrency: int = field(default_factory=lambda: int(os.environ.get("PIC_CONCURRENCY", "4")))
    min_free_bytes: int = field(
        default_factory=lambda: int(os.environ.get("PIC_MIN_FREE_BYTES", str(512 * 1024 ** 2))))
    pic_root: Path | None = field(
        default_factory=lambda: Path(p) if (p := os.environ.get("PIC_ROOT")) else None)

    def __post_init__(self) -> None:
        if not os.environ.get("PIC_INSTALLER_HTTP_PORT") and not self.http_port:
            self.http_port = DEFAULT_HTTP_PORT
        super().__post_init__()

    @property
    def services_dir(self) -> Path:
        return self.data_dir / "services"
