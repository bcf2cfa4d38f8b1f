"""Send backup, restore and verify commands to the backup service over the bus and wait for
the result. Used by the CLI, the installer (a backup before an upgrade) and the tests."""

from __future__ import annotations

from shared.bus import Bus
from shared.bus.channel import Channel
from shared.bus.request import ask
from shared.errors import OperationError
from shared.events.backups import BackupCommand, BackupResult, RestoreCommand, VerifyCommand
from shared.events.channels import BACKUP, BACKUP_RESULT, RESTORE, VERIFY_BACKUP

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
