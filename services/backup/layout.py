"""The backup format: a folder per backup under `<data dir>/backups/`, written as
`<id>.partial` and renamed only when complete and checked, holding its own manifest
(`backup.json`: services, versions, the service manifest, the config values, size and
SHA-256 of every file, start and end, live or consistent, the last verification).

    <id>/backup.json                         this manifest (no secret in it)
    <id>/key.age                             the backup's age identity, sealed
    <id>/<service>/volumes/<name>.tar.gz.age each backup.volumes entry
    <id>/<service>/config.tar.gz.age         the config_paths
    <id>/<service>/secrets.age               the secrets, sealed by the installer
    <id>/<service>/contents.json.age         every volume's tree, for verify
    <id>/<service>/store/...                 the manifest and compose template (a store)
"""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from services.backup.errors import BackupCorruptError, BackupNotFoundError
from services.backup.keys import SealedWith
from shared.events.messages import ConfigValue

PARTIAL = ".partial"
MANIFEST = "backup.json"
SEALED_KEY = "key.age"
READ_CHUNK = 1024 * 1024


class StoredFile(BaseModel):
    path: str
    size: int
    sha256: str


class ServiceEntry(BaseModel):
    service_id: str
    name: str = ""
    version: str | None = None
    store: str = ""
    manifest: dict[str, Any]
    config: dict[str, ConfigValue] = Field(default_factory=dict)
    volumes: dict[str, str] = Field(default_factory=dict, description="name -> container:path")
    images: dict[str, str] = Field(default_factory=dict, description="container -> its image")
    config_paths: list[str] = Field(default_factory=list)
    secrets: bool = False
    consistency: Literal["live", "commands", "stopped"] = "live"


class Verification(BaseModel):
    ok: bool
    at: datetime
    reason: str = ""


class BackupManifest(BaseModel):
    format: Literal[1] = 1
    backup_id: str
    operation_id: str = ""  # the command that made it: a second delivery makes no second one
    reason: str = "admin"
    started: datetime
    finished: datetime | None = None
    sealed_with: SealedWith
    services: list[ServiceEntry] = Field(default_factory=list)
    files: list[StoredFile] = Field(default_factory=list)
    verified: Verification | None = None

    def service(self, service_id: str) -> ServiceEntry:
        for entry in self.services:
            if entry.service_id == service_id:
                return entry
        held = ", ".join(e.service_id for e in self.services) or "none"
        raise BackupNotFoundError(
            f"the backup {self.backup_id} holds no service {service_id} (it holds: {held})"
        )


def new_backup_id(now: datetime | None = None) -> str:
    moment = now or datetime.now(UTC)
    return moment.strftime("%Y%m%dt%H%M%S%fz")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def record(folder: Path, relative: str) -> StoredFile:
    path = folder / relative
    return StoredFile(path=relative, size=path.stat().st_size, sha256=sha256_of(path))


def write_manifest(folder: Path, manifest: BackupManifest) -> None:
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(manifest.model_dump_json(indent=2))
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    tmp.replace(folder / MANIFEST)


def read_manifest(folder: Path) -> BackupManifest:
    path = folder / MANIFEST
    try:
        return BackupManifest.model_validate_json(path.read_bytes())
    except FileNotFoundError as exc:
        raise BackupNotFoundError(f"there is no backup {folder.name}") from exc
    except (OSError, ValidationError) as exc:
        raise BackupCorruptError(f"the manifest of backup {folder.name} is unreadable") from exc


def check_files(folder: Path, manifest: BackupManifest) -> None:
    """Every file of the backup present, of its size and SHA-256: else BackupCorruptError
    naming the first that is not. Nothing is touched before this passes."""
    for stored in manifest.files:
        path = folder / stored.path
        if not path.is_file():
            raise BackupCorruptError(f"backup {manifest.backup_id}: {stored.path} is missing")
        if path.stat().st_size != stored.size:
            raise BackupCorruptError(
                f"backup {manifest.backup_id}: {stored.path} has "
                f"{path.stat().st_size} bytes, the backup recorded {stored.size}"
            )
        if sha256_of(path) != stored.sha256:
            raise BackupCorruptError(
                f"backup {manifest.backup_id}: the SHA-256 of {stored.path} differs from the "
                "one recorded: the file is corrupt"
            )


class Backups:
    """The backups folder: complete backups, and the partial ones a crash left."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, backup_id: str) -> Path:
        if "/" in backup_id or backup_id.startswith(".") or backup_id.endswith(PARTIAL):
            raise BackupNotFoundError(f"{backup_id!r} is not a backup name")
        return self.root / backup_id

    def start(self, backup_id: str) -> Path:
        partial = self.root / (backup_id + PARTIAL)
        partial.mkdir(parents=True, mode=0o700)
        return partial

    def finish(self, partial: Path) -> Path:
        final = self.root / partial.name.removesuffix(PARTIAL)
        os.replace(partial, final)
        return final

    def sweep_partial(self) -> list[str]:
        """Remove what interrupted backups left (never a complete one)."""
        if not self.root.exists():
            return []
        gone = []
        for path in self.root.iterdir():
            if path.name.endswith(PARTIAL):
                shutil.rmtree(path, ignore_errors=True)
                gone.append(path.name)
        return gone

    def all(self) -> list[BackupManifest]:
        """Complete backups, oldest first (a folder with an unreadable manifest is skipped)."""
        if not self.root.exists():
            return []
        found = []
        for path in sorted(self.root.iterdir()):
            if path.name.endswith(PARTIAL) or not (path / MANIFEST).is_file():
                continue
            try:
                found.append(read_manifest(path))
            except BackupCorruptError:
                continue
        return sorted(found, key=lambda m: m.started)

    def delete(self, backup_id: str) -> None:
        shutil.rmtree(self.folder(backup_id), ignore_errors=True)
