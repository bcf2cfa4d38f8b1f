"""The backup service's side of the secrets handover with the installer (see
services/installer/handover.py on the other side): secrets cross the bus only sealed."""

from __future__ import annotations

import base64

import pyrage
from pyrage import x25519

from services.backup.errors import BackupError
from shared.bus import Bus
from shared.bus.request import request
from shared.events.backups import (
    HandoverAction,
    HandoverReplyPayload,
    SecretsHandover,
    SecretsHandoverReply,
)
from shared.events.channels import SECRETS_HANDOVER, SECRETS_HANDOVER_REPLY


async def _ask(
    bus: Bus, host: str, message: SecretsHandover, timeout: float
) -> HandoverReplyPayload:
    try:
        answer = await request(
            bus,
            SECRETS_HANDOVER,
            message,
            replies=SECRETS_HANDOVER_REPLY,
            answers=lambda m: (
                isinstance(m, SecretsHandoverReply) and m.correlation_id == message.event_id
            ),
            timeout=timeout,
            tokens={"host": host},
        )
    except TimeoutError as exc:
        raise BackupError(
            f"the installer did not answer the secrets handover of {message.service_id} "
            f"within {timeout:.0f} s: is it running?"
        ) from exc
    assert isinstance(answer, SecretsHandoverReply)
    if not answer.payload.ok:
        raise BackupError(f"the installer refused the secrets handover: {answer.payload.reason}")
    return answer.payload


async def export_secrets(
    bus: Bus, host: str, operation_id: str, service_id: str, to: x25519.Recipient, timeout: float
) -> tuple[bytes, str]:
    """The service's secrets sealed to `to`, and its compose template."""
    reply = await _ask(
        bus,
        host,
        SecretsHandover(
            operation_id=operation_id,
            service_id=service_id,
            payload={"action": HandoverAction.export, "recipient": str(to)},
        ),
        timeout,
    )
    return base64.b64decode(reply.sealed), reply.template


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
            payload={"action": HandoverAction.recipient},
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
            payload={
                "action": HandoverAction.import_,
                "sealed": base64.b64encode(sealed).decode(),
                "replace": replace,
            },
        ),
        timeout,
    )
    return reply.reason
