"""The gateway's HTTP API: thin handlers that read state or publish a command on the bus."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import FastAPI, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from sse_starlette.sse import EventSourceResponse

from services.installer.state import OperationRecord, OpStatus
from shared.bus import Bus, TypedBucket
from shared.client import Command, OperationTimeoutError, StoreClient
from shared.events import (
    InstallCommand,
    Message,
    OperationResult,
    ReconfigureCommand,
    RemoveCommand,
    new_operation_id,
)
from shared.events.channels import PROGRESS, RESULT, SERVICE_STATE
from shared.events.messages import (
    InstallPayload,
    OperationKind,
    ReconfigurePayload,
    RemovePayload,
)
from shared.http_guard import ErrorDetail
from shared.ids import OPERATION_ID_PATTERN, SERVICE_ID_PATTERN
from shared.installed import ServiceView
from shared.service import Health, base_app

# The one grammar of each id (shared/ids.py): a path that breaks it is answered 422, before a
# command is made of it.
ServiceId = Annotated[str, Path(pattern=SERVICE_ID_PATTERN)]
OperationId = Annotated[str, Path(pattern=OPERATION_ID_PATTERN)]
Wait = Annotated[
    float, Query(ge=0, le=600, description="Seconds to wait for the result; 0: do not wait")
]
# JSON's own types only: `"plan": 0` or `"x": 1.0` is a mistake to report, not to coerce.
StrictConfigValue = StrictStr | StrictInt | StrictBool
# A store names a folder or a URL: a control character there is always a mistake.
STORE = r"^[^\x00-\x1f\x7f]+$"
EGRESS = r"^[a-z_]{1,32}$"
EGRESS_HELP = "The outbound connection: one of the manifest's egress.allowed"


class InstallBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    store: str = Field(
        min_length=1,
        max_length=4096,
        pattern=STORE,
        description="Store folder or git repository URL",
    )
    config: dict[str, StrictConfigValue] = Field(default_factory=dict)
    plan: StrictBool = False
    confirm_downgrade: StrictBool = False
    egress: str | None = Field(default=None, pattern=EGRESS, description=EGRESS_HELP)


class ReconfigureBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    config: dict[str, StrictConfigValue] = Field(default_factory=dict)
    plan: StrictBool = False
    egress: str | None = Field(default=None, pattern=EGRESS, description=EGRESS_HELP)


class Accepted(BaseModel):
    operation_id: str
    result: dict[str, object] | None = None


class OperationView(BaseModel):
    operation_id: str
    kind: OperationKind
    service_id: str
    status: OpStatus
    message: str
    error_key: str | None
    started: float
    finished: float | None


NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorDetail, "description": "No such service or operation"}
}
# FastAPI answers 400 for a body it cannot even decode (bytes that are not UTF-8).
UNREADABLE: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorDetail, "description": "The body is not readable as JSON text"}
}
ACCEPTED = "Accepted: the operation's id, and its result when it ended within `wait`"


def build_api(
    bus: Bus, operations: TypedBucket[OperationRecord], host: str, health: Health
) -> FastAPI:
    """`bus` is the gateway's identity on the bus; `operations` read with it."""
    app = base_app("installer", health)

    client = StoreClient(bus, host)  # the same client as the command line

    async def submit(command: Command, wait: float) -> Accepted:
        if wait <= 0:
            await client.submit(command)
            return Accepted(operation_id=command.operation_id)
        try:
            result = await client.run(command, timeout=wait)
        except OperationTimeoutError:
            return Accepted(operation_id=command.operation_id)
        return Accepted(
            operation_id=command.operation_id, result=result.payload.model_dump(mode="json")
        )

    @app.get("/services", response_model=list[ServiceView], tags=["services"])
    async def list_services() -> list[ServiceView]:
        return await client.services()

    @app.get(
        "/services/{service_id}", response_model=ServiceView, tags=["services"], responses=NOT_FOUND
    )
    async def status(service_id: ServiceId) -> ServiceView:
        found = await client.service(service_id)
        if found is None:
            raise HTTPException(404, f"{service_id} is not installed")
        return found

    @app.post(
        "/services/{service_id}/install",
        status_code=202,
        tags=["services"],
        response_description=ACCEPTED,
        responses=UNREADABLE,
    )
    async def install(service_id: ServiceId, body: InstallBody, wait: Wait = 0) -> Accepted:
        command = InstallCommand(
            operation_id=new_operation_id(),
            service_id=service_id,
            payload=InstallPayload(
                store=body.store,
                config=body.config,
                plan_only=body.plan,
                confirm_downgrade=body.confirm_downgrade,
                egress=body.egress,
            ),
        )
        return await submit(command, wait)

    @app.post(
        "/services/{service_id}/reconfigure",
        status_code=202,
        tags=["services"],
        response_description=ACCEPTED,
        responses=UNREADABLE,
    )
    async def reconfigure(
        service_id: ServiceId,
        body: ReconfigureBody,
        wait: Wait = 0,
    ) -> Accepted:
        command = ReconfigureCommand(
            operation_id=new_operation_id(),
            service_id=service_id,
            payload=ReconfigurePayload(config=body.config, plan_only=body.plan, egress=body.egress),
        )
        return await submit(command, wait)

    @app.delete(
        "/services/{service_id}", status_code=202, tags=["services"], response_description=ACCEPTED
    )
    async def remove(
        service_id: ServiceId,
        purge: bool = False,
        plan: bool = False,
        wait: Wait = 0,
    ) -> Accepted:
        command = RemoveCommand(
            operation_id=new_operation_id(),
            service_id=service_id,
            payload=RemovePayload(purge=purge, plan_only=plan),
        )
        return await submit(command, wait)

    @app.get("/operations/{operation_id}", tags=["operations"], responses=NOT_FOUND)
    async def operation(operation_id: OperationId) -> OperationView:
        record = await operations.get(operation_id)
        if record is None:
            raise HTTPException(404, f"no operation {operation_id}")
        return _operation_view(record.value)

    @app.get(
        "/events",
        tags=["events"],
        response_class=EventSourceResponse,
        response_description="Server-sent events: progress, results, service states",
    )
    async def events(
        operation_id: Annotated[
            str | None, Query(pattern=OPERATION_ID_PATTERN, description="Only this one")
        ] = None,
    ) -> EventSourceResponse:
        return EventSourceResponse(_stream(bus, operation_id))

    return app


def _operation_view(record: OperationRecord) -> OperationView:
    # Not the journal nor the snapshot: they are the installer's own business.
    return OperationView.model_validate(record.model_dump(include=set(OperationView.model_fields)))


async def _stream(bus: Bus, operation_id: str | None) -> AsyncIterator[dict[str, str]]:
    queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=1000)

    async def enqueue(event: Message) -> None:
        if (operation_id is None or event.operation_id == operation_id) and not queue.full():
            queue.put_nowait(event)

    async with (
        bus.watch(PROGRESS, enqueue),
        bus.watch(RESULT, enqueue),
        bus.watch(SERVICE_STATE, enqueue),
    ):
        while True:
            event = await queue.get()
            yield {"event": event.type, "data": json.dumps(event.model_dump(mode="json"))}
            if operation_id is not None and isinstance(event, OperationResult):
                return
