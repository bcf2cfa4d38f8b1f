"""What one operation knows as it runs: the command, the manifest, and what each step made."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.installer.containers import ContainerSpec
from services.installer.ipam import IpPool
from services.installer.settings import InstallerSettings
from services.installer.state import Buckets
from shared.bus import Bus
from shared.config import CellConfig
from shared.docker import DockerEngine
from shared.events.messages import ConfigValue, OperationKind
from shared.installed import ServiceRecord


@dataclass
class Deps:
    """What the installer's steps use; passed in, never looked up."""

    bus: Bus
    buckets: Buckets
    engine: DockerEngine
    pool: IpPool
    settings: InstallerSettings
    instance: str


@dataclass
class OpContext:
    deps: Deps
    operation_id: str
    kind: OperationKind
    service_id: str
    cell: CellConfig
    previous: ServiceRecord | None = None
    store: str = ""
    manifest: Any = None
    manifest_data: dict[str, Any] = field(default_factory=dict)
    template_text: str = ""
    config: dict[str, ConfigValue] = field(default_factory=dict)
    service_ip: str | None = None
    image: str | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    compose_text: str = ""
    compose: dict[str, Any] = field(default_factory=dict)
    specs: list[ContainerSpec] = field(default_factory=list)
    previous_specs: list[ContainerSpec] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    purge: bool = False

    @property
    def service_dir(self) -> Path:
        return self.deps.settings.services_dir / self.service_id

    @property
    def compose_path(self) -> Path:
        return self.service_dir / "docker-compose.yml"
