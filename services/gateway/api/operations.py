"""Operations: the recent ones (newest first, of one service when asked) and one by its id.
Read from the installer's operations bucket with the gateway's identity, as
shared/operations.py reads it (the journal and the snapshot stay the installer's business)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from services.gateway.deps import Deps
from services.gateway.http import NOT_FOUND, OperationId
from shared.events.messages import OperationKind
from shared.ids import SERVICE_ID_PATTERN
from shared.operations import OperationSummary, OpStatus, operations_bucket

MAX_LIMIT = 200


class OperationView(BaseModel):
    operation_id: str
    kind: OperationKind
    service_id: str
    status: OpStatus
    message: str
    error_key: str | None
    started: datetime = Field(description="ISO 8601, UTC")
    finished: datetime | None = Field(description="ISO 8601, UTC; null while it runs")


def operation_view(record: OperationSummary) -> OperationView:
    return OperationView(
        operation_id=record.operation_id,
        kind=record.kind,
        service_id=record.service_id,
        status=record.status,
        message=record.message,
        error_key=record.error_key,
        started=datetime.fromtimestamp(record.started, UTC),
        finished=datetime.fromtimestamp(record.finished, UTC) if record.finished else None,
    )


async def find_operation(deps: Deps, operation_id: str) -> OperationView | None:
    record = await (await operations_bucket(deps.bus)).get(operation_id)
    return operation_view(record.value) if record else None


def router(deps: Deps) -> APIRouter:
    api = APIRouter(tags=["operations"])

    @api.get("/operations", summary="Recent operations, newest first")
    async def recent(
        service: Annotated[
            str | None, Query(pattern=SERVICE_ID_PATTERN, description="Only this service's")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most this many")] = 50,
    ) -> list[OperationView]:
        records = (await (await operations_bucket(deps.bus)).items()).values()
        chosen = [r.value for r in records if service is None or r.value.service_id == service]
        chosen.sort(key=lambda r: r.started, reverse=True)
        return [operation_view(r) for r in chosen[:limit]]

    @api.get("/operations/{operation_id}", summary="One operation", responses=NOT_FOUND)
    async def operation(operation_id: OperationId) -> OperationView:
        found = await find_operation(deps, operation_id)
        if found is None:
            raise HTTPException(404, f"no operation {operation_id}")
        return found

    return api
