"""The gateway's HTTP API: thin handlers that read state or publish a command on the bus."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import FastAPI, HTTPException, Path, Query
from pydantic import BaseModel, Field
from sse_starlette.sse import EventSourceResponse

from services.installer.state import Buckets, OperationRecord
from shared.bus import Bus
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
from shared.events.messages import ConfigValue
from shared.installed import ServiceView
from shared.service import Health, base_app

ServiceId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class InstallBody(BaseModel):
    store: str = Field(min_length=1, description="Store folder or git repository URL")
    config: dict[str, ConfigValue] = Field(default_factory=dict)
    plan: bool = False
    confirm_downgrade: bool = False


class ReconfigureBody(BaseModel):
    config: dict[str, ConfigValue] = Field(default_factory=dict)
    plan: bool = False


class Accepted(BaseModel):
    operation_id: str
    result: dict[str, object] | None = None


def build_api(bus: Bus, buckets: Buckets, host: str, health: Health) -> FastAPI:
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

    @app.get("/services/{service_id}", response_model=ServiceView, tags=["services"])
    async def status(service_id: ServiceId) -> ServiceView:
        found = await client.service(service_id)
        if found is None:
            raise HTTPException(404, f"{service_id} is not installed")
        return found

    @app.post("/services/{service_id}/install", status_code=202, tags=["services"])
    async def install(
        service_id: ServiceId, body: InstallBody, wait: Annotated[float, Query(ge=0, le=600)] = 0
    ) -> Accepted:
        command = InstallCommand(
            operation_id=new_operation_id(),
            service_id=service_id,
            payload={
                "store": body.store,
                "config": body.config,
                "plan_only": body.plan,
                "confirm_downgrade": body.confirm_downgrade,
            },
        )
        return await submit(command, wait)

    @app.post("/services/{service_id}/reconfigure", status_code=202, tags=["services"])
    async def reconfigure(
        service_id: ServiceId,
        body: ReconfigureBody,
        wait: Annotated[float, Query(ge=0, le=600)] = 0,
    ) -> Accepted:
        command = ReconfigureCommand(
            operation_id=new_operation_id(),
            service_id=service_id,
            payload={"config": body.config, "plan_only": body.plan},
        )
        return await submit(command, wait)

    @app.delete("/services/{service_id}", status_code=202, tags=["services"])
    async def remove(
        service_id: ServiceId,
        purge: bool = False,
        plan: bool = False,
        wait: Annotated[float, Query(ge=0, le=600)] = 0,
    ) -> Accepted:
        command = RemoveCommand(
            operation_id=new_operation_id(),
            service_id=service_id,
            payload={"purge": purge, "plan_only": plan},
        )
        return await submit(command, wait)

    @app.get("/operations/{operation_id}", tags=["operations"])
    async def operation(operation_id: str) -> dict[str, object]:
        record = await buckets.operations.get(operation_id)
        if record is None:
            raise HTTPException(404, f"no operation {operation_id}")
        return _operation_view(record.value)

    @app.get("/events", tags=["events"])
    async def events(operation_id: str | None = None) -> EventSourceResponse:
        return EventSourceResponse(_stream(bus, operation_id))

    return app


def _operation_view(record: OperationRecord) -> dict[str, object]:
    return record.model_dump(
        mode="json",
        include={
            "operation_id",
            "kind",
            "service_id",
            "status",
            "message",
            "error_key",
            "started",
            "finished",
        },
    )


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
