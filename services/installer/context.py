"""What one operation knows as it runs: the command, the manifest, and what each step made."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.installer.ipam import IpPool
from services.installer.project import Project
from services.installer.settings import InstallerSettings
from services.installer.state import Buckets
from shared.bus import Bus
from shared.config import CellConfig
from shared.docker import DockerEngine
from shared.docker.compose import ComposeProject
from shared.errors import OperationError
from shared.events.messages import ConfigValue, OperationKind
from shared.installed import MASK, ServiceRecord
from shared.manifest import Manifest


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
    parsed: Manifest | None = None  # None only while a remove works on a broken record
    manifest_data: dict[str, Any] = field(default_factory=dict)
    template_text: str = ""
    config: dict[str, ConfigValue] = field(default_factory=dict)
    service_ip: str | None = None
    image: str | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    compose_text: str = ""
    # (service IP, pinned images) the compose_text was rendered for
    rendered_for: tuple[object, ...] | None = None
    project: Project | None = None
    previous_project: Project | None = None
    pinned: dict[str, str] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    purge: bool = False
    safety_backup: str | None = None  # the backup taken before an upgrade
    egress: str | None = None  # the admin's egress choice (None: no egress)

    def _secret_keys(self) -> set[str]:
        fields = self.parsed.config_fields if self.parsed is not None else []
        return {f.key for f in fields if f.type == "secret"}

    def public_config(self) -> dict[str, ConfigValue]:
        """The settings as the service record keeps them: a secret one only as the mask that
        says it is set (its value lives in the secrets bucket)."""
        hidden = self._secret_keys()
        return {k: (MASK if k in hidden else v) for k, v in self.config.items()}

    def secret_settings(self) -> dict[str, ConfigValue]:
        """The admin's `secret` settings: kept in the secrets bucket only."""
        hidden = self._secret_keys()
        return {k: v for k, v in self.config.items() if k in hidden}

    @property
    def manifest(self) -> Manifest:
        """The operation's manifest: install and reconfigure always have one."""
        if self.parsed is None:
            raise OperationError(f"the manifest of {self.service_id} is missing or broken")
        return self.parsed

    def mask(self, text: str) -> str:
        """Text for a message, an event or a log: every secret of this service replaced."""
        sensitive = list(self.secrets.values())
        if self.parsed is not None:
            hidden = {f.key for f in self.parsed.config_fields if f.type == "secret"}
            sensitive += [str(v) for k, v in self.config.items() if k in hidden]
        for value in sorted((v for v in sensitive if len(v) >= 4), key=len, reverse=True):
            text = text.replace(value, "***")
        return text

    @property
    def containers(self) -> list[str]:
        return self.project.containers if self.project else []

    @property
    def service_dir(self) -> Path:
        return self.deps.settings.services_dir / self.service_id

    @property
    def compose_path(self) -> Path:
        return self.service_dir / "docker-compose.yml"

    @property
    def previous_compose_path(self) -> Path:
        """What ran before this operation, kept until it ends (it holds secrets: 0600)."""
        return self.service_dir / "docker-compose.previous.yml"

    def compose(self, file: Path | None = None) -> ComposeProject:
        return ComposeProject(
            self.service_id, file or self.compose_path, self.deps.settings.own_dir(self.service_id)
        )
