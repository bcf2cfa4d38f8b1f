"""What the backup service holds, as the bus answers it: the complete backups (each as a
summary: no secret, no path) and the schedule of the cell config with each service's last
good backup and when it is due next."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from services.backup.description import BackupManifest
from services.backup.manager import BackupManager, good
from shared.errors import PicStoreError
from shared.events.backups import (
    BackupListReplyPayload,
    BackupSchedule,
    BackupSummary,
    ScheduledService,
    ScheduleReplyPayload,
)


def summary(manifest: BackupManifest) -> BackupSummary:
    verified = manifest.verified
    return BackupSummary(
        backup_id=manifest.backup_id,
        reason=manifest.reason,
        started=manifest.started,
        finished=manifest.finished,
        services={e.service_id: e.version for e in manifest.services},
        size=sum(f.size for f in manifest.files),
        consistency={e.service_id: e.consistency for e in manifest.services},
        verified=verified.ok if verified else None,
        verified_at=verified.at if verified else None,
        verify_reason=verified.reason if verified else "",
        warnings=list(manifest.warnings),
    )


async def listing(manager: BackupManager, service_id: str | None) -> BackupListReplyPayload:
    """The complete backups, oldest first (those holding `service_id`, when given)."""
    try:
        manifests = await asyncio.to_thread(manager.deps.backups.all)
    except PicStoreError as exc:
        return BackupListReplyPayload(ok=False, reason=exc.message, error_key=exc.key)
    return BackupListReplyPayload(
        ok=True,
        backups=[
            summary(m)
            for m in manifests
            if service_id is None or any(e.service_id == service_id for e in m.services)
        ],
    )


def last_good(manifests: list[BackupManifest]) -> dict[str, datetime]:
    newest: dict[str, datetime] = {}
    for manifest in manifests:
        if good(manifest) and manifest.finished is not None:
            for entry in manifest.services:
                before = newest.get(entry.service_id)
                if before is None or manifest.finished > before:
                    newest[entry.service_id] = manifest.finished
    return newest


async def schedule(manager: BackupManager) -> ScheduleReplyPayload:
    """The cell config's schedule, and per service with storage its last good backup and
    when the schedule backs it up next."""
    try:
        config = manager.deps.config()
        records = await manager.with_storage(None)
        newest = last_good(await asyncio.to_thread(manager.deps.backups.all))
    except PicStoreError as exc:
        return ScheduleReplyPayload(ok=False, reason=exc.message, error_key=exc.key)
    every = timedelta(hours=config.every_hours)
    now = datetime.now(UTC)
    services = []
    for record in records:
        last = newest.get(record.service_id)
        due = None
        if config.every_hours > 0:
            due = now if last is None else last + every
        services.append(
            ScheduledService(service_id=record.service_id, last_good=last, next_due=due)
        )
    return ScheduleReplyPayload(
        ok=True,
        schedule=BackupSchedule(
            every_hours=config.every_hours,
            verify_scheduled=config.verify_scheduled,
            keep=config.keep,
            services=services,
        ),
    )
