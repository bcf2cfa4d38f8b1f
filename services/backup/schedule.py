"""The schedule of the cell config (`backup.every_hours`): every service with storage whose
newest good backup is older than that is backed up (and verified, when
`verify_scheduled`); old backups beyond `keep` go. Also keeps the age metrics fresh."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import structlog

from services.backup.manager import BackupManager, good
from shared.errors import PicStoreError
from shared.events import new_operation_id

log = structlog.get_logger("backup.schedule")


def due(manager: BackupManager, service_ids: list[str], every: timedelta) -> list[str]:
    now = datetime.now(UTC)
    newest: dict[str, datetime] = {}
    for manifest in manager.deps.backups.all():
        if good(manifest) and manifest.finished is not None:
            for entry in manifest.services:
                newest[entry.service_id] = manifest.finished
    return [
        sid
        for sid in service_ids
        if now - newest.get(sid, datetime.min.replace(tzinfo=UTC)) >= every
    ]


async def tick(manager: BackupManager) -> list[str]:
    """One look at the schedule; the backups made."""
    config = manager.deps.config()
    manager.observe_ages()
    if config.every_hours <= 0:
        return []
    services = [r.service_id for r in await manager.with_storage(None)]
    made = []
    for sid in due(manager, services, timedelta(hours=config.every_hours)):
        result = await manager.backup(new_operation_id(), sid, "schedule")
        log.info("scheduled_backup", service_id=sid, ok=result.ok, message=result.message)
        made += result.backups
        if result.ok and config.verify_scheduled:
            for backup_id in result.backups:
                await manager.verify(new_operation_id(), backup_id)
    return made


async def run_schedule(manager: BackupManager, every: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await tick(manager)
        except PicStoreError as exc:
            log.warning("schedule_failed", reason=exc.message)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
