"""Durable state of the installer, in JetStream key-value buckets.

pic_services     service id -> ServiceRecord (shared.installed: what is installed)
pic_operations   operation id -> OperationRecord (status and the saga journal)
pic_locks        service id -> Lease (one operation per service at a time)
pic_ipam         address -> IpLease (which service holds which cell IP)
pic_secrets      service id -> Secrets (generated once, reused on every render)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.bus import Bus, Lease, TypedBucket
from shared.errors import OperationError
from shared.events.messages import CompensationFailure, ConfigValue, OperationKind
from shared.installed import ServiceRecord, services_bucket
from shared.operations import OpStatus as OpStatus  # the readers' too (shared/operations.py)


def now() -> float:
    return time.time()


class JournalEntry(BaseModel):
    step: str
    data: dict[str, Any] = Field(default_factory=dict)


class SnapshotInvalidError(OperationError):
    """The crash snapshot of an operation does not parse, so it cannot be recovered."""

    key = "snapshot_invalid"


class Snapshot(BaseModel):
    """What a takeover needs to roll back an operation, written when its saga starts: the
    sources and choices the steps were made from. It holds no secret (the settings are the
    ones the service record shows: a secret one only as the mask)."""

    model_config = ConfigDict(extra="forbid")

    store: str = ""
    manifest: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, ConfigValue] = Field(default_factory=dict)
    service_ip: str | None = None
    image: str | None = None
    pinned: dict[str, str] = Field(default_factory=dict)
    egress: str | None = None
    previous: ServiceRecord | None = None

    @classmethod
    def of(cls, record: OperationRecord) -> Snapshot:
        """The record's snapshot; SnapshotInvalidError names what does not parse."""
        try:
            return cls.model_validate(record.snapshot)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or '(top)'}: {error['msg']}"
                for error in exc.errors()[:5]
            )
            raise SnapshotInvalidError(
                f"the snapshot of operation {record.operation_id} does not parse ({problems})"
            ) from exc


class OperationRecord(BaseModel):
    operation_id: str
    kind: OperationKind
    service_id: str
    status: OpStatus = OpStatus.running
    journal: list[JournalEntry] = Field(default_factory=list)
    snapshot: dict[str, Any] = Field(
        default_factory=dict,
        description="A Snapshot as JSON (written and read through Snapshot, kept raw here so "
        "that a record whose snapshot does not parse is still read, and reported)",
    )
    message: str = ""
    error_key: str | None = None
    rollback_failures: list[CompensationFailure] = Field(default_factory=list)
    holder: str = ""
    started: float = Field(default_factory=now)
    finished: float | None = None


class IpLease(BaseModel):
    service_id: str
    operation_id: str


class Secrets(BaseModel):
    """Generated secrets and the admin's `secret` settings of one service."""

    values: dict[str, str] = Field(default_factory=dict)
    settings: dict[str, ConfigValue] = Field(default_factory=dict)

    def __repr__(self) -> str:  # never print the values
        return f"Secrets(names={sorted(self.values)}, settings={sorted(self.settings)})"

    __str__ = __repr__


@dataclass
class Buckets:
    services: TypedBucket[ServiceRecord]
    operations: TypedBucket[OperationRecord]
    locks: TypedBucket[Lease]
    ipam: TypedBucket[IpLease]
    secrets: TypedBucket[Secrets]

    @classmethod
    async def open(cls, bus: Bus) -> Buckets:
        return cls(
            services=await services_bucket(bus),
            operations=await bus.bucket("pic_operations", OperationRecord, history=1),
            locks=await bus.bucket("pic_locks", Lease, history=1),
            ipam=await bus.bucket("pic_ipam", IpLease, history=1),
            secrets=await bus.bucket("pic_secrets", Secrets),
        )
