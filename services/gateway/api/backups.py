"""Backups: list, run, verify, restore, and the schedule, over the bus to the backup service
(shared/backup_client.py). Run, verify and restore take `wait` like an install: 0 answers at
once with the command's operation id (its result arrives as a `backup.result` event and shows
in `GET /backups`), more waits up to that many seconds for the result."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from services.gateway.deps import Deps
from shared.backup_client import (
    CHANNEL,
    BackupCommands,
    BackupQueryError,
    BackupTimeoutError,
    backup_schedule,
    list_backups,
    run_backup_command,
)
from shared.events import new_operation_id
from shared.events.backups import (
    BackupCommand,
    BackupResultPayload,
    BackupSchedule,
    BackupSummary,
    RestoreCommand,
    RestorePayload,
    VerifyCommand,
    VerifyPayload,
)
from shared.http_guard import ErrorDetail
from shared.ids import BACKUP_ID_PATTERN, SERVICE_ID_PATTERN

QUERY_TIMEOUT = 20.0  # the list and the schedule: the backup service answers at once
ServiceId = Annotated[str, Path(pattern=SERVICE_ID_PATTERN, description="A service's id")]
BackupId = Annotated[str, Path(pattern=BACKUP_ID_PATTERN, description="A backup's id")]
Wait = Annotated[
    float, Query(ge=0, le=600, description="Seconds to wait for the result; 0: do not wait")
]


class RestoreBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    replace: StrictBool = Field(
        default=False,
        description="Restore over the installed service (its data now is lost); without it a "
        "restore of an installed service is refused",
    )


class BackupAccepted(BaseModel):
    operation_id: str = Field(description="The command's operation id (its result carries it)")
    result: BackupResultPayload | None = Field(
        default=None, description="The result, when it came within `wait`"
    )


ACCEPTED = "Accepted: the command's operation id, and its result when it came within `wait`"


def _refusal(description: str) -> dict[str, Any]:
    return {"model": ErrorDetail, "description": description}


Responses = dict[int | str, dict[str, Any]]
UNAVAILABLE: Responses = {
    502: _refusal("The backup service could not say (its reason, e.g. its key is unreadable)"),
    504: _refusal("The backup service did not answer in time (is it running?)"),
}
NOT_FOUND: Responses = {404: _refusal("No complete backup of that id holds that service")}


def router(deps: Deps) -> APIRouter:
    api = APIRouter(tags=["backups"])

    def refused(exc: BackupQueryError | BackupTimeoutError) -> HTTPException:
        if isinstance(exc, BackupTimeoutError):
            return HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, exc.message)
        return HTTPException(status.HTTP_502_BAD_GATEWAY, exc.message)

    async def backups_of(service: str | None) -> list[BackupSummary]:
        try:
            return await list_backups(deps.bus, service, QUERY_TIMEOUT)
        except (BackupQueryError, BackupTimeoutError) as exc:
            raise refused(exc) from exc

    async def held(service: str, backup_id: str) -> None:
        if not any(b.backup_id == backup_id for b in await backups_of(service)):
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"no complete backup {backup_id!r} holds the service {service!r}",
            )

    async def submit(command: BackupCommands, wait: float) -> BackupAccepted:
        if wait <= 0:
            await deps.bus.publish(CHANNEL[type(command)], command)
            return BackupAccepted(operation_id=command.operation_id)
        try:
            result = await run_backup_command(deps.bus, command, wait)
        except BackupTimeoutError:
            return BackupAccepted(operation_id=command.operation_id)
        return BackupAccepted(operation_id=command.operation_id, result=result.payload)

    @api.get("/backups", response_model=list[BackupSummary], responses={**UNAVAILABLE})
    async def list_all(
        service: Annotated[
            str | None,
            Query(pattern=SERVICE_ID_PATTERN, description="Only the backups holding it"),
        ] = None,
    ) -> list[BackupSummary]:
        """The complete backups, oldest first: when, why, the services and versions each
        holds, its size, and whether a verify found it good."""
        return await backups_of(service)

    @api.get("/backups/schedule", response_model=BackupSchedule, responses={**UNAVAILABLE})
    async def schedule() -> BackupSchedule:
        """The schedule (the cell config's `backup` block: set it there) and, for every
        installed service with storage, its last good backup and when it is due next."""
        try:
            return await backup_schedule(deps.bus, QUERY_TIMEOUT)
        except (BackupQueryError, BackupTimeoutError) as exc:
            raise refused(exc) from exc

    @api.post(
        "/backups/{service}",
        response_model=BackupAccepted,
        status_code=status.HTTP_202_ACCEPTED,
        responses={202: {"description": ACCEPTED}},
    )
    async def run(service: ServiceId, wait: Wait = 0) -> BackupAccepted:
        """Back up one installed service now. A service that is not installed, or has no
        storage, gives a result with `ok: false` and the reason."""
        command = BackupCommand(operation_id=new_operation_id(), service_id=service)
        return await submit(command, wait)

    @api.post(
        "/backups/{service}/{backup_id}/verify",
        response_model=BackupAccepted,
        status_code=status.HTTP_202_ACCEPTED,
        responses={202: {"description": ACCEPTED}, **NOT_FOUND, **UNAVAILABLE},
    )
    async def verify(service: ServiceId, backup_id: BackupId, wait: Wait = 0) -> BackupAccepted:
        """Restore the backup into a sandbox, compare it with its checksums and record the
        outcome (`verified` in `GET /backups`)."""
        await held(service, backup_id)
        command = VerifyCommand(
            operation_id=new_operation_id(),
            service_id=service,
            payload=VerifyPayload(backup=backup_id),
        )
        return await submit(command, wait)

    @api.post(
        "/backups/{service}/{backup_id}/restore",
        response_model=BackupAccepted,
        status_code=status.HTTP_202_ACCEPTED,
        responses={202: {"description": ACCEPTED}, **NOT_FOUND, **UNAVAILABLE},
    )
    async def restore(
        service: ServiceId, backup_id: BackupId, body: RestoreBody, wait: Wait = 0
    ) -> BackupAccepted:
        """Restore the service from the backup (installed again from what it holds). Over an
        installed service only with `replace: true`; otherwise the result says why not."""
        await held(service, backup_id)
        command = RestoreCommand(
            operation_id=new_operation_id(),
            service_id=service,
            payload=RestorePayload(backup=backup_id, replace=body.replace),
        )
        return await submit(command, wait)

    return api
