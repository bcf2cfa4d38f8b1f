"""A durable pull consumer whose handler's exceptions decide acknowledgement."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import structlog
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from shared.bus.channel import Channel
from shared.bus.dead_letter import DeadLetter, DeadLetterPayload
from shared.bus.envelope import Message
from shared.bus.layout import Layout
from shared.metrics import BUS_MESSAGES, BUS_REDELIVERIES, bus_series


class Bus(Protocol):
    """What a consumer needs of the bus (shared.bus.Bus has it)."""

    cell: str
    js: JetStreamContext
    layout: Layout

    async def publish(self, channel: Channel, message: Message, **tokens: str) -> None: ...


M = TypeVar("M", bound=Message)
Handler = Callable[[M], Awaitable[None]]
log = structlog.get_logger("bus")

HEARTBEAT_SECONDS = 5.0
DEAD_LETTER_SAMPLE = 2000


class Retry(Exception):
    """The work could not be done now; deliver the message again after `delay` seconds."""

    def __init__(self, reason: str, delay: float = 2.0) -> None:
        super().__init__(reason)
        self.delay = delay


class Reject(Exception):
    """The message can never be handled; send it to the dead-letter subject."""


async def consume(
    bus: Bus,
    channel: Channel,
    durable: str,
    handler: Handler[Any],
    *,
    stop: asyncio.Event,
    ack_wait: float,
    max_deliver: int,
    concurrency: int = 1,
    **tokens: str,
) -> None:
    """Handle messages until `stop` is set, up to `concurrency` at once."""
    subject = channel.wildcard(cell=bus.cell, **tokens)
    # Durable names are per stream: the cell keeps two cells on one cluster apart.
    durable = f"{bus.cell}-{durable}"
    bus_series(durable)
    config = ConsumerConfig(
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait,
        max_deliver=max_deliver,
        deliver_policy=DeliverPolicy.ALL,
        max_ack_pending=max(concurrency * 4, 16),
    )
    sub = await bus.js.pull_subscribe(
        subject, durable=durable, stream=channel.stream, config=config
    )
    slots = asyncio.Semaphore(concurrency)
    running: set[asyncio.Task[None]] = set()
    try:
        while not stop.is_set():
            await slots.acquire()
            try:
                batch = await sub.fetch(1, timeout=1.0)
            except (TimeoutError, NatsTimeoutError):
                slots.release()
                continue
            for msg in batch:
                task = asyncio.create_task(
                    _handle_one(bus, channel, durable, handler, msg, max_deliver)
                )
                running.add(task)
                task.add_done_callback(running.discard)
                task.add_done_callback(lambda _: slots.release())
    finally:
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


async def _handle_one(
    bus: Bus, channel: Channel, durable: str, handler: Handler[Any], msg: Msg, max_deliver: int
) -> None:
    deliveries = msg.metadata.num_delivered if msg.metadata else 1
    if deliveries > 1:
        BUS_REDELIVERIES.labels(durable).inc()
    try:
        message = channel.model.model_validate_json(msg.data)
    except ValidationError as exc:
        await _dead_letter(bus, durable, msg, _describe(exc), deliveries)
        return
    heartbeat = asyncio.create_task(_keep_alive(msg))
    try:
        await handler(message)
    except Retry as exc:
        if deliveries >= max_deliver:
            await _dead_letter(
                bus, durable, msg, f"gave up after {deliveries} tries: {exc}", deliveries
            )
        else:
            BUS_MESSAGES.labels(durable, "retried").inc()
            await msg.nak(delay=exc.delay)
        return
    except Reject as exc:
        await _dead_letter(bus, durable, msg, str(exc), deliveries)
        return
    except Exception as exc:
        log.exception("handler_crashed", consumer=durable, operation_id=message.operation_id)
        BUS_MESSAGES.labels(durable, "failed").inc()
        if deliveries >= max_deliver:
            await _dead_letter(
                bus, durable, msg, f"handler failed {deliveries} times: {exc}", deliveries
            )
        else:
            await msg.nak(delay=min(30.0, 2.0 * deliveries))
        return
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
    BUS_MESSAGES.labels(durable, "acked").inc()
    await msg.ack()


async def _keep_alive(msg: Msg) -> None:
    """Tell JetStream the work goes on, so a long install is not redelivered mid-way."""
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        with contextlib.suppress(Exception):
            await msg.in_progress()


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:10]:
        where = ".".join(str(p) for p in err["loc"]) or "message"
        parts.append(f"{where}: {err['msg']}")
    return "malformed message: " + "; ".join(parts)


async def _dead_letter(bus: Bus, durable: str, msg: Msg, reason: str, deliveries: int) -> None:
    log.warning("message_rejected", consumer=durable, subject=msg.subject, reason=reason)
    BUS_MESSAGES.labels(durable, "dead_lettered").inc()
    letter = DeadLetter(
        operation_id="dead-letter",
        payload=DeadLetterPayload(
            subject=msg.subject,
            consumer=durable,
            reason=reason,
            data=msg.data[:DEAD_LETTER_SAMPLE].decode(errors="replace"),
            deliveries=deliveries,
        ),
    )
    await bus.publish(bus.layout.dead_letters, letter, consumer=durable)
    await msg.term()
