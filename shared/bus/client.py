"""Connection, streams and buckets, created idempotently at start-up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import nats
import nats.errors
import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import NoServersError
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError
from nats.js.kv import KeyValue
from pydantic import BaseModel

from shared.bus.auth import inbox_prefix
from shared.bus.channel import Channel
from shared.bus.consumer import Handler, consume
from shared.bus.envelope import Message
from shared.bus.kv import TypedBucket
from shared.bus.layout import Layout
from shared.errors import PartUnavailableError

M = TypeVar("M", bound=Message)
R = TypeVar("R", bound=BaseModel)

log = structlog.get_logger("bus")


def _identity(cell: str, role: str, seed: Path | None) -> dict[str, str]:
    if seed is None:
        return {}
    return {"nkeys_seed": str(seed), "inbox_prefix": inbox_prefix(cell, role)}


class Bus:
    """One NATS connection for one cell, with the JetStream objects the services share."""

    def __init__(
        self, nc: NATS, cell: str, layout: Layout, replicas: int = 1, role: str | None = None
    ) -> None:
        self.nc = nc
        self.layout = layout
        self.js: JetStreamContext = nc.jetstream()
        self.cell = cell
        self.replicas = replicas
        self.role = role

    @classmethod
    async def connect(
        cls,
        url: str,
        cell: str,
        *,
        layout: Layout,
        name: str = "pic-store",
        seed: Path | None = None,
        role: str | None = None,
        timeout: float = 5.0,
        replicas: int = 1,
        reconnect_attempts: int = -1,
    ) -> Bus:
        """Connect as the identity whose nkey seed is in `seed` (with the inbox prefix of its
        `role`); a service keeps reconnecting for ever, a command line gives up early. Roles
        that set up the streams (the installer) make them and the cell's buckets; the others
        wait for them to exist."""

        errors: list[str] = []
        refusals: list[str] = []  # what the server itself said (it then closes the socket)

        async def on_error(exc: Exception) -> None:
            errors.append(str(exc) or type(exc).__name__)
            if isinstance(exc, nats.errors.AuthorizationError) or type(exc) is nats.errors.Error:
                refusals.append(errors[-1])
            log.warning("nats_error", url=url, error=errors[-1])

        try:
            nc = await nats.connect(
                url,
                name=name,
                connect_timeout=timeout,
                max_reconnect_attempts=reconnect_attempts,
                reconnect_time_wait=0.5,
                error_cb=on_error,
                allow_reconnect=True,
                **_identity(cell, role or name, seed),
            )
        except (TimeoutError, NoServersError, OSError, nats.errors.Error) as exc:
            who = f" as {role or name} ({seed})" if seed else " without an identity"
            # nats-py says "no servers available" when the server refused the identity; the
            # server's own reason came to the error callback, and may be followed there by the
            # reset of the socket it closed.
            reason = (refusals or errors or [str(exc)])[-1]
            raise PartUnavailableError(
                f"NATS at {url} refused or did not answer the connection{who}: {reason}"
            ) from exc
        bus = cls(nc, cell, layout, replicas, role)
        if bus.makes_streams:
            await bus.ensure_streams()
            await bus.ensure_buckets()
        else:
            await bus.wait_for_streams(timeout=30.0)
        return bus

    @property
    def makes_streams(self) -> bool:
        """Only the installer's role (or an identity outside the roles) makes streams."""
        return self.role is None or self.role in self.layout.stream_makers

    async def close(self) -> None:
        if not self.nc.is_closed:
            await self.nc.drain()

    async def wait_for_streams(self, timeout: float) -> None:
        """Until the installer (or the admin) has set the streams up."""
        deadline = asyncio.get_running_loop().time() + timeout
        for stream in self.layout.streams:
            name = stream.name
            while True:
                try:
                    await self.js.stream_info(name)
                    break
                except NotFoundError:
                    if asyncio.get_running_loop().time() > deadline:
                        raise PartUnavailableError(
                            f"the stream {name} does not exist: start the installer (or "
                            "`pic-store up`), which sets the streams up"
                        ) from None
                    await asyncio.sleep(0.2)

    async def ensure_streams(self) -> None:
        for stream in self.layout.streams:
            name = stream.name
            config = StreamConfig(
                name=name,
                subjects=[stream.subjects],
                retention=RetentionPolicy.WORK_QUEUE
                if stream.work_queue
                else RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                max_age=stream.max_age,
                num_replicas=self.replicas,
                duplicate_window=120.0,
            )
            try:
                await self.js.add_stream(config)
            except BadRequestError:
                try:
                    await self.js.update_stream(config)
                except BadRequestError as exc:  # e.g. a retention made by an older version
                    log.warning("stream_config_kept", stream=name, reason=str(exc))

    async def ensure_buckets(self) -> None:
        """Every bucket of the layout, made when missing."""
        for name, spec in self.layout.buckets.items():
            with contextlib.suppress(BadRequestError):  # made meanwhile by another replica
                await self._open(f"{name}_{self.cell}", spec.history, spec.ttl, create=True)

    async def bucket(
        self,
        name: str,
        model: type[R],
        history: int = 5,
        ttl: float | None = None,
        *,
        wait: float = 30.0,
    ) -> TypedBucket[R]:
        """The cell's bucket of that name (`<name>_<cell>`). The installer makes a missing
        one (as the layout declares it); any other role waits for
        it up to `wait` seconds."""
        spec = self.layout.buckets.get(name)
        if spec is not None:
            history, ttl = spec.history, spec.ttl
        full = f"{name}_{self.cell}"
        if self.makes_streams:
            kv = await self._open(full, history, ttl, create=True)
        else:
            deadline = asyncio.get_running_loop().time() + wait
            while (kv := await self._open(full, history, ttl, create=False)) is None:
                if asyncio.get_running_loop().time() > deadline:
                    raise PartUnavailableError(
                        f"the bucket {full} does not exist: start the installer (or "
                        "`pic-store up`), which makes the cell's buckets"
                    )
                await asyncio.sleep(0.2)
        assert kv is not None
        return TypedBucket(kv, model, self.js, full)

    async def _open(
        self, name: str, history: int, ttl: float | None, *, create: bool
    ) -> KeyValue | None:
        try:
            return await self.js.key_value(name)
        except NotFoundError:
            if not create:
                return None
        # Direct gets: every role reads a key without a consumer (none may make one).
        return await self.js.create_key_value(
            KeyValueConfig(
                bucket=name, history=history, ttl=ttl, replicas=self.replicas, direct=True
            )
        )

    async def publish(self, channel: Channel, message: Message, **tokens: str) -> None:
        if not isinstance(message, channel.model):
            raise TypeError(
                f"{channel.name} carries {channel.model.__name__}, not {type(message).__name__}"
            )
        subject = channel.subject(cell=self.cell, **tokens)
        # The event id doubles as the JetStream de-duplication id.
        await self.js.publish(subject, message.encode(), headers={"Nats-Msg-Id": message.event_id})

    async def consume(
        self,
        channel: Channel,
        durable: str,
        handler: Handler[M],
        *,
        stop: asyncio.Event,
        ack_wait: float = 30.0,
        max_deliver: int = 20,
        concurrency: int = 1,
        **tokens: str,
    ) -> None:
        await consume(
            self,
            channel,
            durable,
            handler,
            stop=stop,
            ack_wait=ack_wait,
            max_deliver=max_deliver,
            concurrency=concurrency,
            **tokens,
        )

    @asynccontextmanager
    async def watch(
        self, channel: Channel, on_message: Callable[[Message], Awaitable[None]], **tokens: str
    ) -> AsyncIterator[None]:
        """Live (core NATS) subscription to events, decoded; undecodable ones are skipped."""

        async def deliver(msg: Msg) -> None:
            try:
                decoded = channel.model.model_validate_json(msg.data)
            except ValueError:
                return
            await on_message(decoded)

        sub = await self.nc.subscribe(channel.wildcard(cell=self.cell, **tokens), cb=deliver)
        await self.nc.flush()  # the server knows of the subscription before we go on
        try:
            yield
        finally:
            await sub.unsubscribe()
