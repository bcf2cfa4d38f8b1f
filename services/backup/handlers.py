"""Bus handlers: the `backup` step of the install saga (it registers what the service's
backups will hold), and the backup, restore and verify commands, each answered with a
result."""

from __future__ import annotations

import asyncio

from services.backup.deps import Deps
from services.backup.errors import BackupError
from services.backup.keys import check_key
from services.backup.maker import backup_block
from services.backup.manager import BackupManager
from services.backup.settings import BackupSettings
from shared.bus import Bus
from shared.errors import PicStoreError
from shared.events import StepRequest
from shared.events.backups import (
    BackupCommand,
    BackupResult,
    BackupResultPayload,
    RestoreCommand,
    VerifyCommand,
)
from shared.events.channels import BACKUP, BACKUP_RESULT, RESTORE, VERIFY_BACKUP
from shared.events.messages import StepResultPayload
from shared.installed import ServiceRecord
from shared.participants import Participant

COMMANDS_AT_ONCE = 4


class BackupParticipant(Participant):
    """Registers a service's backup plan: what each backup of it will hold."""

    owner = "backup"

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def apply(self, request: StepRequest) -> StepResultPayload:
        payload = request.payload
        record = ServiceRecord(
            service_id=str(request.service_id), state="installing", manifest=payload.manifest
        )
        try:
            block = backup_block(record)
        except (BackupError, ValueError) as exc:
            return StepResultPayload(
                step=payload.step, action=payload.action, ok=False, reason=str(exc)
            )
        held = [f"{v.name}.tar.gz from {v.container}:{v.path}" for v in block.volumes]
        held += [f"config {path}" for path in block.config_paths]
        warning = ""
        try:
            check_key(self.deps.config(), self.deps.data_dir)
        except PicStoreError as exc:
            warning = f"backups of {request.service_id} cannot be made yet: {exc.message}"
        return StepResultPayload(
            step=payload.step,
            action=payload.action,
            ok=True,
            warning=warning,
            details={"backs_up": "; ".join(held)},
        )

    async def compensate(self, request: StepRequest) -> StepResultPayload:
        # Nothing to undo: the plan lives in the service's manifest, and backups already made
        # stay (a removed service is restored from them).
        payload = request.payload
        return StepResultPayload(step=payload.step, action=payload.action, ok=True)


def start(
    bus: Bus, manager: BackupManager, settings: BackupSettings, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    async def answer(
        message: BackupCommand | RestoreCommand | VerifyCommand, result: BackupResultPayload
    ) -> None:
        await bus.publish(
            BACKUP_RESULT,
            BackupResult(
                operation_id=message.operation_id,
                service_id=message.service_id,
                correlation_id=message.event_id,
                payload=result,
            ),
        )

    async def on_backup(command: BackupCommand) -> None:
        await answer(
            command,
            await manager.backup(command.operation_id, command.service_id, command.payload.reason),
        )

    async def on_restore(command: RestoreCommand) -> None:
        payload = command.payload
        await answer(
            command,
            await manager.restore(
                command.operation_id, payload.backup, command.service_id, payload.replace
            ),
        )

    async def on_verify(command: VerifyCommand) -> None:
        await answer(command, await manager.verify(command.operation_id, command.payload.backup))

    # Several commands at once: a service whose backup hangs (until its limit) holds up no
    # other service's backup, nor the installer's before an upgrade.
    consumers = (
        (BACKUP, "backup-run", on_backup, COMMANDS_AT_ONCE),
        (RESTORE, "backup-restore", on_restore, COMMANDS_AT_ONCE),
        (VERIFY_BACKUP, "backup-verify", on_verify, 1),
    )
    return [
        *BackupParticipant(manager.deps).tasks(bus, stop),
        *(
            asyncio.create_task(
                bus.consume(
                    channel,
                    durable,
                    handler,
                    stop=stop,
                    ack_wait=settings.ack_wait,
                    concurrency=concurrency,
                )
            )
            for channel, durable, handler, concurrency in consumers
        ),
    ]
