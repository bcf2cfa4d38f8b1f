"""Services: list, status (with its last operation), install, reconfigure, remove, logs.
Thin handlers: each reads the services bucket or sends a command over the bus, as the CLI
does (shared/client.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from services.gateway.api.operations import OperationView, find_operation
from services.gateway.deps import Deps
from services.gateway.http import (
    NOT_FOUND,
    REFUSED,
    UNANSWERED,
    UNREADABLE,
    ServiceId,
    Wait,
)
from services.gateway.logs import ContainerLogs, LogsUnanswered, ask_logs
from services.gateway.urls import service_urls
from shared.client import Command, OperationTimeoutError
from shared.events import InstallCommand, ReconfigureCommand, RemoveCommand, new_operation_id
from shared.events.logs import MAX_TAIL
from shared.events.messages import InstallPayload, ReconfigurePayload, RemovePayload
from shared.installed import ServiceView, services_bucket

# JSON's own types only: `"plan": 0` or `"x": 1.0` is a mistake to report, not to coerce.
StrictConfigValue = StrictStr | StrictInt | StrictBool
# A store names a folder or a URL: a control character there is always a mistake.
STORE = r"^[^\x00-\x1f\x7f]+$"
EGRESS = r"^[a-z_]{1,32}$"
EGRESS_HELP = "The outbound connection: one of the manifest's egress.allowed"
ACCEPTED = "Accepted: the operation's id, and its result when it ended within `wait`"


class InstallBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    store: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        pattern=STORE,
        description="A store's name in the cell config (GET /stores), or a store folder or git "
        "repository URL; none: the cell's default store",
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


class ServiceStatus(ServiceView):
    operation: OperationView | None = Field(
        default=None, description="The service's last operation (null: none recorded)"
    )
    urls: list[str] = Field(
        default_factory=list,
        description="Where a browser opens it: each subdomain through the cell's Caddy",
    )


class ServiceLogs(BaseModel):
    service_id: str
    containers: dict[str, ContainerLogs] = Field(description="By container name")


def router(deps: Deps) -> APIRouter:
    api = APIRouter(tags=["services"])
    client = deps.client  # the same client as the command line

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

    @api.get("/services", summary="The installed services")
    async def list_services() -> list[ServiceView]:
        return await client.services()

    @api.get(
        "/services/{service_id}",
        summary="One service's status, warnings and last operation",
        responses=NOT_FOUND,
    )
    async def status(service_id: ServiceId) -> ServiceStatus:
        found = await client.service(service_id)
        if found is None:
            raise HTTPException(404, f"{service_id} is not installed")
        last = await find_operation(deps, found.last_operation) if found.last_operation else None
        record = await (await services_bucket(deps.bus)).get(service_id)
        urls = service_urls(record.value.manifest, deps.cell_config()) if record else []
        return ServiceStatus(**found.model_dump(), operation=last, urls=urls)

    @api.post(
        "/services/{service_id}/install",
        status_code=202,
        summary="Install (or upgrade) a service; `plan`: only say what would be done",
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

    @api.post(
        "/services/{service_id}/reconfigure",
        status_code=202,
        summary="Apply new settings (secrets, address and volumes stay)",
        response_description=ACCEPTED,
        responses=UNREADABLE,
    )
    async def reconfigure(service_id: ServiceId, body: ReconfigureBody, wait: Wait = 0) -> Accepted:
        command = ReconfigureCommand(
            operation_id=new_operation_id(),
            service_id=service_id,
            payload=ReconfigurePayload(config=body.config, plan_only=body.plan, egress=body.egress),
        )
        return await submit(command, wait)

    @api.delete(
        "/services/{service_id}",
        status_code=202,
        summary="Remove a service; `purge` also deletes its data",
        response_description=ACCEPTED,
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

    @api.get(
        "/services/{service_id}/logs",
        summary="The last lines of each of the service's containers",
        responses={**NOT_FOUND, **REFUSED, **UNANSWERED},
    )
    async def logs(
        service_id: ServiceId,
        tail: Annotated[
            int, Query(ge=1, le=MAX_TAIL, description="The last lines of each container")
        ] = 100,
    ) -> ServiceLogs:
        try:
            answer, found = await ask_logs(
                deps.bus, client.host, service_id, tail, deps.settings.log_timeout
            )
        except LogsUnanswered as exc:
            raise HTTPException(504, str(exc)) from exc
        if not answer.ok:
            raise HTTPException(502 if answer.installed else 404, answer.reason)
        return ServiceLogs(service_id=service_id, containers=found)

    return api
