"""A service's container logs, asked of the installer over the bus (the gateway has no Docker
socket): sealed to a one-time key made for each request, opened here."""

from __future__ import annotations

import base64
import json

import pyrage
from pydantic import BaseModel, Field

from shared.bus import Bus
from shared.bus.request import ask
from shared.events import new_operation_id
from shared.events.channels import LOGS, LOGS_REPLY
from shared.events.logs import LogsReply, LogsReplyPayload, LogsRequest, LogsRequestPayload


class ContainerLogs(BaseModel):
    lines: list[str] = Field(description="Oldest first, each `<ISO 8601 time> <text>`")
    truncated: bool = Field(description="Lines were left out or cut short to fit the bounds")


class LogsUnanswered(Exception):
    """The installer did not answer within the wait."""


async def ask_logs(
    bus: Bus, host: str, service_id: str, tail: int, timeout: float
) -> tuple[LogsReplyPayload, dict[str, ContainerLogs]]:
    """The installer's answer, and the lines by container when it had them."""
    identity = pyrage.x25519.Identity.generate()
    request = LogsRequest(
        operation_id=new_operation_id(),
        service_id=service_id,
        payload=LogsRequestPayload(tail=tail, recipient=str(identity.to_public())),
    )
    reply = await ask(
        bus,
        LOGS,
        request,
        replies=LOGS_REPLY,
        reply=LogsReply,
        answers=lambda answer: answer.correlation_id == request.event_id,
        timeout=timeout,
        timeout_error=lambda: LogsUnanswered(
            f"the installer did not answer within {timeout:.0f} s (is it running for cell "
            f"{bus.cell}, host {host}?)"
        ),
        tokens={"host": host},
    )
    if not reply.payload.ok:
        return reply.payload, {}
    plain = pyrage.decrypt(base64.b64decode(reply.payload.sealed), [identity])
    found = {name: ContainerLogs.model_validate(v) for name, v in json.loads(plain).items()}
    return reply.payload, found
