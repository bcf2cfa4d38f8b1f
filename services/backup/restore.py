"""Restoring services from a backup: checksums first (a corrupt backup is refused before
anything is touched); the service installed when it is not (the very version, config and
secrets of the backup, from the store the backup holds); its volumes and config paths put
back; its containers restarted and healthy."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from pyrage import x25519

from services.backup import archive
from services.backup.containers import own_containers
from services.backup.deps import Deps, Guard
from services.backup.description import BackupManifest, ServiceEntry
from services.backup.errors import BackupError, RestoreRefusedError
from services.backup.handover import import_secrets
from services.backup.health import wait_healthy
from services.backup.keys import open_identity
from services.backup.layout import (
    SEALED_KEY,
    check_files,
    checked,
    scratch_for,
    service_folder,
)
from services.backup.members import safe_copy
from shared.client import StoreClient
from shared.docker.streams import exec_output, put_archive, restart
from shared.events import InstallCommand
from shared.events.messages import InstallPayload, OperationStatus, ServiceState
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


def checked_archive(
    sealed: Path, identity: x25519.Identity, into: Path, what: str, scopes: list[str] | None = None
) -> Path:
    """`sealed` decrypted and copied member by member into the plain tar `into`, each member
    checked (members.py): only what this returns is ever put back."""
    plain = into.with_suffix(".gz")
    archive.decrypt_file(sealed, plain, identity)
    try:
        safe_copy(plain, into, what, scopes)
    finally:
        plain.unlink(missing_ok=True)
    return into


class Restorer:
    def __init__(self, deps: Deps, guard: Guard) -> None:
        self.deps = deps
        self.guard = guard

    async def restore(
        self, operation_id: str, backup_id: str, service_id: str | None, replace: bool
    ) -> list[str]:
        scratch = scratch_for(self.deps.settings.scratch_dir, operation_id)
        if service_id is not None:
            checked("service id", service_id)
        manifest = self.deps.backups.read(backup_id)
        folder = self.deps.backups.folder(backup_id)
        entries = [manifest.service(service_id)] if service_id else manifest.services
        identity = await asyncio.to_thread(opened, folder, manifest, self.deps)
        for entry in entries:
            current = await self._record(entry.service_id)
            if current is not None and current.state == ServiceState.installed and not replace:
                raise RestoreRefusedError(
                    f"{entry.service_id} is installed: restoring over it replaces its data; "
                    "ask with replace (--replace) to do so"
                )
        scratch.mkdir(parents=True, mode=0o700)
        try:
            # Every archive is opened and checked before anything is touched.
            ready = [
                await asyncio.to_thread(self._prepare, folder, entry, identity, scratch)
                for entry in entries
            ]
            done = []
            for entry, archives in zip(entries, ready, strict=True):
                done.append(
                    await self._one(operation_id, folder, entry, identity, scratch, archives)
                )
            return done
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _prepare(
        self, folder: Path, entry: ServiceEntry, identity: x25519.Identity, scratch: Path
    ) -> dict[str, Path]:
        """Volume name (or "" for the config paths) -> its checked plain tar."""
        sid = entry.service_id
        own = service_folder(folder, sid)
        mine = scratch / sid
        mine.mkdir(mode=0o700)
        ready = {}
        for name in entry.volumes:
            ready[name] = checked_archive(
                own / "volumes" / f"{name}.tar.gz.age",
                identity,
                mine / f"volume-{name}.tar",
                f"{sid}: the volume {name}",
            )
        if entry.config_paths:
            ready[""] = checked_archive(
                own / "config.tar.gz.age",
                identity,
                mine / "config.tar",
                f"{sid}: the config paths",
                list(entry.config_paths),
            )
        return ready

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
        archives: dict[str, Path],
    ) -> str:
        sid = entry.service_id
        own = service_folder(folder, sid)
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
        async with self.guard(sid):  # not around the install: an upgrade asks for a backup
            await self._put_back(current, entry, archives)
        return f"{sid} {entry.version} restored"

    async def _put_back(
        self, current: ServiceRecord, entry: ServiceEntry, archives: dict[str, Path]
    ) -> None:
        """The checked archives into the service's own containers (by id) and config paths;
        its containers restarted and healthy."""
        places = {name: where.partition(":") for name, where in entry.volumes.items()}
        found = await own_containers(
            self.deps.engine, current, [container for container, _, _ in places.values()]
        )
        for name, (container, _, path) in places.items():
            target = found[container].id
            await exec_output(self.deps.engine, target, [*EMPTY_FOLDER, path])
            await put_archive(self.deps.engine, target, path, archive.file_chunks(archives[name]))
        if "" in archives:
            await asyncio.to_thread(
                archive.untar_config_paths,
                archives[""],
                self.deps.settings.pic_root,
                entry.config_paths,
            )
        for name in current.containers:
            await restart(self.deps.engine, name)
        await wait_healthy(self.deps.engine, current.containers, self.deps.settings.health_timeout)

    async def _install(
        self,
        operation_id: str,
        own: Path,
        entry: ServiceEntry,
        identity: x25519.Identity,
        scratch: Path,
    ) -> None:
        """Through the installer's own install command, after its secrets went back to it
        (sealed to the installer): the command carries no secret, the installer takes the
        secret settings from what it was just given."""
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
        config = {k: v for k, v in entry.config.items() if v != MASK}
        command = InstallCommand(
            operation_id=f"{operation_id}-install-{entry.service_id}"[:80],
            service_id=entry.service_id,
            payload=InstallPayload(store=str(own / "store"), config=config, confirm_downgrade=True),
        )
        client = StoreClient(self.deps.bus, settings.docker_host)
        result = await client.run(command, timeout=settings.install_timeout)
        if result.payload.status not in (OperationStatus.succeeded, OperationStatus.noop):
            raise BackupError(
                f"the install of {entry.service_id} {entry.version} from the backup failed: "
                f"{result.payload.message}"
            )
