"""Upgrade safety: before a service with storage is upgraded, the backup service backs it up;
when the upgrade fails (or the new version never becomes healthy) and the saga has put the
previous version back, that backup puts back its data too, and the result says so. With no
backup service running the upgrade goes on, with a warning, like other skipped steps."""

from __future__ import annotations

import structlog

from services.installer.context import OpContext
from shared.backup_client import run_backup_command
from shared.contract.presence import handles
from shared.contract.registry import upgrade_guard
from shared.errors import OperationError, PicStoreError
from shared.events.backups import BackupCommand, BackupPayload, RestoreCommand, RestorePayload

log = structlog.get_logger("upgrade_guard")


class UpgradeBackupError(OperationError):
    """The backup before an upgrade failed, so the upgrade did not start."""

    key = "upgrade_backup_failed"


async def backup_before_upgrade(ctx: OpContext) -> None:
    previous = ctx.previous
    if previous is None or not previous.manifest.get("has_storage"):
        return
    bus = ctx.deps.bus
    guard = upgrade_guard()  # the participant whose contract says it guards upgrades
    if guard is None or not await handles(bus, guard[1].name):
        ctx.warnings.append(
            f"no backup before the upgrade of {ctx.service_id}: the backup service is not "
            "running, so a failed upgrade cannot bring its data back"
        )
        return
    command = BackupCommand(
        operation_id=f"{ctx.operation_id}-backup"[:80],
        service_id=ctx.service_id,
        payload=BackupPayload(reason="upgrade"),
    )
    result = await run_backup_command(bus, command, ctx.deps.settings.upgrade_backup_timeout)
    if not result.payload.ok:
        raise UpgradeBackupError(
            f"the backup before the upgrade failed, so the upgrade did not start: "
            f"{result.payload.message}"
        )
    ctx.safety_backup = result.payload.backups[0]


async def restore_after_failed_upgrade(ctx: OpContext) -> str:
    """Once the previous version runs again: its data from the backup; what to tell."""
    backup_id = ctx.safety_backup
    if backup_id is None or ctx.previous is None:
        return ""
    command = RestoreCommand(
        operation_id=f"{ctx.operation_id}-restore"[:80],
        service_id=ctx.service_id,
        payload=RestorePayload(backup=backup_id, replace=True),
    )
    try:
        result = await run_backup_command(
            ctx.deps.bus, command, ctx.deps.settings.upgrade_backup_timeout
        )
    except PicStoreError as exc:
        return f"; the data could not be restored from backup {backup_id}: {exc.message}"
    if not result.payload.ok:
        return f"; the data could not be restored from backup {backup_id}: {result.payload.message}"
    log.info("upgrade_rolled_back_with_data", backup=backup_id)
    return (
        f"; {ctx.previous.version} runs again with its data from backup {backup_id}, "
        "taken before the upgrade"
    )
