"""What one operation knows as it runs, phase by phase.

An install or reconfigure goes fetched -> validated -> planned -> rendered -> applied; each
phase is a frozen value that the next one takes, so a step that needs the compose file, its
project or the service's IP reads it from the value that holds it: nothing is "not set yet".

- `Fetched`: the service's sources (manifest and compose template).
- `Validated`: the sources with the admin's settings and egress choice, checked.
- `Rendered`: one render of the compose file (what it was made for, what it runs).
- `Planned`: the validated sources, the draft render the plan shows, the steps and the plan.
- `Applied`: what the saga leaves running.

`OpContext` is the operation itself (who asks for what, on which service) with what every
verb's steps and step requests read; `Deploying` is the context of an install or reconfigure
saga: it holds the validated sources and the render in force (the planned draft until the
render step makes the one that runs). A compensation needs only an `OpContext` and its
journal data, so a recovered operation (which has no render) can run every one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from services.installer.saga import Step
    from shared.events import Plan

# (project name, compose file, project directory) -> the project Docker Compose runs
ComposeFactory = Callable[[str, Path, Path], ComposeProject]


@dataclass
class Deps:
    """What the installer's steps use; passed in, never looked up."""

    bus: Bus
    buckets: Buckets
    engine: DockerEngine
    pool: IpPool
    settings: InstallerSettings
    instance: str
    compose_project: ComposeFactory = ComposeProject


# -- the phases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """The service's sources: from the store (install) or as installed (reconfigure)."""

    store: str
    manifest: Manifest
    manifest_data: dict[str, Any]
    template_text: str


@dataclass(frozen=True)
class Validated:
    """The sources with the admin's settings (typed, defaults applied) and egress choice."""

    fetched: Fetched
    config: dict[str, ConfigValue]
    egress: str | None

    @property
    def manifest(self) -> Manifest:
        return self.fetched.manifest

    def _secret_keys(self) -> set[str]:
        return {f.key for f in self.manifest.config_fields if f.type == "secret"}

    def public_config(self) -> dict[str, ConfigValue]:
        """The settings as the service record keeps them: a secret one only as the mask that
        says it is set (its value lives in the secrets bucket)."""
        hidden = self._secret_keys()
        return {k: (MASK if k in hidden else v) for k, v in self.config.items()}

    def secret_settings(self) -> dict[str, ConfigValue]:
        """The admin's `secret` settings: kept in the secrets bucket only."""
        hidden = self._secret_keys()
        return {k: v for k, v in self.config.items() if k in hidden}


@dataclass(frozen=True)
class Rendered:
    """One render of the compose file (its text holds secrets: never logged)."""

    service_ip: str
    pinned: tuple[tuple[str, str], ...]  # (image, digest-pinned image), sorted
    secrets: dict[str, str] = field(repr=False)
    compose_text: str = field(repr=False)
    project: Project

    def made_for(self, service_ip: str, pinned: dict[str, str]) -> bool:
        return (self.service_ip, self.pinned) == (service_ip, tuple(sorted(pinned.items())))


@dataclass(frozen=True)
class Planned:
    """What the operation will do: the draft render the plan shows, the steps, the plan."""

    validated: Validated
    draft: Rendered
    steps: list[Step[Deploying]]
    plan: Plan


@dataclass(frozen=True)
class Applied:
    """What the saga left running: the render it ran, the addresses, the steps done."""

    rendered: Rendered
    addresses: dict[str, str]
    done: list[str]


# -- the contexts the steps take ------------------------------------------------------------


@dataclass(kw_only=True)
class OpContext:
    """One operation: who asks for what, on which service, and what its step requests carry
    (the manifest, the IP, the images, the egress, the addresses), as far as it knows them."""

    deps: Deps
    operation_id: str
    kind: OperationKind
    service_id: str
    cell: CellConfig
    previous: ServiceRecord | None = None  # the service's record before the operation
    parsed: Manifest | None = None  # None: not read yet, or a remove of a broken record
    manifest_data: dict[str, Any] = field(default_factory=dict)
    service_ip: str | None = None
    image: str | None = None
    pinned: dict[str, str] = field(default_factory=dict)  # image -> verified digest
    egress: str | None = None  # the admin's egress choice (None: no egress)
    addresses: dict[str, str] = field(default_factory=dict)  # container -> cell address
    previous_project: Project | None = None  # what runs now (from its compose file)
    purge: bool = False
    safety_backup: str | None = None  # the backup taken before an upgrade
    warnings: list[str] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set, repr=False)  # values no message shows

    @property
    def manifest(self) -> Manifest:
        """The operation's manifest: install and reconfigure always have one."""
        if self.parsed is None:
            raise OperationError(f"the manifest of {self.service_id} is missing or broken")
        return self.parsed

    @property
    def project(self) -> Project | None:
        """The rendered project (a `Deploying` context always has one)."""
        return None

    @property
    def secrets(self) -> dict[str, str]:
        """The service's generated secrets as rendered (a `Deploying` context's)."""
        return {}

    def take(self, fetched: Fetched) -> None:
        """The sources are fetched: the step requests carry their manifest."""
        self.parsed, self.manifest_data = fetched.manifest, fetched.manifest_data
        self.image = fetched.manifest.image

    def hide(self, config: dict[str, ConfigValue], secrets: dict[str, str]) -> None:
        """Never show these: the admin's secret settings and the generated secrets."""
        self.hidden.update(str(v) for v in config.values())
        self.hidden.update(secrets.values())

    def mask(self, text: str) -> str:
        """Text for a message, an event or a log: every secret of this service replaced."""
        for value in sorted((v for v in self.hidden if len(v) >= 4), key=len, reverse=True):
            text = text.replace(value, "***")
        return text

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
        return self.deps.compose_project(
            self.service_id, file or self.compose_path, self.deps.settings.own_dir(self.service_id)
        )


@dataclass(kw_only=True)
class Deploying(OpContext):
    """An install or reconfigure from its plan on: the validated sources and the render in
    force. It shares the operation's warnings and hidden values with the `OpContext` it came
    from, so what the manager reports after a failure is masked and complete."""

    validated: Validated
    rendered: Rendered

    @classmethod
    def begin(cls, op: OpContext, validated: Validated, draft: Rendered) -> Deploying:
        base = {f.name: getattr(op, f.name) for f in fields(OpContext)}
        base["egress"] = validated.egress
        return cls(**base, validated=validated, rendered=draft)

    @property
    def ip(self) -> str:
        """The service's cell IP: the one it holds (allocated, or kept by a reconfigure), else
        the one the draft was rendered for (the pool's candidate)."""
        return self.service_ip or self.rendered.service_ip

    @property
    def project(self) -> Project:
        return self.rendered.project

    @property
    def secrets(self) -> dict[str, str]:
        return self.rendered.secrets
