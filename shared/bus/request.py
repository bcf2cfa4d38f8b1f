"""Request and reply over the bus, written once: publish a message, wait for its answer.

`ask` is what every client uses (the life-cycle commands, backups, peers, the secrets
handover, the saga's steps): it publishes `message` on `channel` and returns the first message
on `replies` that is of the `reply` model and that `answers` accepts (the one correlated with
the request), typed as that model; when none comes within `timeout` seconds it raises the
client's own error (`timeout_error()`), which says what did not answer and why that matters.

Messages on other channels can be followed on the way (the progress of an operation). The
watch is in place before the request goes out, so no answer can be missed.

The bus layer knows no subject and no model: the channels and the reply's model are
arguments, and `Transport` is all this module asks of the bus (`shared.bus.Bus` is one).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeVar

C = TypeVar("C", contravariant=True)  # a channel: where a message goes
M = TypeVar("M")  # a message, as the bus decodes it
R = TypeVar("R")  # the reply's model

OnMessage = Callable[[M], Awaitable[None] | None]


class Transport(Protocol[C, M]):
    """What request and reply needs of the bus: publish, and watch a channel live."""

    def publish(self, channel: C, message: M, **tokens: str) -> Awaitable[None]: ...

    def watch(
        self, channel: C, on_message: Callable[[M], Awaitable[None]], **tokens: str
    ) -> AbstractAsyncContextManager[None]: ...


async def ask(
    bus: Transport[C, M],
    channel: C,
    message: M,
    *,
    replies: C,
    reply: type[R],
    answers: Callable[[R], bool],
    timeout: float,
    timeout_error: Callable[[], Exception],
    tokens: Mapping[str, str] | None = None,
    reply_tokens: Mapping[str, str] | None = None,
    follow: Sequence[tuple[C, OnMessage[M]]] = (),
) -> R:
    """The `reply` to `message` that `answers` accepts; `timeout_error()` (raised from the
    TimeoutError) when none comes within `timeout` seconds.

    `tokens` fill the request's subject, `reply_tokens` the replies' (a step's owner);
    `follow` pairs other channels with what to do with each message on them meanwhile."""

    def matches(candidate: M) -> bool:
        return isinstance(candidate, reply) and answers(candidate)

    try:
        answer = await _request(
            bus,
            channel,
            message,
            replies=replies,
            answers=matches,
            timeout=timeout,
            tokens=tokens,
            reply_tokens=reply_tokens,
            follow=follow,
        )
    except TimeoutError as exc:
        raise timeout_error() from exc
    if not isinstance(answer, reply):  # `matches` let only a `reply` through
        raise TypeError(f"the answer is a {type(answer).__name__}, not a {reply.__name__}")
    return answer


async def _request(
    bus: Transport[C, M],
    channel: C,
    message: M,
    *,
    replies: C,
    answers: Callable[[M], bool],
    timeout: float,
    tokens: Mapping[str, str] | None = None,
    reply_tokens: Mapping[str, str] | None = None,
    follow: Sequence[tuple[C, OnMessage[M]]] = (),
) -> M:
    """The first message on `replies` that `answers` accepts, untyped (`ask` types it and
    names the timeout); TimeoutError when none comes within `timeout` seconds."""
    answer: asyncio.Future[M] = asyncio.get_running_loop().create_future()

    async def on_reply(candidate: M) -> None:
        if not answer.done() and answers(candidate):
            answer.set_result(candidate)

    async with contextlib.AsyncExitStack() as watches:
        for followed, on_message in follow:
            await watches.enter_async_context(bus.watch(followed, _awaiting(on_message)))
        await watches.enter_async_context(bus.watch(replies, on_reply, **(reply_tokens or {})))
        await bus.publish(channel, message, **(tokens or {}))
        return await asyncio.wait_for(answer, timeout)


def _awaiting(callback: OnMessage[M]) -> Callable[[M], Awaitable[None]]:
    async def deliver(message: M) -> None:
        outcome = callback(message)
        if outcome is not None:
            await outcome

    return deliver
