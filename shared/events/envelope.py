"""The envelope every message carries: identity, type and version, time, operation, service.

Subclasses pin `type` and `version` with Literal defaults, so a payload of the wrong type or
an unknown version fails validation before any handler runs.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

OPERATION_ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"


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
    event_id: str = Field(default_factory=_event_id, max_length=64)
    time: datetime = Field(default_factory=_now)
    operation_id: str = Field(min_length=1, max_length=80, pattern=OPERATION_ID_PATTERN)
    service_id: str | None = Field(default=None, max_length=64)
    correlation_id: str | None = Field(default=None, max_length=80)

    def encode(self) -> bytes:
        return self.model_dump_json().encode()


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
