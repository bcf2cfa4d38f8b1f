"""Leased locks in a key-value bucket: one holder per key across every replica.

The holder renews its lease while it works; a holder that dies stops renewing and its lease
expires, so another can take the key over (and learns whose work it interrupted).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from pydantic import BaseModel

from shared.bus.kv import Conflict, TypedBucket
from shared.errors import PicStoreError

log = structlog.get_logger("bus")


class Lease(BaseModel):
    operation_id: str
    holder: str
    expires: float

    def expired(self) -> bool:
        return self.expires < time.time()


class Busy(PicStoreError):
    """Someone else holds the key and its lease is alive."""

    key = "busy"

    def __init__(self, key: str, lease: Lease) -> None:
        super().__init__(f"{key} is busy with {lease.operation_id}")
        self.lease = lease


class LeaseLocks:
    def __init__(self, bucket: TypedBucket[Lease], holder: str, lease_seconds: float) -> None:
        self.bucket = bucket
        self.holder = holder
        self.lease_seconds = lease_seconds

    def _lease(self, operation_id: str) -> Lease:
        return Lease(
            operation_id=operation_id, holder=self.holder, expires=time.time() + self.lease_seconds
        )

    async def acquire(self, key: str, operation_id: str) -> Lease | None:
        """Take the key (raises Busy); returns the expired lease taken over, if any."""
        for _ in range(5):
            try:
                await self.bucket.create(key, self._lease(operation_id))
                return None
            except Conflict:
                current = await self.bucket.get(key)
            if current is None:
                continue
            if not current.value.expired():
                raise Busy(key, current.value)
            try:
                await self.bucket.update(key, self._lease(operation_id), current.revision)
            except Conflict:
                continue
            log.warning(
                "lease_taken_over",
                key=key,
                dead_operation=current.value.operation_id,
                dead_holder=current.value.holder,
            )
            return current.value
        current = await self.bucket.get(key)
        raise Busy(key, current.value if current else self._lease("unknown"))

    async def release(self, key: str, operation_id: str) -> None:
        current = await self.bucket.get(key)
        if (
            current is not None
            and current.value.operation_id == operation_id
            and current.value.holder == self.holder
        ):
            with contextlib.suppress(Conflict):
                await self.bucket.delete(key, revision=current.revision)

    @asynccontextmanager
    async def holding(self, key: str, operation_id: str) -> AsyncIterator[None]:
        """Keep renewing an acquired key while the body runs; release it afterwards."""
        renew = asyncio.create_task(self._renew(key, operation_id))
        try:
            yield
        finally:
            renew.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renew
            await self.release(key, operation_id)

    @asynccontextmanager
    async def waiting(
        self,
        key: str,
        operation_id: str,
        timeout: float,
    ) -> AsyncIterator[Lease | None]:
        """Acquire, waiting while the key is busy (up to `timeout`), then hold it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                taken_over = await self.acquire(key, operation_id)
                break
            except Busy:
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(0.05)
        async with self.holding(key, operation_id):
            yield taken_over

    async def _renew(self, key: str, operation_id: str) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            current = await self.bucket.get(key)
            if current is None or current.value.operation_id != operation_id:
                log.error("lease_lost", key=key, operation_id=operation_id)
                return
            with contextlib.suppress(Conflict):
                await self.bucket.update(key, self._lease(operation_id), current.revision)

    async def expired(self) -> dict[str, Lease]:
        held = await self.bucket.items()
        return {key: record.value for key, record in held.items() if record.value.expired()}
