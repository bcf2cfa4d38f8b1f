"""The backup service's side of the secrets handover with the installer (see
services/installer/handover.py on the other side): secrets cross the bus only sealed."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pyrage
from pyrage import x25519

from services.backup.errors import BackupError
from shared.bus import Bus
from shared.bus.request import ask
from shared.events.backups import (
    HandoverAction,
    HandoverPayload,
    HandoverReplyPayload,
    SecretsHandover,
    SecretsHandoverReply,
)
from shared.events.channels import SECRETS_HANDOVER, SECRETS_HANDOVER_REPLY


async def _ask(
    bus: Bus, host: str, message: SecretsHandover, timeout: float
) -> HandoverReplyPayload:
    answer = await ask(
        bus,
        SECRETS_HANDOVER,
        message,
        replies=SECRETS_HANDOVER_REPLY,
        reply=SecretsHandoverReply,
        answers=lambda reply: reply.correlation_id == message.event_id,
        timeout=timeout,
        timeout_error=lambda: BackupError(
            f"the installer did not answer the secrets handover of {message.service_id} "
            f"within {timeout:.0f} s: is it running?"
        ),
        tokens={"host": host},
    )
    if not answer.payload.ok:
        raise BackupError(f"the installer refused the secrets handover: {answer.payload.reason}")
    return answer.payload


@dataclass(frozen=True)
class Exported:
    secrets: bytes  # sealed to the backup's recipient
    template: str  # the compose template
    compose: bytes  # the rendered docker-compose.yml, sealed like the secrets (b"": none)


async def export_secrets(
    bus: Bus, host: str, operation_id: str, service_id: str, to: x25519.Recipient, timeout: float
) -> Exported:
    """The service's secrets and rendered compose file sealed to `to`, and its template."""
    reply = await _ask(
        bus,
        host,
        SecretsHandover(
            operation_id=operation_id,
            service_id=service_id,
            payload=HandoverPayload(action=HandoverAction.export, recipient=str(to)),
        ),
        timeout,
    )
    compose = base64.b64decode(reply.compose) if reply.compose else b""
    return Exported(base64.b64decode(reply.sealed), reply.template, compose)


async def import_secrets(
    bus: Bus,
    host: str,
    operation_id: str,
    service_id: str,
    secrets_json: bytes,
    replace: bool,
    timeout: float,
) -> str:
    """Give the secrets back to the installer, sealed to its own recipient."""
    hello = await _ask(
        bus,
        host,
        SecretsHandover(
            operation_id=operation_id,
            service_id=service_id,
            payload=HandoverPayload(action=HandoverAction.recipient),
        ),
        timeout,
    )
    sealed = pyrage.encrypt(secrets_json, [x25519.Recipient.from_str(hello.recipient)])
    reply = await _ask(
        bus,
        host,
        SecretsHandover(
            operation_id=operation_id,
            service_id=service_id,
            payload=HandoverPayload(
                action=HandoverAction.import_,
                sealed=base64.b64encode(sealed).decode(),
                replace=replace,
            ),
        ),
        timeout,
    )
    return reply.reason
