"""A backup's own description (`backup.json`), validated strictly: no field it does not
know, every id by its one grammar, every path inside its place (a stored file below the
backup folder, a config path below `config/<service>`, a volume path absolute in the
container). What a restore does is decided by this description, so a folder someone else
wrote can name no other place; that it is the cell's own is checked by layout.py (a MAC)."""

from __future__ import annotations

import posixpath
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from services.backup.errors import BackupNotFoundError
from services.backup.keys import SealedWith
from shared.docker.restrictions import Restrictions
from shared.events.messages import ConfigValue
from shared.ids import BackupId, OperationId, ServiceId

PLAIN_PART = re.compile(r"^[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]{0,254}$")
CONTAINER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
VOLUME_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$")


def relative_problem(value: str) -> str | None:
    """Why `value` is not a plain relative path (no `..`, `.`, empty part, absolute)."""
    if not value or value.startswith("/") or len(value) > 1024:
        return f"{value[:60]!r} must be a relative path of 1-1024 characters"
    for part in value.split("/"):
        if part in ("", ".", "..") or not PLAIN_PART.fullmatch(part):
            return f"{value[:60]!r} has the part {part[:40]!r}: only plain names, no '..'"
    return None


def _relative(value: str) -> str:
    problem = relative_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def config_scope(service_id: str) -> str:
    """The folder (relative to the PIC root) a service's config paths stay in."""
    return f"config/{service_id}"


def config_path_problem(service_id: str, path: str) -> str | None:
    """Why `path` is not one of `service_id`'s config paths (`config/<id>` or below)."""
    problem = relative_problem(path)
    if problem is not None:
        return f"config path {problem}"
    scope = config_scope(service_id)
    if path != scope and not path.startswith(scope + "/"):
        return f"config path {path[:60]!r} is not below {scope}, the folder of {service_id}"
    return None


def _volume_place(value: str) -> str:
    container, _, path = value.partition(":")
    if not CONTAINER_NAME.fullmatch(container):
        raise ValueError(f"{container[:60]!r} is not a container name")
    normal = posixpath.normpath(path)
    if not path.startswith("/") or normal != path.rstrip("/") or normal == "/" or "\x00" in path:
        raise ValueError(f"{path[:60]!r} must be an absolute path in the container, not /")
    return value


def _volume_name(value: str) -> str:
    if not VOLUME_NAME.fullmatch(value) or value in (".", ".."):
        raise ValueError(f"{value[:60]!r} is not a volume name of a backup")
    return value


RelativePath = Annotated[str, AfterValidator(_relative)]
VolumePlace = Annotated[str, AfterValidator(_volume_place)]
VolumeName = Annotated[str, AfterValidator(_volume_name)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoredFile(_Strict):
    path: RelativePath
    size: int = Field(ge=0)
    sha256: Sha256


class ServiceEntry(_Strict):
    service_id: ServiceId
    name: str = Field(default="", max_length=200)
    version: str | None = Field(default=None, max_length=64)
    store: str = Field(default="", max_length=4096)
    manifest: dict[str, Any]
    config: dict[str, ConfigValue] = Field(default_factory=dict)
    volumes: dict[VolumeName, VolumePlace] = Field(
        default_factory=dict, description="name -> container:path"
    )
    images: dict[str, str] = Field(default_factory=dict, description="container -> its image")
    restrictions: dict[str, Restrictions] = Field(
        default_factory=dict,
        description="container -> what the engine restricted it to at backup time; its "
        "verify sandbox keeps them (a backup made before they were recorded: the defaults)",
    )
    config_paths: list[str] = Field(default_factory=list)
    secrets: bool = False
    compose: bool = Field(
        default=False,
        description="compose.yml.age holds the rendered docker-compose.yml: its verify sandbox "
        "runs the service as that file says (a backup made before: each image bare)",
    )
    consistency: Literal["live", "commands", "stopped"] = "live"

    @model_validator(mode="after")
    def _own_places(self) -> ServiceEntry:
        for path in self.config_paths:
            problem = config_path_problem(self.service_id, path)
            if problem is not None:
                raise ValueError(problem)
        for container in [*self.images, *self.restrictions]:
            if not CONTAINER_NAME.fullmatch(container):
                raise ValueError(f"{container[:60]!r} is not a container name")
        return self


class Verification(_Strict):
    ok: bool
    at: datetime
    reason: str = Field(default="", max_length=4000)


class BackupManifest(_Strict):
    format: Literal[1] = 1
    backup_id: BackupId
    operation_id: OperationId | Literal[""] = ""  # the command that made it
    reason: str = Field(default="admin", max_length=200)
    started: datetime
    finished: datetime | None = None
    sealed_with: SealedWith
    services: list[ServiceEntry] = Field(default_factory=list)
    files: list[StoredFile] = Field(default_factory=list)
    verified: Verification | None = None
    warnings: list[str] = Field(
        default_factory=list, description="What the backup did without (a missing config path)"
    )

    @model_validator(mode="after")
    def _one_entry_each(self) -> BackupManifest:
        sids = [e.service_id for e in self.services]
        if len(set(sids)) != len(sids):
            raise ValueError("a service is listed twice")
        return self

    def service(self, service_id: str) -> ServiceEntry:
        for entry in self.services:
            if entry.service_id == service_id:
                return entry
        held = ", ".join(e.service_id for e in self.services) or "none"
        raise BackupNotFoundError(
            f"the backup {self.backup_id} holds no service {service_id} (it holds: {held})"
        )
