"""Installer settings, from the environment (PIC_*), with named defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from shared.roster import HTTP_PORTS
from shared.service import ServiceSettings, from_env

CELL_NETWORK = "pic-cell"
CELL_SUBNET = "172.20.0.0/16"
# Docker assigns addresses of containers without a fixed IP from this range only, so they
# can never take an address of the pool below.
DYNAMIC_RANGE = "172.20.128.0/17"
POOL_FIRST = "172.20.0.20"
POOL_LAST = "172.20.0.254"
DEFAULT_HTTP_PORT = HTTP_PORTS["installer"]


@dataclass
class InstallerSettings(ServiceSettings):
    name: str = "installer"
    network: str = from_env("PIC_NETWORK", CELL_NETWORK, str)
    subnet: str = from_env("PIC_SUBNET", CELL_SUBNET, str)
    dynamic_range: str = from_env("PIC_DYNAMIC_RANGE", DYNAMIC_RANGE, str)
    pool_first: str = from_env("PIC_POOL_FIRST", POOL_FIRST, str)
    pool_last: str = from_env("PIC_POOL_LAST", POOL_LAST, str)
    health_timeout: float = from_env("PIC_HEALTH_TIMEOUT", 120.0, float)
    step_timeout: float = from_env("PIC_STEP_TIMEOUT", 60.0, float)
    lock_lease: float = from_env("PIC_LOCK_LEASE", 20.0, float)
    ack_wait: float = from_env("PIC_ACK_WAIT", 30.0, float)
    concurrency: int = from_env("PIC_CONCURRENCY", 4, int)
    min_free_bytes: int = from_env("PIC_MIN_FREE_BYTES", 512 * 1024**2, int)
    pic_root: Path | None = from_env("PIC_ROOT", None, Path)
    # The backup before an upgrade, and the restore after a failed one, may take this long.
    upgrade_backup_timeout: float = from_env("PIC_UPGRADE_BACKUP_TIMEOUT", 1800.0, float)
    default_http_port: ClassVar[int] = DEFAULT_HTTP_PORT

    @property
    def services_dir(self) -> Path:
        """The installer's own files per service (rendered compose file, sources)."""
        return self.data_dir / "services"

    @property
    def store_data_dir(self) -> Path:
        """${PIC_DATA_DIR} of the templates: nothing of pic-store's own lives below it."""
        return self.data_dir / "data"

    def own_dir(self, service_id: str) -> Path:
        """The one host folder a service's binds may use (its Compose project directory)."""
        return self.store_data_dir / service_id
