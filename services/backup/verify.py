"""Verified backups: restore a backup into a sandbox, compare what landed with the trees
recorded at backup time, start it and wait for health, tear it down, and record the result in
the backup.

The sandbox runs the service as its own rendered compose file says (sandbox.py: command,
environment, user, sidecars, health checks; a separate Compose project on an internal network,
on fresh volumes filled from the backup, no route, account or firewall rule). A backup made
before the file was recorded gets the old sandbox: each backed-up container's image bare, with
no network. Either way each container keeps the restrictions its original had at backup time,
no-new-privileges, and loses MKNOD and NET_RAW unless those restrictions keep them.

Everything of a sandbox carries its labels and is removed by them after, also when the verify
fails or is interrupted (the removal is shielded from the cancellation); what a killed process
left is swept by the next verify of the same cell."""

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
from services.backup.errors import VerifyFailedError
from services.backup.health import wait_healthy
from services.backup.layout import COMPOSE_FILE, scratch_for, service_folder
from services.backup.restore import checked_archive, decrypt_bytes, opened
from services.backup.sandbox import (
    CELL_LABEL,
    SANDBOX_LABEL,
    cell_key,
    sandbox_document,
    write_document,
)
from shared.docker.compose import ComposeProject
from shared.docker.restrictions import Restrictions
from shared.docker.streams import create_volume, get_archive, put_archive, run_scratch
from shared.errors import PicStoreError

__all__ = ["SANDBOX_LABEL", "Verifier", "first_difference"]
COMPOSE_MARGIN = 60.0  # Compose's own work beyond the health wait (start waits for depends_on)


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
        self.cell = cell_key(deps.settings.data_dir)
        self._swept = asyncio.Lock()
        self._sweep_done = False

    def labels(self, tag: str) -> dict[str, str]:
        return {SANDBOX_LABEL: tag, CELL_LABEL: self.cell}

    async def sweep(self) -> list[str]:
        """Remove what sandboxes of this cell left (a backup service killed mid-verify);
        the first verify of a process does it before it makes anything."""
        left = {
            c.labels.get(SANDBOX_LABEL, "")
            for c in await self.deps.engine.list_containers(f"{CELL_LABEL}={self.cell}")
        }
        left |= set(await self.deps.engine.list_networks(f"{CELL_LABEL}={self.cell}"))
        left |= set(await self.deps.engine.list_volumes(f"{CELL_LABEL}={self.cell}"))
        await self._tear_down(f"{CELL_LABEL}={self.cell}")
        return sorted(left)

    async def verify(self, operation_id: str, backup_id: str) -> Verification:
        """The outcome, also written into the backup's manifest."""
        scratch = scratch_for(self.deps.settings.scratch_dir, operation_id)
        manifest = self.deps.backups.read(backup_id)  # this cell's, or refused untouched
        folder = self.deps.backups.folder(backup_id)
        try:
            async with self._swept:
                if not self._sweep_done:
                    await self.sweep()
                    self._sweep_done = True
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
        if entry.compose:
            await self._composed(own, entry, identity, scratch, contents, tag)
        else:
            await self._bare(own, entry, identity, scratch, contents, tag)

    async def _composed(
        self,
        own: Path,
        entry: ServiceEntry,
        identity: x25519.Identity,
        scratch: Path,
        contents: dict[str, dict[str, str]],
        tag: str,
    ) -> None:
        """The service as its recorded compose file runs it (sandbox.py)."""
        text = await asyncio.to_thread(decrypt_bytes, own / COMPOSE_FILE, identity, scratch)
        places = {name: where.partition(":") for name, where in entry.volumes.items()}
        filled: dict[str, set[str]] = {}
        for container, _, path in places.values():
            filled.setdefault(container, set()).add(path.rstrip("/"))
        document, names = sandbox_document(
            text, tag, self.labels(tag), entry.restrictions, entry.images, filled
        )
        for name, (container, _, _) in places.items():
            if container not in names:
                raise VerifyFailedError(
                    f"the volume {name} was backed up from {container}, which the service's "
                    f"compose file does not run (it runs: {', '.join(sorted(names))})"
                )
        timeout = self.deps.settings.health_timeout
        project = ComposeProject(
            tag, write_document(document, scratch / tag), scratch / tag, timeout + COMPOSE_MARGIN
        )
        try:
            await project.create()
            for name, (container, _, path) in places.items():
                await self._compare(own, name, names[container], path, contents, identity, scratch)
            await project.start()
            await wait_healthy(
                self.deps.engine, list(names.values()), timeout, _shown(names), exited_fails=True
            )
        finally:
            await asyncio.shield(self._tear_down(f"{SANDBOX_LABEL}={tag}"))

    async def _bare(
        self,
        own: Path,
        entry: ServiceEntry,
        identity: x25519.Identity,
        scratch: Path,
        contents: dict[str, dict[str, str]],
        tag: str,
    ) -> None:
        """A backup without its compose file: each backed-up container's image bare."""
        labels = self.labels(tag)
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
                self.deps.engine,
                list(sandboxes.values()),
                self.deps.settings.health_timeout,
                _shown(sandboxes),
                exited_fails=True,
            )
        finally:
            await asyncio.shield(self._tear_down(f"{SANDBOX_LABEL}={tag}"))

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

    async def _tear_down(self, label: str) -> None:
        """Every container (with its anonymous volumes), network and volume labelled so."""
        engine = self.deps.engine
        for container in await engine.list_containers(label):
            with contextlib.suppress(PicStoreError):
                await engine.remove_container(container.id, stop_timeout=2, anonymous_volumes=True)
        for network in await engine.list_networks(label):
            with contextlib.suppress(PicStoreError):
                await engine.remove_network(network)
        for volume in await engine.list_volumes(label):
            with contextlib.suppress(PicStoreError):
                await engine.remove_volume(volume)


def _shown(names: dict[str, str]) -> dict[str, str]:
    """Each sandbox container -> how a message names it."""
    return {sandbox: f"{original} (in the sandbox)" for original, sandbox in names.items()}
