"""The envelope every message carries: identity, type and version, time, operation, service.

Subclasses pin `type` and `version` with Literal defaults, so a payload of the wrong type or
an unknown version fails validation before any handler runs. The ids it carries follow their
one grammar (shared/ids.py): an id that could name another folder or subject never decodes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.ids import EventId, OperationId, ServiceId


def new_operation_id() -> str:
    return f"op-{uuid.uuid4().hex}"


def _event_id() -> str:
    return uuid.uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


class Message(BaseModel):
    """Base of every message on the bus."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    version: int
    event_id: EventId = Field(default_factory=_event_id)
    time: datetime = Field(default_factory=_now)
    operation_id: OperationId
    service_id: ServiceId | None = None
    correlation_id: EventId | None = None

    def encode(self) -> bytes:
        return self.model_dump_json().encode()


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
