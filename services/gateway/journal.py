"""The recent progress, results and service states, kept by the gateway so that a browser's
event stream resumes after a reconnect with every event it missed and none twice.

The events are in the cell's event stream (PIC_EVENTS, kept 7 days); the gateway reads them
through three durable consumers of its own, one per channel, each with its one filter subject
(the only consumers a role may make: shared/events/permissions.py), and keeps the last
`size` events of each in memory with their stream sequences.

Three consumers deliver independently, so events of different channels may reach the journal
out of their stream order (live, a short hold puts them back in order: HOLD); one sequence
number alone could not say what a client has seen.
A position (`Cursor`) is therefore the last stream sequence seen of each channel, and an
event's SSE id is the position after it: `<progress>-<result>-<service>`. Resuming from it
sends, per channel, every kept event with a higher sequence: exactly the ones missed.

What the journal no longer holds (it was trimmed, or the gateway restarted after it) it
cannot send: a client whose position is older gets a `gap` event first, telling it to read
the state again (GET /services, /operations) rather than trust the stream alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import nats.errors
import structlog
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from shared.bus import Bus
from shared.bus.channel import Channel
from shared.bus.envelope import Message
from shared.events.channels import PROGRESS, RESULT, SERVICE_STATE
from shared.events.roles import GATEWAY_CONSUMERS

log = structlog.get_logger("gateway")

CHANNELS: tuple[Channel, ...] = (PROGRESS, RESULT, SERVICE_STATE)
Cursor = tuple[int, ...]  # per channel of CHANNELS: the last stream sequence seen
CURSOR = re.compile(rf"^[0-9]{{1,19}}(-[0-9]{{1,19}}){{{len(CHANNELS) - 1}}}$")
JOURNAL_SIZE = 2000  # events kept per channel
LISTENER_LIMIT = 1000  # events waiting for one slow client before its stream is ended
FETCH = 100
# The three consumers deliver independently: an event is sent live this long after it
# arrived, with any of a lower sequence that came meanwhile, so live streams see the stream's
# order (a resume is exact whatever the order: the position is per channel). A loaded machine
# delivers the three with more than 50 ms between them (the admin page's browser test saw an
# operation's result overtake its last step's progress): a quarter second, which no one reading
# progress notices.
HOLD = 0.25
ACK_WAIT = 10.0


def format_cursor(cursor: Cursor) -> str:
    return "-".join(str(seq) for seq in cursor)


def parse_cursor(text: str) -> Cursor | None:
    """The position an SSE id names; None when it is not one this gateway gives."""
    if not CURSOR.fullmatch(text):
        return None
    return tuple(int(part) for part in text.split("-"))


@dataclass(frozen=True)
class Entry:
    channel: int  # its index in CHANNELS
    seq: int  # its stream sequence
    message: Message


@dataclass(eq=False)  # each one is itself (kept in a set)
class Listener:
    """One client's live feed: entries as they arrive; None ends it (the gateway stops, or
    the client fell LISTENER_LIMIT events behind and should resume from its position)."""

    queue: asyncio.Queue[Entry | None] = field(default_factory=asyncio.Queue)
    overflowed: bool = False

    def offer(self, entry: Entry | None) -> None:
        if self.overflowed:
            return
        if entry is not None and self.queue.qsize() >= LISTENER_LIMIT:
            self.overflowed = True
            entry = None
        self.queue.put_nowait(entry)


class Journal:
    def __init__(self, size: int = JOURNAL_SIZE, hold: float = HOLD) -> None:
        self.size = size
        self.hold = hold
        self.kept: list[deque[Entry]] = [deque() for _ in CHANNELS]
        # Every event of a channel with a higher sequence than its floor is kept (or was
        # never delivered yet): below it, the journal cannot tell.
        self.floor: list[int] = [0] * len(CHANNELS)
        self.listeners: set[Listener] = set()
        self.closed = False
        self.held: list[tuple[float, Entry]] = []  # (when it arrived, entry): not yet live

    def add(self, channel: int, seq: int, message: Message) -> None:
        kept = self.kept[channel]
        if seq <= self.floor[channel] or (kept and seq <= kept[-1].seq):
            return  # delivered again (a restart before its acknowledgement)
        entry = Entry(channel, seq, message)
        kept.append(entry)
        if len(kept) > self.size:
            self.floor[channel] = kept.popleft().seq
        if self.hold <= 0:
            self._publish([entry])
            return
        loop = asyncio.get_running_loop()
        self.held.append((loop.time(), entry))
        loop.call_later(self.hold, self._release)

    def _release(self) -> None:
        """Send the held entries live in stream order: every one that waited `hold`, and
        every one of a lower sequence with it (it came late from its own consumer)."""
        ripe_before = asyncio.get_running_loop().time() - self.hold + 0.001
        ripe = [entry.seq for arrived, entry in self.held if arrived <= ripe_before]
        if not ripe:
            return
        upto = max(ripe)
        going = sorted((e for _, e in self.held if e.seq <= upto), key=lambda e: e.seq)
        self.held = [(t, e) for t, e in self.held if e.seq > upto]
        self._publish(going)

    def _publish(self, entries: list[Entry]) -> None:
        for entry in entries:
            for listener in self.listeners:
                listener.offer(entry)

    def start_at(self, channel: int, seq: int) -> None:
        """What the channel's consumer had delivered before this process: not kept here."""
        self.floor[channel] = max(self.floor[channel], seq)

    def since(self, cursor: Cursor) -> tuple[list[Entry], bool]:
        """The kept events after `cursor`, in stream order, and whether some after it are
        not kept any more (a gap)."""
        gap = any(seen < floor for seen, floor in zip(cursor, self.floor, strict=True))
        after = [e for kept in self.kept for e in kept if e.seq > cursor[e.channel]]
        return sorted(after, key=lambda e: e.seq), gap

    def position(self) -> Cursor:
        """The newest position: a client starting now has seen everything before it."""
        return tuple(
            kept[-1].seq if kept else floor
            for kept, floor in zip(self.kept, self.floor, strict=True)
        )

    @contextlib.contextmanager
    def listen(self) -> Iterator[Listener]:
        listener = Listener()
        if self.closed:
            listener.offer(None)
        self.listeners.add(listener)
        try:
            yield listener
        finally:
            self.listeners.discard(listener)

    def close(self) -> None:
        self.closed = True
        for listener in self.listeners:
            listener.offer(None)


async def follow(bus: Bus, journal: Journal, index: int, stop: asyncio.Event) -> None:
    """Feed the journal from the gateway's durable consumer of one channel until `stop`."""
    channel = CHANNELS[index]
    durable = f"{bus.cell}-{GATEWAY_CONSUMERS[channel.name].durable}"
    config = ConsumerConfig(
        ack_policy=AckPolicy.ALL,
        ack_wait=ACK_WAIT,
        deliver_policy=DeliverPolicy.ALL,
        max_ack_pending=FETCH * 10,
    )
    try:
        sub = await bus.js.pull_subscribe(
            channel.wildcard(cell=bus.cell), durable=durable, stream=channel.stream, config=config
        )
    except Exception:
        log.exception("event_feed_failed", consumer=durable)
        raise
    try:
        info = await sub.consumer_info()
        journal.start_at(index, info.ack_floor.stream_seq if info.ack_floor else 0)
        while not stop.is_set():
            try:
                batch = await sub.fetch(FETCH, timeout=1.0)
            except (TimeoutError, NatsTimeoutError):
                continue
            except nats.errors.Error as exc:  # a reconnect, say: the durable keeps our place
                log.warning("event_feed_interrupted", consumer=durable, error=str(exc))
                await asyncio.sleep(1.0)
                continue
            for msg in batch:
                try:
                    message = channel.model.model_validate_json(msg.data)
                except ValidationError:
                    log.warning("event_not_kept", subject=msg.subject, why="does not decode")
                    continue
                journal.add(index, msg.metadata.sequence.stream, message)
            if batch:
                await batch[-1].ack()
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


def follow_events(bus: Bus, journal: Journal, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    """The journal's feeds; it closes (ending every open event stream) when `stop` is set."""

    async def close_on_stop() -> None:
        await stop.wait()
        journal.close()

    return [
        *(asyncio.create_task(follow(bus, journal, i, stop)) for i in range(len(CHANNELS))),
        asyncio.create_task(close_on_stop()),
    ]
