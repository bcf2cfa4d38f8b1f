"""One operation per service at a time, idempotent by operation id, journaled for recovery.

The lock lives in the `pic_locks` bucket with a lease the holder renews; a holder that dies
stops renewing, and whoever finds the lease expired (the redelivered command, or the reaper)
rolls back the dead operation's journal before anything else touches the service.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog

from services.installer.context import Deps
from services.installer.state import JournalEntry, Lock, OperationRecord, OpStatus, now
from shared.bus import Conflict, Retry
from shared.events import OperationResult, ProgressEvent, ServiceStateChanged
from shared.events.channels import PROGRESS, RESULT, SERVICE_STATE
from shared.events.messages import OperationKind, ServiceState, StepStatus

log = structlog.get_logger("installer")


class Operations:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.buckets = deps.buckets

    # -- locks ----------------------------------------------------------------------------

    def _lock(self, operation_id: str) -> Lock:
        return Lock(operation_id=operation_id, holder=self.deps.instance,
                    expires=now() + self.deps.settings.lock_lease)

    async def acquire(self, service_id: str, operation_id: str) -> Lock | None:
        """Take the service's lock; returns the expired lock we took over, if any."""
        for _ in range(5):
            try:
                await self.buckets.locks.create(service_id, self._lock(operation_id))
                return None
            except Conflict:
                current = await self.buckets.locks.get(service_id)
            if current is None:
                continue
            if not current.value.expired():
                raise Retry(f"{service_id} is busy with {current.value.operation_id}", delay=1.0)
            try:
                await self.buckets.locks.update(service_id, self._lock(operation_id),
                                                current.revision)
            except Conflict:
                continue
            log.warning("lock_taken_over", service_id=service_id,
                        dead_operation=current.value.operation_id, dead_holder=current.value.holder)
            return current.value
        raise Retry(f"could not take the lock of {service_id}", delay=1.0)

    async def release(self, service_id: str, operation_id: str) -> None:
        current = await self.buckets.locks.get(service_id)
        if current is not None and current.value.operation_id == operation_id \
                and current.value.holder == self.deps.instance:
            with contextlib.suppress(Conflict):
                await self.buckets.locks.delete(service_id, revision=current.revision)

    @asynccontextmanager
    async def holding(self, service_id: str, operation_id: str) -> AsyncIterator[None]:
        renew = asyncio.create_task(self._renew(service_id, operation_id))
        try:
            yield
        finally:
            renew.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renew
            await self.release(service_id, operation_id)

    async def _renew(self, service_id: str, operation_id: str) -> None:
        every = self.deps.settings.lock_lease / 3
        while True:
            await asyncio.sleep(every)
            current = await self.buckets.locks.get(service_id)
            if current is None or current.value.operation_id != operation_id:
                log.error("lock_lost", service_id=service_id, operation_id=operation_id)
                return
            with contextlib.suppress(Conflict):
                await self.buckets.locks.update(service_id, self._lock(operation_id),
                                                current.revision)

    async def expired_locks(self) -> dict[str, Lock]:
        locks = await self.buckets.locks.items()
        return {sid: rec.value for sid, rec in locks.items() if rec.value.expired()}

    # -- operation records ----------------------------------------------------------------

    async def get(self, operation_id: str) -> OperationRecord | None:
        record = await self.buckets.operations.get(operation_id)
        return record.value if record else None

    async def save(self, record: OperationRecord) -> None:
        await self.buckets.operations.put(record.operation_id, record)

    async def journal(self, record: OperationRecord, step: str, data: dict[str, object]) -> None:
        record.journal.append(JournalEntry(step=step, data=data))
        await self.save(record)

    async def finish(self, record: OperationRecord, status: OpStatus, message: str,
                     error_key: str | None = None) -> None:
        record.status, record.message, record.error_key = status, message, error_key
        record.finished = now()
        if status.final:
            record.journal = []
        await self.save(record)

    # -- events ---------------------------------------------------------------------------

    async def progress(self, record: OperationRecord, step: str, status: StepStatus,
                       index: int, total: int, message: str) -> None:
        log.info("step", operation_id=record.operation_id, service_id=record.service_id,
                 step=step, status=status.value, detail=message)
        await self.deps.bus.publish(PROGRESS, ProgressEvent(
            operation_id=record.operation_id, service_id=record.service_id,
            payload={"kind": record.kind, "step": step, "status": status, "index": index,
                     "total": total, "message": message}))

    async def result(self, record: OperationRecord, plan: object = None) -> None:
        await self.deps.bus.publish(RESULT, OperationResult(
            operation_id=record.operation_id, service_id=record.service_id,
            payload={"kind": record.kind, "status": record.status.value,
                     "message": record.message, "error_key": record.error_key, "plan": plan}))

    async def state(self, service_id: str, operation_id: str, state: ServiceState,
                    previous: ServiceState | None, version: str | None, reason: str = "") -> None:
        await self.deps.bus.publish(SERVICE_STATE, ServiceStateChanged(
            operation_id=operation_id, service_id=service_id,
            payload={"state": state, "previous": previous, "version": version,
                     "reason": reason}))


def new_record(operation_id: str, kind: OperationKind, service_id: str,
               holder: str) -> OperationRecord:
    return OperationRecord(operation_id=operation_id, kind=kind, service_id=service_id,
                           holder=holder)
