"""The copy of a service's volumes, as its manifest asks: live, between a `before` and an
`after` command (a dump), or with its containers stopped. Each volume is a tar stream
(`docker exec <container> tar`, or Docker's archive API of a stopped container: the same
entries) compressed to `<name>.tar.gz` chunk by chunk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from services.backup import archive
from services.backup.errors import BackupError
from services.backup.health import wait_healthy
from services.backup.metrics import BYTES
from shared.docker import DockerEngine
from shared.docker.streams import exec_output, exec_stream, get_archive, stop
from shared.installed import ServiceRecord
from shared.manifest.model import Backup, BackupHook, BackupVolume

Consistency = Literal["live", "commands", "stopped"]


@dataclass
class Copied:
    consistency: Consistency
    volumes: dict[str, str] = field(default_factory=dict)  # name -> container:path
    images: dict[str, str] = field(default_factory=dict)  # container -> image
    trees: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> tree


def consistency_of(block: Backup) -> Consistency:
    if block.stop:
        return "stopped"
    return "commands" if block.before or block.after else "live"


async def _hook(engine: DockerEngine, hook: BackupHook | None, when: str) -> None:
    if hook is None:
        return
    try:
        await exec_output(engine, hook.container, hook.command)
    except BackupError as exc:
        raise BackupError(f"the {when} command of the backup failed: {exc.message}") from exc


class VolumeCopier:
    def __init__(self, engine: DockerEngine, level: int, health_timeout: float) -> None:
        self.engine = engine
        self.level = level
        self.health_timeout = health_timeout

    async def copy(self, service: ServiceRecord, block: Backup, into: Path) -> Copied:
        copied = Copied(consistency_of(block))
        for volume in block.volumes:
            info = await self.engine.inspect(volume.container)
            if info is None or not info.running:
                raise BackupError(
                    f"{service.service_id}: the container {volume.container} is not running, "
                    f"so its {volume.path} cannot be archived"
                )
            copied.images[volume.container] = info.image
        await _hook(self.engine, block.before, "before")
        try:
            if block.stop:
                for name in service.containers:
                    await stop(self.engine, name)
            for volume in block.volumes:
                await self._one(volume, block.stop, into, copied)
        finally:
            if block.stop:
                for name in service.containers:
                    await self.engine.start(name)
                await wait_healthy(self.engine, service.containers, self.health_timeout)
            await _hook(self.engine, block.after, "after")
        return copied

    async def _one(self, volume: BackupVolume, stopped: bool, into: Path, copied: Copied) -> None:
        source: AsyncIterator[bytes]
        if stopped:
            source = get_archive(self.engine, volume.container, volume.path.rstrip("/") + "/.")
        else:
            tar = ["tar", "-c", "-f", "-", "-C", volume.path, "."]
            source = exec_stream(self.engine, volume.container, tar)
        plain = into / f"{volume.name}.tar.gz"
        BYTES.inc(await archive.gzip_to_file(source, plain, self.level))
        copied.trees[volume.name] = await asyncio.to_thread(archive.tree_of, plain)
        copied.volumes[volume.name] = f"{volume.container}:{volume.path}"
