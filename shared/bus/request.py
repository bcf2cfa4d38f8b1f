"""Request and reply over the bus, written once: publish a message, wait for its answer.

The answer is the first message on `replies` that `answers` accepts; messages on other
channels can be followed on the way (the progress of an operation). The watch is in place
before the request goes out, so no answer can be missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence

from shared.bus.client import Bus
from shared.events import Message
from shared.events.channels import Channel

OnMessage = Callable[[Message], Awaitable[None] | None]


async def request(
    bus: Bus,
    channel: Channel,
    message: Message,
    *,
    replies: Channel,
    answers: Callable[[Message], bool],
    timeout: float,
    tokens: Mapping[str, str] | None = None,
    reply_tokens: Mapping[str, str] | None = None,
    follow: Sequence[tuple[Channel, OnMessage]] = (),
) -> Message:
    """The answer to `message`; TimeoutError when none comes within `timeout` seconds."""
    answer: asyncio.Future[Message] = asyncio.get_running_loop().create_future()

    async def on_reply(reply: Message) -> None:
        if answers(reply) and not answer.done():
            answer.set_result(reply)

    async with contextlib.AsyncExitStack() as watches:
        for followed, on_message in follow:
            await watches.enter_async_context(bus.watch(followed, _awaiting(on_message)))
        await watches.enter_async_context(bus.watch(replies, on_reply, **(reply_tokens or {})))
        await bus.publish(channel, message, **(tokens or {}))
        return await asyncio.wait_for(answer, timeout)


def _awaiting(callback: OnMessage) -> Callable[[Message], Awaitable[None]]:
    async def deliver(message: Message) -> None:
        outcome = callback(message)
        if outcome is not None:
            await outcome

    return deliver
