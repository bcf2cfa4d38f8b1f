"""The secrets handover: the installer is the only service that reads the secrets bucket;
the backup service gets a service's secrets only sealed to the age recipient it names (its
backup's own), and gives them back sealed to this process's recipient (a key that lives in
memory only, so nothing sealed to it outlives the process)."""

from __future__ import annotations

import asyncio
import base64

import pyrage
from pydantic import ValidationError
from pyrage import x25519

from services.installer.settings import InstallerSettings
from services.installer.state import Buckets, Secrets
from shared.bus import Bus
from shared.events.backups import (
    HandoverAction,
    HandoverReplyPayload,
    SecretsHandover,
    SecretsHandoverReply,
)
from shared.events.channels import SECRETS_HANDOVER, SECRETS_HANDOVER_REPLY
from shared.events.roles import installer_durable


class Handover:
    def __init__(self, bus: Bus, buckets: Buckets, settings: InstallerSettings) -> None:
        self.bus = bus
        self.buckets = buckets
        self.settings = settings
        self.identity = x25519.Identity.generate()

    @property
    def recipient(self) -> str:
        return str(self.identity.to_public())

    async def answer(self, request: SecretsHandover) -> HandoverReplyPayload:
        action = request.payload.action
        if action == HandoverAction.recipient:
            return HandoverReplyPayload(ok=True, recipient=self.recipient)
        if action == HandoverAction.export:
            return await self._export(request)
        return await self._import(request)

    async def _export(self, request: SecretsHandover) -> HandoverReplyPayload:
        try:
            recipient = x25519.Recipient.from_str(request.payload.recipient)
        except pyrage.RecipientError:
            return HandoverReplyPayload(ok=False, reason="the recipient is not an age recipient")
        stored = await self.buckets.secrets.get(request.service_id or "")
        secrets = stored.value if stored else Secrets()
        sealed = pyrage.encrypt(secrets.model_dump_json().encode(), [recipient])
        own = self.settings.services_dir / str(request.service_id)
        template, rendered = own / "compose-template.yml", own / "docker-compose.yml"
        # The rendered file holds the secrets too: it crosses the bus sealed like them (the
        # backup's verify sandbox runs the service as this file says).
        compose = pyrage.encrypt(rendered.read_bytes(), [recipient]) if rendered.is_file() else b""
        return HandoverReplyPayload(
            ok=True,
            sealed=base64.b64encode(sealed).decode(),
            recipient=self.recipient,
            template=template.read_text() if template.is_file() else "",
            compose=base64.b64encode(compose).decode() if compose else "",
        )

    async def _import(self, request: SecretsHandover) -> HandoverReplyPayload:
        service_id = str(request.service_id)
        try:
            plain = pyrage.decrypt(base64.b64decode(request.payload.sealed), [self.identity])
            secrets = Secrets.model_validate_json(plain)
        except (pyrage.DecryptError, ValueError, ValidationError):
            return HandoverReplyPayload(
                ok=False,
                reason="the sealed secrets do not open with this installer's key (sealed to "
                "another, or an installer that restarted since): ask its recipient again",
            )
        bucket = self.buckets.secrets
        if await bucket.get(service_id) is not None and not request.payload.replace:
            return HandoverReplyPayload(ok=True, reason=f"{service_id} has secrets: kept")
        await bucket.put(service_id, secrets)
        return HandoverReplyPayload(ok=True, reason=f"{service_id}: secrets restored")


def serve_handover(
    bus: Bus, handover: Handover, settings: InstallerSettings, stop: asyncio.Event
) -> asyncio.Task[None]:
    async def on_request(request: SecretsHandover) -> None:
        payload = await handover.answer(request)
        await bus.publish(
            SECRETS_HANDOVER_REPLY,
            SecretsHandoverReply(
                operation_id=request.operation_id,
                service_id=request.service_id,
                correlation_id=request.event_id,
                payload=payload,
            ),
        )

    host = settings.docker_host
    return asyncio.create_task(
        bus.consume(
            SECRETS_HANDOVER,
            installer_durable(SECRETS_HANDOVER, host),
            on_request,
            stop=stop,
            ack_wait=settings.ack_wait,
            host=host,
        )
    )
