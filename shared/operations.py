"""The operations bucket (`pic_operations_<cell>`) as everyone but the installer reads it:
an operation's kind, service, status, message and times. The installer's own record
(services/installer/state.py) adds the journal and the snapshot, which are its business
alone: a reader here never even parses them."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.bus import Bus, TypedBucket
from shared.events.messages import OperationKind
from shared.events.roles import OPERATIONS


class OpStatus(StrEnum):
    running = "running"
    interrupted = "interrupted"
    succeeded = "succeeded"
    failed = "failed"
    noop = "noop"
    planned = "planned"

    @property
    def final(self) -> bool:
        return self not in (OpStatus.running, OpStatus.interrupted)


class OperationSummary(BaseModel):
    model_config = ConfigDict(extra="ignore")

    operation_id: str
    kind: OperationKind
    service_id: str
    status: OpStatus = OpStatus.running
    message: str = ""
    error_key: str | None = None
    started: float
    finished: float | None = None


async def operations_bucket(bus: Bus) -> TypedBucket[OperationSummary]:
    return await bus.bucket(OPERATIONS, OperationSummary, history=1)
