"""Bus handlers: the `backup` step of the install saga (it registers what the service's
backups will hold), the backup, restore and verify commands, each answered with a result,
and the list and schedule requests, each answered with what the service holds."""

from __future__ import annotations

import asyncio

from services.backup.deps import Deps
from services.backup.errors import BackupError
from services.backup.keys import check_key
from services.backup.listing import listing, schedule
from services.backup.maker import backup_block
from services.backup.manager import BackupManager
from services.backup.settings import BackupSettings
from shared.contract.participants.backup import BACKUP_STEP, CONTRACT
from shared.contract.serve import Outcome, Participant, ServingBus
from shared.errors import PicStoreError
from shared.events import StepRequest
from shared.events.backups import (
    BackupCommand,
    BackupListReply,
    BackupListRequest,
    BackupResult,
    BackupResultPayload,
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
from shared.installed import ServiceRecord


async def register(deps: Deps, request: StepRequest) -> Outcome:
    """What each backup of the service will hold (the plan lives in its manifest)."""
    record = ServiceRecord(
        service_id=str(request.service_id), state="installing", manifest=request.payload.manifest
    )
    try:
        block = backup_block(record)
    except ValueError as exc:
        raise BackupError(str(exc)) from exc
    held = [f"{v.name}.tar.gz from {v.container}:{v.path}" for v in block.volumes]
    held += [f"config {path}" for path in block.config_paths]
    warning = ""
    try:
        check_key(deps.config(), deps.data_dir)
    except PicStoreError as exc:
        warning = f"backups of {request.service_id} cannot be made yet: {exc.message}"
    return Outcome(warning=warning, details={"backs_up": "; ".join(held)})


def participant(manager: BackupManager, settings: BackupSettings, bus: ServingBus) -> Participant:
    service = Participant(CONTRACT)

    @service.apply(BACKUP_STEP)
    async def register_backups(request: StepRequest) -> Outcome:
        return await register(manager.deps, request)

    @service.compensate(BACKUP_STEP)
    async def keep_backups(request: StepRequest) -> Outcome:
        # Nothing to undo: backups already made stay (a removed service is restored from them).
        return Outcome()

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

    @service.endpoint(BACKUP, ack_wait=settings.ack_wait)
    async def on_backup(command: BackupCommand) -> None:
        await answer(
            command,
            await manager.backup(command.operation_id, command.service_id, command.payload.reason),
        )

    @service.endpoint(RESTORE, ack_wait=settings.ack_wait)
    async def on_restore(command: RestoreCommand) -> None:
        payload = command.payload
        await answer(
            command,
            await manager.restore(
                command.operation_id, payload.backup, command.service_id, payload.replace
            ),
        )

    @service.endpoint(VERIFY_BACKUP, ack_wait=settings.ack_wait)
    async def on_verify(command: VerifyCommand) -> None:
        await answer(command, await manager.verify(command.operation_id, command.payload.backup))

    @service.endpoint(BACKUP_LIST)
    async def on_list(request: BackupListRequest) -> None:
        await bus.publish(
            BACKUP_LISTED,
            BackupListReply(
                operation_id=request.operation_id,
                service_id=request.service_id,
                correlation_id=request.event_id,
                payload=await listing(manager, request.service_id),
            ),
        )

    @service.endpoint(BACKUP_SCHEDULE)
    async def on_schedule(request: ScheduleRequest) -> None:
        await bus.publish(
            BACKUP_SCHEDULE_REPLY,
            ScheduleReply(
                operation_id=request.operation_id,
                correlation_id=request.event_id,
                payload=await schedule(manager),
            ),
        )

    return service


def start(
    bus: ServingBus, manager: BackupManager, settings: BackupSettings, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    return participant(manager, settings, bus).tasks(bus, stop)
