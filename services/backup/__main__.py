"""`python -m services.backup`: backups, restores and verified backups of the services."""

from __future__ import annotations

import asyncio
import shutil
from contextlib import AsyncExitStack

import structlog

from services.backup.deps import Deps
from services.backup.handlers import start
from services.backup.layout import Backups
from services.backup.manager import BackupManager
from services.backup.schedule import run_schedule
from services.backup.settings import BackupSettings
from shared.bus import Bus
from shared.docker import DockerEngine
from shared.installed import services_bucket
from shared.service import Health, finish_on_exit, run_service

SETTINGS = BackupSettings()
log = structlog.get_logger("backup")


async def main(bus: Bus, stack: AsyncExitStack, stop: asyncio.Event, health: Health) -> None:
    engine = DockerEngine()
    stack.push_async_callback(engine.close)
    await engine.ping()
    backups = Backups(SETTINGS.backups_dir, SETTINGS.data_dir)
    swept = backups.sweep_partial()  # an interrupted backup leaves nothing that looks good
    if swept:
        log.warning("partial_backups_removed", backups=swept)
    SETTINGS.backups_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.rmtree(SETTINGS.scratch_dir, ignore_errors=True)  # plain files of a dead restore
    deps = Deps(bus, engine, await services_bucket(bus), SETTINGS, backups)
    manager = BackupManager(deps)
    tasks = start(bus, manager, SETTINGS, stop)
    tasks.append(asyncio.create_task(run_schedule(manager, SETTINGS.schedule_check, stop)))
    finish_on_exit(stack, tasks)


if __name__ == "__main__":
    raise SystemExit(run_service(SETTINGS, main))
