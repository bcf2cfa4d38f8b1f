"""Leased locks against a real NATS key-value bucket: one holder, and take-over of the dead."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from shared.bus import Bus, Busy, Lease, LeaseLocks
from shared.events.layout import CELL_LAYOUT

pytestmark = pytest.mark.integration


@pytest.fixture
async def bucket(nats_url: str, suite_seed):  # type: ignore[no-untyped-def]
    bus = await Bus.connect(
        nats_url, f"l{uuid.uuid4().hex[:8]}", seed=suite_seed, layout=CELL_LAYOUT
    )
    yield await bus.bucket("locks", Lease, history=1)
    await bus.close()


async def test_one_holder_at_a_time_across_replicas(bucket) -> None:  # type: ignore[no-untyped-def]
    first, second = LeaseLocks(bucket, "replica-1", 5.0), LeaseLocks(bucket, "replica-2", 5.0)
    assert await first.acquire("svc", "op-1") is None
    with pytest.raises(Busy, match="busy with op-1"):
        await second.acquire("svc", "op-2")
    await second.release("svc", "op-2")  # not the holder: changes nothing
    with pytest.raises(Busy):
        await second.acquire("svc", "op-2")
    await first.release("svc", "op-1")
    assert await second.acquire("svc", "op-2") is None


async def test_a_dead_holders_lease_is_taken_over(bucket) -> None:  # type: ignore[no-untyped-def]
    dead, alive = LeaseLocks(bucket, "dead", 0.3), LeaseLocks(bucket, "alive", 5.0)
    await dead.acquire("svc", "op-dead")  # and never renews
    await asyncio.sleep(0.4)
    assert set(await alive.expired()) == {"svc"}
    taken = await alive.acquire("svc", "op-new")
    assert taken is not None and taken.operation_id == "op-dead"


async def test_a_held_lease_is_renewed_and_waiters_wait(bucket) -> None:  # type: ignore[no-untyped-def]
    holder, waiter = LeaseLocks(bucket, "h", 0.3), LeaseLocks(bucket, "w", 0.3)
    order: list[str] = []

    async def work() -> None:
        async with holder.waiting("svc", "op-h", timeout=5):
            await asyncio.sleep(0.8)  # longer than the lease: renewal keeps it
            order.append("holder done")

    task = asyncio.create_task(work())
    await asyncio.sleep(0.1)
    async with waiter.waiting("svc", "op-w", timeout=5):
        order.append("waiter in")
    await task
    assert order == ["holder done", "waiter in"]
