"""Send backup, restore and verify commands to the backup service over the bus and wait for
the result; ask it for its backups and its schedule. Used by the CLI, the gateway, the
installer (a backup before an upgrade) and the tests."""

from __future__ import annotations

from shared.bus import Bus
from shared.bus.channel import Channel
from shared.bus.request import ask
from shared.errors import OperationError
from shared.events import new_operation_id
from shared.events.backups import (
    BackupCommand,
    BackupListReply,
    BackupListRequest,
    BackupResult,
    BackupSchedule,
    BackupSummary,
    RestoreCommand,
    ScheduleReply,
    ScheduleRequest,
    VerifyCommand,
)
from shared.events.channels import (
    BACKUP,
    BACKUP_LIST,
    BACKUP_LISTED,
    BACKUP_RESULT,
    BACKUP_SCHEDULE,
    BACKUP_SCHEDULE_REPLY,
    RESTORE,
    VERIFY_BACKUP,
)

BackupCommands = BackupCommand | RestoreCommand | VerifyCommand
CHANNEL: dict[type[BackupCommands], Channel] = {
    BackupCommand: BACKUP,
    RestoreCommand: RESTORE,
    VerifyCommand: VERIFY_BACKUP,
}


class BackupTimeoutError(OperationError):
    """No result of a backup, restore or verify command within the client's wait: is the backup
    service running?"""

    key = "backup_timeout"


class BackupQueryError(OperationError):
    """The backup service could not say what it holds (its backups or its schedule): its
    reason, e.g. a backup key it cannot read."""

    key = "backup_query_failed"


async def run_backup_command(bus: Bus, command: BackupCommands, timeout: float) -> BackupResult:
    """Publish the command; its result (TimeoutError-free: BackupTimeoutError names why)."""
    return await ask(
        bus,
        CHANNEL[type(command)],
        command,
        replies=BACKUP_RESULT,
        reply=BackupResult,
        answers=lambda result: result.operation_id == command.operation_id,
        timeout=timeout,
        timeout_error=lambda: BackupTimeoutError(
            f"no backup result for {command.operation_id} within {timeout:.0f} s; is the "
            f"backup service running for cell {bus.cell}?"
        ),
    )


def _no_answer(what: str, bus: Bus, timeout: float) -> BackupTimeoutError:
    return BackupTimeoutError(
        f"no answer to the {what} request within {timeout:.0f} s; is the backup service "
        f"running for cell {bus.cell}?"
    )


async def list_backups(
    bus: Bus, service_id: str | None = None, timeout: float = 30.0
) -> list[BackupSummary]:
    """The complete backups, oldest first (those holding `service_id`, when given)."""
    request = BackupListRequest(operation_id=new_operation_id(), service_id=service_id)
    reply = await ask(
        bus,
        BACKUP_LIST,
        request,
        replies=BACKUP_LISTED,
        reply=BackupListReply,
        answers=lambda answer: answer.correlation_id == request.event_id,
        timeout=timeout,
        timeout_error=lambda: _no_answer("backup list", bus, timeout),
    )
    if not reply.payload.ok:
        raise BackupQueryError(reply.payload.reason)
    return list(reply.payload.backups)


async def backup_schedule(bus: Bus, timeout: float = 30.0) -> BackupSchedule:
    """The schedule of the cell config, and each service's last good backup and next one."""
    request = ScheduleRequest(operation_id=new_operation_id())
    reply = await ask(
        bus,
        BACKUP_SCHEDULE,
        request,
        replies=BACKUP_SCHEDULE_REPLY,
        reply=ScheduleReply,
        answers=lambda answer: answer.correlation_id == request.event_id,
        timeout=timeout,
        timeout_error=lambda: _no_answer("backup schedule", bus, timeout),
    )
    if not reply.payload.ok or reply.payload.schedule is None:
        raise BackupQueryError(reply.payload.reason or "the backup service sent no schedule")
    return reply.payload.schedule
