"""The copy of a service's volumes, as its manifest asks: live, between a `before` and an
`after` command (a dump), or with its containers stopped. Each volume is a tar stream
(`docker exec <container> tar`, or Docker's archive API of a stopped container: the same
entries) compressed to `<name>.tar.gz` chunk by chunk. Only the service's own containers are
touched (containers.py), each command and stream within the cell config's limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from services.backup import archive
from services.backup.containers import Limits, own_containers
from services.backup.errors import BackupError, StreamLimitError, UnsafeEntryError
from services.backup.health import wait_healthy
from services.backup.members import MemberRule
from services.backup.metrics import BYTES
from shared.docker import DockerEngine
from shared.docker.engine import ContainerInfo, DockerError
from shared.docker.restrictions import Restrictions
from shared.docker.streams import exec_stream, get_archive, restrictions_of, stop
from shared.errors import PicStoreError
from shared.installed import ServiceRecord
from shared.manifest.model import Backup, BackupHook, BackupVolume

Consistency = Literal["live", "commands", "stopped"]


@dataclass
class Copied:
    consistency: Consistency
    volumes: dict[str, str] = field(default_factory=dict)  # name -> container:path
    images: dict[str, str] = field(default_factory=dict)  # container -> image
    restrictions: dict[str, Restrictions] = field(default_factory=dict)  # container -> them
    trees: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> tree


def consistency_of(block: Backup) -> Consistency:
    if block.stop:
        return "stopped"
    return "commands" if block.before or block.after else "live"


class VolumeCopier:
    def __init__(
        self, engine: DockerEngine, level: int, health_timeout: float, limits: Limits
    ) -> None:
        self.engine = engine
        self.level = level
        self.health_timeout = health_timeout
        self.limits = limits

    async def copy(self, service: ServiceRecord, block: Backup, into: Path) -> Copied:
        copied = Copied(consistency_of(block))
        sid = service.service_id
        hooks = [h.container for h in (block.before, block.after) if h is not None]
        found = await own_containers(
            self.engine, service, [*(v.container for v in block.volumes), *hooks]
        )
        for volume in block.volumes:
            info = found[volume.container]
            if not info.running:
                raise BackupError(
                    f"{sid}: the container {volume.container} is not running, "
                    f"so its {volume.path} cannot be archived"
                )
            copied.images[volume.container] = info.image
            try:  # what its sandbox keeps at verify time
                copied.restrictions[volume.container] = await restrictions_of(self.engine, info.id)
            except DockerError as exc:
                raise BackupError(
                    f"{sid}: the container {volume.container}: {exc.message}"
                ) from exc
        await self._hook(sid, block.before, "before", found)
        try:
            if block.stop:
                for name in service.containers:
                    await stop(self.engine, name)
            for volume in block.volumes:
                await self._one(sid, volume, found[volume.container], block.stop, into, copied)
        finally:
            if block.stop:
                for name in service.containers:
                    await self.engine.start(name)
                await wait_healthy(self.engine, service.containers, self.health_timeout)
            await self._hook(sid, block.after, "after", found)
        return copied

    async def _hook(
        self, sid: str, hook: BackupHook | None, when: str, found: dict[str, ContainerInfo]
    ) -> None:
        if hook is None:
            return
        what = f"{sid}: the {when} command of the backup"
        try:
            await self.limits.output(
                exec_stream(self.engine, found[hook.container].id, hook.command), what
            )
        except StreamLimitError:
            raise
        except PicStoreError as exc:
            raise BackupError(f"{what} failed: {exc.message}") from exc

    async def _one(
        self,
        sid: str,
        volume: BackupVolume,
        info: ContainerInfo,
        stopped: bool,
        into: Path,
        copied: Copied,
    ) -> None:
        source: AsyncIterator[bytes]
        if stopped:
            source = get_archive(self.engine, info.id, volume.path.rstrip("/") + "/.")
        else:
            tar = ["tar", "-c", "-f", "-", "-C", volume.path, "."]
            source = exec_stream(self.engine, info.id, tar)
        what = f"{sid}: the archive of {volume.container}:{volume.path}"
        plain = into / f"{volume.name}.tar.gz"
        BYTES.inc(await archive.gzip_to_file(self.limits.stream(source, what), plain, self.level))
        try:
            copied.trees[volume.name] = await asyncio.to_thread(
                archive.tree_of, plain, True, False, MemberRule()
            )
        except UnsafeEntryError as exc:
            raise UnsafeEntryError(
                f"{sid}: the volume {volume.name} holds an entry no restore would put back "
                f"({exc.message}): fix it in the container, or leave it out of the backup path"
            ) from exc
        copied.volumes[volume.name] = f"{volume.container}:{volume.path}"
