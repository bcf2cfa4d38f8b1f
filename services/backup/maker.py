"""Making a backup: each service's volumes (`docker exec <container> tar`, streamed to disk),
config paths, secrets (sealed by the installer) and store files, in a `.partial` folder that
becomes the backup only once complete and checked."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyrage
from pyrage import x25519

from services.backup import archive
from services.backup.containers import Limits
from services.backup.copy import VolumeCopier
from services.backup.deps import Deps, Guard
from services.backup.description import BackupManifest, ServiceEntry, config_path_problem
from services.backup.errors import BackupError, PartialBackupError
from services.backup.handover import export_secrets
from services.backup.keys import new_identity, seal_identity
from services.backup.layout import (
    COMPOSE_FILE,
    MANIFEST,
    MANIFEST_TAG,
    SEALED_KEY,
    check_files,
    new_backup_id,
    record,
    service_folder,
)
from services.backup.members import check_archive
from shared.errors import PicStoreError
from shared.installed import ServiceRecord
from shared.manifest.model import Backup


def backup_block(service: ServiceRecord) -> Backup:
    """The manifest's backup block; BackupError when there is none or a config path lies
    outside the service's own `config/<id>` folder."""
    raw = service.manifest.get("backup")
    if not service.manifest.get("has_storage") or not isinstance(raw, dict):
        raise BackupError(f"{service.service_id} has no storage to back up (has_storage false)")
    block = Backup.model_validate(raw)
    for path in block.config_paths:
        problem = config_path_problem(service.service_id, path)
        if problem is not None:
            raise BackupError(f"{service.service_id}: {problem}")
    return block


def seal_bytes(data: bytes, recipient: x25519.Recipient) -> bytes:
    return pyrage.encrypt(data, [recipient])


class Maker:
    def __init__(self, deps: Deps, guard: Guard) -> None:
        self.deps = deps
        self.guard = guard  # one service's lock: its backup and its restore never overlap

    async def make(
        self, operation_id: str, services: list[ServiceRecord], reason: str
    ) -> BackupManifest:
        """One backup of every service that could be backed up. A service that fails (a
        hanging command, a stream over its cap, a foreign container) is left out with its
        reason: PartialBackupError when others made it, BackupError when none did."""
        config = self.deps.config()
        limits = Limits(config.stream_timeout_seconds, config.stream_max_bytes)
        identity = new_identity()
        sealed, how = await asyncio.to_thread(seal_identity, identity, config, self.deps.data_dir)
        started = datetime.now(UTC)
        folder = self.deps.backups.start(new_backup_id(started))
        failed: list[str] = []
        try:
            (folder / SEALED_KEY).write_bytes(sealed)
            manifest = BackupManifest(
                backup_id=folder.name.removesuffix(".partial"),
                operation_id=operation_id,
                reason=reason,
                started=started,
                sealed_with=how,
            )
            for service in services:
                own = service_folder(folder, service.service_id)
                warnings: list[str] = []
                try:
                    async with self.guard(service.service_id):
                        entry = await self._service(
                            own,
                            service,
                            identity.to_public(),
                            config.compress_level,
                            operation_id,
                            limits,
                            warnings,
                        )
                except PicStoreError as exc:
                    shutil.rmtree(own, ignore_errors=True)
                    failed.append(exc.message)
                    continue
                manifest.services.append(entry)
                manifest.warnings.extend(warnings)
            if not manifest.services:
                raise BackupError("; ".join(failed) or "nothing was backed up")
            manifest.files = [
                record(folder, str(path.relative_to(folder)))
                for path in sorted(folder.rglob("*"))
                if path.is_file() and path.name not in (MANIFEST, MANIFEST_TAG)
            ]
            manifest.finished = datetime.now(UTC)
            self.deps.backups.write(folder, manifest)
            await asyncio.to_thread(check_files, folder, manifest)
            self.deps.backups.finish(folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if failed:
            sids = ", ".join(e.service_id for e in manifest.services)
            raise PartialBackupError(
                f"backup {manifest.backup_id} of {sids} is complete; left out: "
                + "; ".join(failed),
                manifest,
            )
        return manifest

    async def _service(
        self,
        own: Path,
        service: ServiceRecord,
        to: x25519.Recipient,
        level: int,
        operation_id: str,
        limits: Limits,
        warnings: list[str],
    ) -> ServiceEntry:
        block = backup_block(service)
        sid = service.service_id
        (own / "volumes").mkdir(parents=True)
        entry = ServiceEntry(
            service_id=sid,
            name=service.name,
            version=service.version,
            store=service.store,
            manifest=service.manifest,
            config=service.config,
            config_paths=list(block.config_paths),
        )
        copier = VolumeCopier(self.deps.engine, level, self.deps.settings.health_timeout, limits)
        copied = await copier.copy(service, block, own / "volumes")
        for name in copied.volumes:
            await self._seal_file(own / "volumes" / f"{name}.tar.gz", to)
        entry.volumes, entry.images = copied.volumes, copied.images
        entry.restrictions = copied.restrictions
        entry.consistency = copied.consistency
        if block.config_paths:
            plain = own / "config.tar.gz"
            root = self.deps.settings.pic_root
            entry.config_paths = await asyncio.to_thread(
                archive.tar_config_paths, root, list(block.config_paths), plain, level
            )
            warnings.extend(
                f"{sid}: the config path {path} is not there (under {root}, PIC_ROOT): "
                "not in the backup"
                for path in block.config_paths
                if path not in entry.config_paths
            )
            what = f"{sid}: the config paths"
            await asyncio.to_thread(check_archive, plain, what, entry.config_paths)
            await self._seal_file(plain, to)
        (own / "contents.json.age").write_bytes(seal_bytes(json.dumps(copied.trees).encode(), to))
        exported = await export_secrets(
            self.deps.bus,
            self.deps.settings.docker_host,
            operation_id,
            sid,
            to,
            self.deps.settings.handover_timeout,
        )
        (own / "secrets.age").write_bytes(exported.secrets)
        entry.secrets = True
        if exported.compose:  # sealed by the installer to this backup's recipient
            (own / COMPOSE_FILE).write_bytes(exported.compose)
            entry.compose = True
        write_store(own / "store", service, exported.template)
        return entry

    async def _seal_file(self, plain: Path, to: x25519.Recipient) -> None:
        sealed = plain.with_name(plain.name + ".age")
        await asyncio.to_thread(archive.encrypt_file, plain, sealed, to)
        await asyncio.to_thread(plain.unlink)


def write_store(root: Path, service: ServiceRecord, template: str) -> None:
    """The service's manifest and compose template as a store of one service: a restore
    installs the very version that was backed up from it."""
    sid = service.service_id
    folder = root / "services" / sid
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(service.manifest, indent=2))
    if template:
        (folder / "compose-template.yml").write_text(template)
    index = {"services": [{"id": sid, "name": service.name, "version": service.version}]}
    (root / "index.json").write_text(json.dumps(index, indent=2))
