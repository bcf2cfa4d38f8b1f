"""Verified backups: restore a backup into a sandbox (scratch volumes and containers with no
network: no routes, accounts or firewall rules reach them; each container under the
restrictions its original had at backup time, no-new-privileges, and without MKNOD and
NET_RAW unless those restrictions keep them), compare what landed with the trees recorded at
backup time, wait for health, tear the sandbox down, and record the result in the backup."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pyrage import x25519

from services.backup import archive
from services.backup.deps import Deps
from services.backup.description import ServiceEntry, Verification
from services.backup.errors import BackupError, VerifyFailedError
from services.backup.health import wait_healthy
from services.backup.layout import scratch_for, service_folder
from services.backup.restore import checked_archive, decrypt_bytes, opened
from shared.docker.restrictions import Restrictions
from shared.docker.streams import create_volume, get_archive, put_archive, run_scratch
from shared.errors import PicStoreError

SANDBOX_LABEL = "ngo.pic.store.backup-sandbox"


def first_difference(expected: dict[str, str], found: dict[str, str]) -> str | None:
    for name in sorted(set(expected) | set(found)):
        want, got = expected.get(name), found.get(name)
        if want == got:
            continue
        if got is None:
            return f"{name} is missing"
        if want is None:
            return f"{name} is there but was not backed up"
        return f"{name} differs ({want.split()[0]} recorded, {got.split()[0]} found)"
    return None


class Verifier:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def verify(self, operation_id: str, backup_id: str) -> Verification:
        """The outcome, also written into the backup's manifest."""
        scratch = scratch_for(self.deps.settings.scratch_dir, operation_id)
        manifest = self.deps.backups.read(backup_id)  # this cell's, or refused untouched
        folder = self.deps.backups.folder(backup_id)
        try:
            scratch.mkdir(parents=True, mode=0o700)
            identity = await asyncio.to_thread(opened, folder, manifest, self.deps)
            for entry in manifest.services:
                own = service_folder(folder, entry.service_id)
                await self._service(own, entry, identity, scratch)
            outcome = Verification(ok=True, at=datetime.now(UTC))
        except PicStoreError as exc:
            outcome = Verification(ok=False, at=datetime.now(UTC), reason=exc.message)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        manifest.verified = outcome
        self.deps.backups.write(folder, manifest)
        return outcome

    async def _service(
        self, own: Path, entry: ServiceEntry, identity: x25519.Identity, scratch: Path
    ) -> None:
        contents: dict[str, dict[str, str]] = json.loads(
            await asyncio.to_thread(decrypt_bytes, own / "contents.json.age", identity, scratch)
        )
        tag = f"pic-verify-{uuid.uuid4().hex[:8]}"
        labels = {SANDBOX_LABEL: tag}
        mounts: dict[str, dict[str, str]] = {}  # container -> {volume: path}
        for name, where in entry.volumes.items():
            container, _, path = where.partition(":")
            mounts.setdefault(container, {})[f"{tag}-{name}"] = path
        sandboxes = {container: f"{tag}-{container}" for container in mounts}
        try:
            for container, volumes in mounts.items():
                for volume in volumes:
                    await create_volume(self.deps.engine, volume, labels)
                await run_scratch(
                    self.deps.engine,
                    sandboxes[container],
                    entry.images[container],
                    volumes,
                    labels,
                    entry.restrictions.get(container, Restrictions()),
                    start=False,
                )
            for name, where in entry.volumes.items():
                container, _, path = where.partition(":")
                await self._compare(
                    own, name, sandboxes[container], path, contents, identity, scratch
                )
            for sandbox in sandboxes.values():
                await self.deps.engine.start(sandbox)
            await wait_healthy(
                self.deps.engine, list(sandboxes.values()), self.deps.settings.health_timeout
            )
        finally:
            await self._tear_down(sandboxes.values(), [v for m in mounts.values() for v in m])

    async def _compare(
        self,
        own: Path,
        name: str,
        sandbox: str,
        path: str,
        contents: dict[str, dict[str, str]],
        identity: x25519.Identity,
        scratch: Path,
    ) -> None:
        plain = await asyncio.to_thread(
            checked_archive,
            own / "volumes" / f"{name}.tar.gz.age",
            identity,
            scratch / f"{name}.tar",
            f"the volume {name}",
        )
        await put_archive(self.deps.engine, sandbox, path, archive.file_chunks(plain))
        plain.unlink()
        landed = scratch / f"{name}.landed.tar"
        await archive.raw_to_file(get_archive(self.deps.engine, sandbox, path), landed)
        found = await asyncio.to_thread(archive.tree_of, landed, False, True)
        landed.unlink()
        difference = first_difference(contents.get(name, {}), found)
        if difference is not None:
            raise VerifyFailedError(f"volume {name} restored in the sandbox: {difference}")

    async def _tear_down(self, containers: object, volumes: list[str]) -> None:
        for name in containers:  # type: ignore[attr-defined]
            with contextlib.suppress(BackupError, PicStoreError):
                await self.deps.engine.remove_container(name, stop_timeout=2)
        for volume in volumes:
            with contextlib.suppress(PicStoreError):
                await self.deps.engine.remove_volume(volume)
