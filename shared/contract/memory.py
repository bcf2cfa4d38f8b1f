"""An in-memory bus for fast tests of a participant: what `Participant.tasks` and `ask_step`
need of the bus (publish, consume, watch, a bucket), in one process, no NATS.

Subjects are the channels' own (`Channel.subject`), so tokens route as they do on NATS. A
consumed message is handled once (no redelivery: a fast test asks for behaviour, the real bus
is tested on nats-server); a handler's exception is kept in `errors` for the test to see.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.bus.channel import Channel
from shared.events import Message

R = TypeVar("R", bound=BaseModel)
M = TypeVar("M", bound=Message)
CELL = "memory"


@dataclass
class Entry(Generic[R]):
    value: R
    revision: int


class MemoryBucket(Generic[R]):
    def __init__(self) -> None:
        self.values: dict[str, Entry[R]] = {}
        self.revision = 0

    async def get(self, key: str) -> Entry[R] | None:
        return self.values.get(key)

    async def put(self, key: str, value: R) -> int:
        self.revision += 1
        self.values[key] = Entry(value, self.revision)
        return self.revision

    async def delete(self, key: str) -> None:
        self.values.pop(key, None)

    async def keys(self) -> list[str]:
        return sorted(self.values)


def _pattern(channel: Channel, tokens: dict[str, str]) -> str:
    return channel.wildcard(cell=CELL, **tokens)


@dataclass
class MemoryBus:
    published: list[tuple[str, Message]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    _queues: list[tuple[str, asyncio.Queue[Message]]] = field(default_factory=list)
    _watchers: list[tuple[str, Callable[[Message], Awaitable[None]]]] = field(default_factory=list)
    _buckets: dict[str, MemoryBucket[Any]] = field(default_factory=dict)

    async def publish(self, channel: Channel, message: Message, **tokens: str) -> None:
        if not isinstance(message, channel.model):
            raise TypeError(
                f"{channel.name} carries {channel.model.__name__}, not {type(message).__name__}"
            )
        subject = channel.subject(cell=CELL, **tokens)
        self.published.append((subject, message))
        for pattern, queue in self._queues:
            if fnmatch.fnmatchcase(subject, pattern):
                queue.put_nowait(message)
        for pattern, on_message in list(self._watchers):
            if fnmatch.fnmatchcase(subject, pattern):
                await on_message(message)

    async def consume(
        self,
        channel: Channel,
        durable: str,
        handler: Callable[[M], Awaitable[None]],
        *,
        stop: asyncio.Event,
        ack_wait: float = 30.0,
        max_deliver: int = 20,
        concurrency: int = 1,
        **tokens: str,
    ) -> None:
        queue: asyncio.Queue[Message] = asyncio.Queue()
        entry = (_pattern(channel, tokens), queue)
        self._queues.append(entry)
        try:
            while not stop.is_set():
                getting = asyncio.ensure_future(queue.get())
                stopping = asyncio.ensure_future(stop.wait())
                done, _ = await asyncio.wait(
                    {getting, stopping}, return_when=asyncio.FIRST_COMPLETED
                )
                for pending in (getting, stopping):
                    if pending not in done:
                        pending.cancel()
                if getting in done:
                    try:
                        await handler(getting.result())  # type: ignore[arg-type]
                    except Exception as exc:  # the test looks at it
                        self.errors.append(exc)
        finally:
            self._queues.remove(entry)

    @contextlib.asynccontextmanager
    async def watch(
        self, channel: Channel, on_message: Callable[[Message], Awaitable[None]], **tokens: str
    ) -> AsyncIterator[None]:
        entry = (_pattern(channel, tokens), on_message)
        self._watchers.append(entry)
        try:
            yield
        finally:
            self._watchers.remove(entry)

    async def bucket(
        self, name: str, model: type[R], history: int = 5, ttl: float | None = None
    ) -> MemoryBucket[R]:
        return self._buckets.setdefault(name, MemoryBucket())
