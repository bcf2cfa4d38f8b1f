"""Restoring services from a backup: checksums first (a corrupt backup is refused before
anything is touched); the service installed when it is not (the very version, config and
secrets of the backup, from the store the backup holds); its volumes and config paths put
back; its containers restarted and healthy."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from pyrage import x25519

from services.backup import archive
from services.backup.deps import Deps
from services.backup.errors import BackupError, RestoreRefusedError
from services.backup.handover import import_secrets
from services.backup.health import wait_healthy
from services.backup.keys import open_identity
from services.backup.layout import (
    SEALED_KEY,
    BackupManifest,
    ServiceEntry,
    check_files,
    read_manifest,
)
from shared.client import StoreClient
from shared.docker.streams import exec_output, put_archive, restart
from shared.events import InstallCommand
from shared.events.messages import ConfigValue, OperationStatus, ServiceState
from shared.installed import MASK, ServiceRecord

# Empty a folder (dot files too) and keep the folder itself: its mode comes from the archive.
EMPTY_FOLDER = ("sh", "-c", 'cd "$1" && rm -rf -- ..?* .[!.]* *', "sh")


def opened(folder: Path, manifest: BackupManifest, deps: Deps) -> x25519.Identity:
    """The backup's identity, once every file matches its checksum."""
    check_files(folder, manifest)
    sealed = (folder / SEALED_KEY).read_bytes()
    return open_identity(sealed, manifest.sealed_with, deps.config(), deps.data_dir)


def decrypt_bytes(path: Path, identity: x25519.Identity, scratch: Path) -> bytes:
    plain = scratch / (path.name + ".plain")
    archive.decrypt_file(path, plain, identity)
    try:
        return plain.read_bytes()
    finally:
        plain.unlink()


class Restorer:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def restore(
        self, operation_id: str, backup_id: str, service_id: str | None, replace: bool
    ) -> list[str]:
        folder = self.deps.backups.folder(backup_id)
        manifest = read_manifest(folder)
        entries = [manifest.service(service_id)] if service_id else manifest.services
        identity = await asyncio.to_thread(opened, folder, manifest, self.deps)
        for entry in entries:
            current = await self._record(entry.service_id)
            if current is not None and current.state == ServiceState.installed and not replace:
                raise RestoreRefusedError(
                    f"{entry.service_id} is installed: restoring over it replaces its data; "
                    "ask with replace (--replace) to do so"
                )
        scratch = self.deps.settings.scratch_dir / operation_id
        scratch.mkdir(parents=True, mode=0o700)
        try:
            return [
                await self._one(operation_id, folder, entry, identity, scratch) for entry in entries
            ]
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    async def _record(self, service_id: str) -> ServiceRecord | None:
        found = await self.deps.services.get(service_id)
        return found.value if found else None

    async def _one(
        self,
        operation_id: str,
        folder: Path,
        entry: ServiceEntry,
        identity: x25519.Identity,
        scratch: Path,
    ) -> str:
        sid = entry.service_id
        own = folder / sid
        current = await self._record(sid)
        if (
            current is None
            or current.state != ServiceState.installed
            or current.version != entry.version
        ):
            await self._install(operation_id, own, entry, identity, scratch)
            current = await self._record(sid)
            if current is None:
                raise BackupError(f"{sid} is not installed after its install succeeded")
        for name, where in entry.volumes.items():
            container, _, path = where.partition(":")
            plain = scratch / f"{name}.tar.gz"
            sealed = own / "volumes" / f"{name}.tar.gz.age"
            await asyncio.to_thread(archive.decrypt_file, sealed, plain, identity)
            await exec_output(self.deps.engine, container, [*EMPTY_FOLDER, path])
            await put_archive(self.deps.engine, container, path, archive.file_chunks(plain))
            plain.unlink()
        if entry.config_paths:
            plain = scratch / "config.tar.gz"
            await asyncio.to_thread(
                archive.decrypt_file, own / "config.tar.gz.age", plain, identity
            )
            await asyncio.to_thread(
                archive.untar_config_paths, plain, self.deps.settings.pic_root, entry.config_paths
            )
        for name in current.containers:
            await restart(self.deps.engine, name)
        await wait_healthy(self.deps.engine, current.containers, self.deps.settings.health_timeout)
        return f"{sid} {entry.version} restored"

    async def _install(
        self,
        operation_id: str,
        own: Path,
        entry: ServiceEntry,
        identity: x25519.Identity,
        scratch: Path,
    ) -> None:
        """Through the installer's own install command, after its secrets went back to it."""
        secrets_json = await asyncio.to_thread(
            decrypt_bytes, own / "secrets.age", identity, scratch
        )
        settings = self.deps.settings
        await import_secrets(
            self.deps.bus,
            settings.docker_host,
            operation_id,
            entry.service_id,
            secrets_json,
            True,
            settings.handover_timeout,
        )
        secret_settings: dict[str, ConfigValue] = json.loads(secrets_json).get("settings", {})
        config = {k: v for k, v in entry.config.items() if v != MASK}
        command = InstallCommand(
            operation_id=f"{operation_id}-install-{entry.service_id}"[:80],
            service_id=entry.service_id,
            payload={
                "store": str(own / "store"),
                "config": {**config, **secret_settings},
                "confirm_downgrade": True,
            },
        )
        client = StoreClient(self.deps.bus, settings.docker_host)
        result = await client.run(command, timeout=settings.install_timeout)
        if result.payload.status not in (OperationStatus.succeeded, OperationStatus.noop):
            raise BackupError(
                f"the install of {entry.service_id} {entry.version} from the backup failed: "
                f"{result.payload.message}"
            )
