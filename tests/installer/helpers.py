"""Small helpers for life-cycle tests: commands, and what Docker says afterwards."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from shared.client import StoreClient
from shared.contract.registry import contract_of
from shared.contract.serve import Outcome, Participant, ServingBus
from shared.events import (
    InstallCommand,
    OperationResult,
    ProgressEvent,
    ReconfigureCommand,
    RemoveCommand,
    StepRequest,
    new_operation_id,
)
from shared.events.messages import (
    InstallPayload,
    ReconfigurePayload,
    RemovePayload,
    StepResultPayload,
)
from tests.parts.docker_engine import docker


async def install(
    client: StoreClient,
    store: Path | str,
    service_id: str,
    progress: list[ProgressEvent] | None = None,
    timeout: float = 120,
    **payload: Any,
) -> OperationResult:
    command = InstallCommand(
        operation_id=payload.pop("operation_id", new_operation_id()),
        service_id=service_id,
        payload=InstallPayload(store=str(store), **payload),
    )
    return await client.run(
        command, progress.append if progress is not None else None, timeout=timeout
    )


async def reconfigure(
    client: StoreClient, service_id: str, timeout: float = 120, **payload: Any
) -> OperationResult:
    command = ReconfigureCommand(
        operation_id=new_operation_id(),
        service_id=service_id,
        payload=ReconfigurePayload(**payload),
    )
    return await client.run(command, timeout=timeout)


async def remove(
    client: StoreClient, service_id: str, timeout: float = 120, **payload: Any
) -> OperationResult:
    command = RemoveCommand(
        operation_id=new_operation_id(), service_id=service_id, payload=RemovePayload(**payload)
    )
    return await client.run(command, timeout=timeout)


def inspect(name: str) -> dict[str, Any] | None:
    out = docker("inspect", name, check=False)
    if not out or out.startswith("[]"):
        return None
    data: list[dict[str, Any]] = json.loads(out)
    return data[0]


def containers_of(service_id: str) -> list[str]:
    out = docker(
        "ps",
        "-a",
        "--format",
        "{{.Names}}",
        "--filter",
        f"label=com.docker.compose.project={service_id}",
    )
    return [n for n in out.splitlines() if n]


def volumes_of(service_id: str) -> list[str]:
    out = docker("volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={service_id}")
    return [n for n in out.splitlines() if n]


def env_of(info: dict[str, Any]) -> dict[str, str]:
    return dict(e.split("=", 1) for e in info["Config"]["Env"])


def ip_of(info: dict[str, Any], network: str) -> str:
    return str(info["NetworkSettings"]["Networks"][network]["IPAddress"])


def service_id() -> str:
    import uuid

    return f"s{uuid.uuid4().hex[:8]}"


class StandIn:
    """A real participant on the bus in the place of `owner` (served by the contract
    framework with `owner`'s contract, its steps only: none of its other endpoints),
    answering every step with `answer`."""

    def __init__(
        self, owner: str, answer: Callable[[StepRequest], Awaitable[StepResultPayload]]
    ) -> None:
        self.service = Participant(dataclasses.replace(contract_of(owner), endpoints=()))

        async def handle(request: StepRequest) -> Outcome:
            result = await answer(request)
            return Outcome(
                ok=result.ok, reason=result.reason, warning=result.warning, details=result.details
            )

        for step in self.service.contract.steps:
            self.service.apply(step)(handle)
            self.service.compensate(step)(handle)

    def tasks(self, bus: ServingBus, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        return self.service.tasks(bus, stop)
