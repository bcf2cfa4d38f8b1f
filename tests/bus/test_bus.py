"""The bus against a real NATS server: streams, dead letters, compare-and-set state."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pydantic import BaseModel

from shared.bus import Bus, Conflict, Reject, Retry
from shared.events import DeadLetter, InstallCommand, Message, new_operation_id
from shared.events.channels import DEAD_LETTER, INSTALL
from shared.events.layout import CELL_LAYOUT
from shared.events.messages import InstallPayload

pytestmark = pytest.mark.integration


@pytest.fixture
async def bus(nats_url: str, suite_seed):  # type: ignore[no-untyped-def]
    bus = await Bus.connect(
        nats_url, f"b{uuid.uuid4().hex[:8]}", seed=suite_seed, layout=CELL_LAYOUT
    )
    yield bus
    await bus.close()


def command(sid: str = "notes") -> InstallCommand:
    return InstallCommand(
        operation_id=new_operation_id(), service_id=sid, payload=InstallPayload(store="/store")
    )


async def run_consumer(bus: Bus, handler, until: asyncio.Event) -> asyncio.Task[None]:  # type: ignore[no-untyped-def]
    stop = asyncio.Event()
    task = asyncio.create_task(
        bus.consume(
            INSTALL,
            "t-" + uuid.uuid4().hex[:6],
            handler,
            stop=stop,
            ack_wait=2,
            max_deliver=3,
            host="local",
        )
    )
    try:
        await asyncio.wait_for(until.wait(), 15)
    finally:
        stop.set()
        await task
    return task


async def dead_letters(bus: Bus, count: int) -> list[DeadLetter]:
    got: list[DeadLetter] = []
    arrived = asyncio.Event()

    async def on(message: Message) -> None:
        got.append(message)  # type: ignore[arg-type]
        if len(got) >= count:
            arrived.set()

    return got, arrived, bus.watch(DEAD_LETTER, on)  # type: ignore[return-value]


async def test_streams_are_created_idempotently(bus: Bus) -> None:
    await bus.ensure_streams()
    await bus.ensure_streams()
    info = await bus.js.stream_info("PIC_COMMANDS")
    assert info.config.subjects == ["pic.*.cmd.>"]


async def test_malformed_message_goes_to_dead_letter_and_consumer_goes_on(bus: Bus) -> None:
    handled: list[str] = []
    done = asyncio.Event()

    async def handler(message: InstallCommand) -> None:
        handled.append(message.service_id)
        done.set()

    letters, arrived, watching = await dead_letters(bus, 1)
    async with watching:
        subject = INSTALL.subject(cell=bus.cell, host="local")
        await bus.js.publish(subject, b'{"type": "installer.install", "version": 9}')
        await bus.js.publish(subject, b"not json at all")
        await bus.publish(INSTALL, command("after"), host="local")
        await run_consumer(bus, handler, done)
        await asyncio.wait_for(arrived.wait(), 5)
    assert handled == ["after"]
    assert "malformed message" in letters[0].payload.reason
    assert letters[0].payload.subject == subject


async def test_reject_and_retry_decide_acknowledgement(bus: Bus) -> None:
    attempts: dict[str, int] = {}
    done = asyncio.Event()

    async def handler(message: InstallCommand) -> None:
        attempts[message.service_id] = attempts.get(message.service_id, 0) + 1
        if message.service_id == "never":
            raise Reject("this can never work")
        if message.service_id == "later" and attempts["later"] < 2:
            raise Retry("not yet", delay=0.1)
        if message.service_id == "later":
            done.set()

    letters, arrived, watching = await dead_letters(bus, 1)
    async with watching:
        await bus.publish(INSTALL, command("never"), host="local")
        await bus.publish(INSTALL, command("later"), host="local")
        await run_consumer(bus, handler, done)
        await asyncio.wait_for(arrived.wait(), 5)
    assert attempts == {"never": 1, "later": 2}
    assert letters[0].payload.reason == "this can never work"


class Counter(BaseModel):
    n: int


async def test_compare_and_set_refuses_a_stale_write(bus: Bus) -> None:
    bucket = await bus.bucket(f"t_{uuid.uuid4().hex[:8]}", Counter)
    await bucket.create("k", Counter(n=1))
    with pytest.raises(Conflict):
        await bucket.create("k", Counter(n=2))
    record = await bucket.get("k")
    assert record is not None
    await bucket.update("k", Counter(n=2), record.revision)
    with pytest.raises(Conflict):
        await bucket.update("k", Counter(n=3), record.revision)
    latest = await bucket.get("k")
    assert latest is not None and latest.value.n == 2
    await bucket.delete("k")
    assert await bucket.get("k") is None
    await bucket.create("k", Counter(n=5))  # a deleted key can be created again


async def test_a_listing_holds_every_key_while_others_write(bus: Bus) -> None:
    """Every key written before a listing is in it, however busy the bucket is; deleted and
    purged keys are not."""
    bucket = await bus.bucket(f"t_{uuid.uuid4().hex[:8]}", Counter)
    settled = {f"k{i:02d}" for i in range(40)}
    for key in settled:
        await bucket.put(key, Counter(n=1))
    await bucket.put("gone", Counter(n=1))
    await bucket.delete("gone")
    await bucket.put("purged", Counter(n=1))
    await bucket.kv.purge("purged")
    stop = asyncio.Event()

    async def churn() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            await bucket.put(f"busy{n % 7}", Counter(n=n))

    writer = asyncio.create_task(churn())
    try:
        for _ in range(25):
            keys = set(await bucket.keys())
            assert settled <= keys, f"missing from a listing: {sorted(settled - keys)}"
            assert not {"gone", "purged"} & keys
            assert settled <= set(await bucket.items())
    finally:
        stop.set()
        await writer
