"""One operation per service at a time, idempotent by operation id, journaled for recovery.

The lock lives in the `pic_locks` bucket (shared.bus.LeaseLocks); a holder that dies stops
renewing its lease, and whoever finds the lease expired (the redelivered command, or the reaper)
rolls back the dead operation's journal before anything else touches the service.
"""

from __future__ import annotations

import contextlib

import structlog

from services.installer.context import Deps
from services.installer.state import JournalEntry, OperationRecord, OpStatus, now
from shared.bus import Busy, Lease, LeaseLocks, Retry
from shared.events import OperationResult, ProgressEvent, ServiceStateChanged
from shared.events.channels import PROGRESS, RESULT, SERVICE_STATE
from shared.events.messages import (
    CompensationFailure,
    OperationKind,
    ProgressPayload,
    ResultPayload,
    ServiceState,
    StatePayload,
    StepStatus,
)

log = structlog.get_logger("installer")


class Operations:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.buckets = deps.buckets
        self.locks = LeaseLocks(deps.buckets.locks, deps.instance, deps.settings.lock_lease)

    # -- locks ----------------------------------------------------------------------------

    async def acquire(self, service_id: str, operation_id: str) -> Lease | None:
        """Take the service's lock (Retry when busy); returns the dead lease taken over."""
        try:
            return await self.locks.acquire(service_id, operation_id)
        except Busy as exc:
            raise Retry(str(exc), delay=1.0) from exc

    def holding(
        self, service_id: str, operation_id: str
    ) -> contextlib.AbstractAsyncContextManager[None]:
        return self.locks.holding(service_id, operation_id)

    async def expired_locks(self) -> dict[str, Lease]:
        return await self.locks.expired()

    # -- operation records ----------------------------------------------------------------

    async def get(self, operation_id: str) -> OperationRecord | None:
        record = await self.buckets.operations.get(operation_id)
        return record.value if record else None

    async def save(self, record: OperationRecord) -> None:
        await self.buckets.operations.put(record.operation_id, record)

    async def journal(self, record: OperationRecord, step: str, data: dict[str, object]) -> None:
        record.journal.append(JournalEntry(step=step, data=data))
        await self.save(record)

    async def finish(
        self,
        record: OperationRecord,
        status: OpStatus,
        message: str,
        error_key: str | None = None,
        rollback_failures: list[CompensationFailure] | None = None,
        keep_journal: bool = False,
    ) -> None:
        record.status, record.message, record.error_key = status, message, error_key
        record.rollback_failures = rollback_failures or []
        record.finished = now()
        if status.final and not keep_journal:
            record.journal = []
        await self.save(record)

    # -- events ---------------------------------------------------------------------------

    async def progress(
        self,
        record: OperationRecord,
        step: str,
        status: StepStatus,
        index: int,
        total: int,
        message: str,
    ) -> None:
        log.info(
            "step",
            operation_id=record.operation_id,
            service_id=record.service_id,
            step=step,
            status=status.value,
            detail=message,
        )
        await self.deps.bus.publish(
            PROGRESS,
            ProgressEvent(
                operation_id=record.operation_id,
                service_id=record.service_id,
                payload=ProgressPayload(
                    kind=record.kind,
                    step=step,
                    status=status,
                    index=index,
                    total=total,
                    message=message,
                ),
            ),
        )

    async def result(self, record: OperationRecord, plan: object = None) -> None:
        await self.deps.bus.publish(
            RESULT,
            OperationResult(
                operation_id=record.operation_id,
                service_id=record.service_id,
                payload=ResultPayload(
                    kind=record.kind,
                    status=record.status.value,
                    message=record.message,
                    error_key=record.error_key,
                    plan=plan,
                    rollback_failures=record.rollback_failures,
                ),
            ),
        )

    async def state(
        self,
        service_id: str,
        operation_id: str,
        state: ServiceState,
        previous: ServiceState | None,
        version: str | None,
        reason: str = "",
    ) -> None:
        await self.deps.bus.publish(
            SERVICE_STATE,
            ServiceStateChanged(
                operation_id=operation_id,
                service_id=service_id,
                payload=StatePayload(
                    state=state, previous=previous, version=version, reason=reason
                ),
            ),
        )


def new_record(
    operation_id: str, kind: OperationKind, service_id: str, holder: str
) -> OperationRecord:
    return OperationRecord(
        operation_id=operation_id, kind=kind, service_id=service_id, holder=holder
    )
