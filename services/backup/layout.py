"""The backup format: a folder per backup under `<data dir>/backups/`, written as
`<id>.partial` and renamed only when complete and checked, holding its own manifest
(`backup.json`: services, versions, the service manifest, the config values, size and
SHA-256 of every file, start and end, live or consistent, the last verification).

    <id>/backup.json                         this manifest (no secret in it)
    <id>/backup.json.mac                     its HMAC-SHA256, keyed from the cell's backup key
    <id>/key.age                             the backup's age identity, sealed
    <id>/<service>/volumes/<name>.tar.gz.age each backup.volumes entry
    <id>/<service>/config.tar.gz.age         the config_paths
    <id>/<service>/secrets.age               the secrets, sealed by the installer
    <id>/<service>/contents.json.age         every volume's tree, for verify
    <id>/<service>/compose.yml.age           the rendered docker-compose.yml, for verify
    <id>/<service>/store/...                 the manifest and compose template (a store)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from services.backup.description import BackupManifest, StoredFile
from services.backup.errors import (
    BackupCorruptError,
    BackupKeyError,
    BackupNotFoundError,
    BackupTamperedError,
    InvalidIdError,
)
from services.backup.keys import SealedWith, manifest_key, manifest_tag
from shared.config_source import cell_config
from shared.ids import id_problem

PARTIAL = ".partial"
MANIFEST = "backup.json"
MANIFEST_TAG = "backup.json.mac"
SEALED_KEY = "key.age"
COMPOSE_FILE = "compose.yml.age"  # a service's rendered compose file, sealed by the installer
READ_CHUNK = 1024 * 1024


def checked(kind: str, value: object) -> str:
    """`value` when it is a valid id of `kind` (shared/ids.py): the one gate every id passes
    before it becomes part of a path here. InvalidIdError naming it otherwise."""
    problem = id_problem(kind, value)
    if problem is not None:
        raise InvalidIdError(problem)
    assert isinstance(value, str)
    return value


def scratch_for(scratch_dir: Path, operation_id: str) -> Path:
    """The plain files of one restore or verify: a folder named by its operation id."""
    return scratch_dir / checked("operation id", operation_id)


def service_folder(folder: Path, service_id: str) -> Path:
    """A service's part of a backup folder."""
    return folder / checked("service id", service_id)


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


def _tag_key(backup_id: str, how: SealedWith, data_dir: Path) -> bytes:
    return manifest_key(how, backup_id, cell_config(data_dir).backup, data_dir)


def write_manifest(folder: Path, manifest: BackupManifest, data_dir: Path) -> None:
    """backup.json and its MAC (with the cell's backup key), each written whole."""
    data = manifest.model_dump_json(indent=2).encode()
    tag = manifest_tag(_tag_key(manifest.backup_id, manifest.sealed_with, data_dir), data)
    for name, content in ((MANIFEST_TAG, tag.encode()), (MANIFEST, data)):
        tmp = folder / (name + ".tmp")
        tmp.write_bytes(content)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        tmp.replace(folder / name)


def read_manifest(folder: Path, data_dir: Path) -> BackupManifest:
    """The backup's description, only when its MAC checks with this cell's backup key
    (BackupTamperedError otherwise) and it passes the strict model (BackupCorruptError)."""
    backup_id = folder.name.removesuffix(PARTIAL)
    try:
        data = (folder / MANIFEST).read_bytes()
    except FileNotFoundError as exc:
        raise BackupNotFoundError(f"there is no backup {backup_id}") from exc
    except OSError as exc:
        raise BackupCorruptError(f"the manifest of backup {backup_id} is unreadable") from exc
    try:
        tag = (folder / MANIFEST_TAG).read_bytes().strip()
        how = SealedWith(json.loads(data).get("sealed_with"))
    except (OSError, ValueError, AttributeError) as exc:
        raise BackupTamperedError(
            f"backup {backup_id}: its description (backup.json) carries no valid MAC of this "
            "cell's backup key: refused, nothing touched"
        ) from exc
    expected = manifest_tag(_tag_key(backup_id, how, data_dir), data)
    if not hmac.compare_digest(tag, expected.encode()):
        raise BackupTamperedError(
            f"backup {backup_id}: its description (backup.json) was changed or written "
            "without this cell's backup key (the MAC differs): refused, nothing touched"
        )
    try:
        manifest = BackupManifest.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "backup.json"
        raise BackupCorruptError(
            f"backup {backup_id}: backup.json is not valid at {where}: {first['msg']}"
        ) from exc
    if manifest.backup_id != backup_id:
        raise BackupTamperedError(
            f"backup {backup_id}: its description names another backup ({manifest.backup_id})"
        )
    return manifest


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

    def __init__(self, root: Path, data_dir: Path) -> None:
        self.root = root
        self.data_dir = data_dir

    def folder(self, backup_id: str) -> Path:
        return self.root / checked("backup id", backup_id)

    def read(self, backup_id: str) -> BackupManifest:
        return read_manifest(self.folder(backup_id), self.data_dir)

    def write(self, folder: Path, manifest: BackupManifest) -> None:
        write_manifest(folder, manifest, self.data_dir)

    def start(self, backup_id: str) -> Path:
        partial = self.root / (checked("backup id", backup_id) + PARTIAL)
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
        """Complete backups this cell wrote, oldest first (a folder whose description is
        unreadable, invalid or not authenticated is skipped)."""
        if not self.root.exists():
            return []
        found = []
        for path in sorted(self.root.iterdir()):
            if path.name.endswith(PARTIAL) or not (path / MANIFEST).is_file():
                continue
            if id_problem("backup id", path.name) is not None:
                continue
            try:
                found.append(read_manifest(path, self.data_dir))
            except (BackupCorruptError, BackupKeyError):
                continue
        return sorted(found, key=lambda m: m.started)

    def delete(self, backup_id: str) -> None:
        shutil.rmtree(self.folder(backup_id), ignore_errors=True)
