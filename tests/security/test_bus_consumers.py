"""Issue #19, finding 10: a role cannot make the server send messages for it.

nats-server checks what an identity publishes, but a push consumer's `deliver_subject` is
not checked against its creator's permissions: whoever may create a consumer on a stream
can have the server deliver that stream's messages to any subject, the installer's command
subject included. A role that may also write into the stream (a bucket it writes, a subject
it publishes) then chooses the content too, and so sends commands it may not send.

The attack, as each role of the table (shared/events/roles.py), against the real server:
create a push consumer on a stream the role reads or writes, delivering to a subject the
role may not publish, then write into it. No message may arrive there.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from app.embedded import ManagedProcess
from app.embedded.bus_identity import BusAuthority
from shared.bus.auth import inbox_prefix
from shared.events.channels import INSTALL, REMOVE, RESULT, Channel
from shared.events.roles import PARTICIPANTS, ROLES, Role
from tests.parts.stack import Stack, register_cell

pytestmark = pytest.mark.integration
ANSWER = 0.5  # seconds: the server answers on loopback within; a refusal is no answer


def _target(role: Role) -> Channel:
    """A command (or event) subject the role may not publish."""
    published = {channel.name for channel, _ in role.publish}
    return next(c for c in (INSTALL, REMOVE, RESULT) if c.name not in published)


def _bucket(role: Role) -> tuple[str, str | None]:
    """The bucket to attack through, and a key the role may write there (None: read only)."""
    if role.write:
        return role.write[0], "attack"
    if role.announce:
        return PARTICIPANTS, role.name
    return (role.read or ("pic_services",))[0], None


def _own_work(role: Role, cell: str = "c") -> tuple[str, str, str] | None:
    """A durable of the role on a stream it also publishes into: (stream, durable, a subject
    the role publishes there)."""
    for consumer in role.consume:
        for channel, tokens in role.publish:
            if channel.stream == consumer.channel.stream:
                subject = channel.subject(cell=cell, **{"host": "local", **tokens})
                return channel.stream, consumer.durable.format(host="local"), subject
    return None


@pytest.fixture
async def suite_nc(nats_url: str, suite_seed: Path) -> AsyncIterator[NATS]:
    nc = await nats.connect(nats_url, nkeys_seed=str(suite_seed))
    yield nc
    await nc.close()


async def _as(stack: Stack, role: str) -> NATS:
    async def quiet(exc: Exception) -> None:
        pass

    return await nats.connect(
        stack.nats_url,
        nkeys_seed=str(stack.seed(role)),
        inbox_prefix=inbox_prefix(stack.cell, role),
        error_cb=quiet,
        allow_reconnect=False,
    )


async def _push_consumer(nc: NATS, stream: str, deliver: str, name: str, filter_: str) -> str:
    """Try both ways of asking for a push consumer; "" when one was made, else the refusals."""
    js = nc.jetstream(timeout=ANSWER)
    refusals = []
    for config in (
        ConsumerConfig(deliver_subject=deliver, ack_policy=AckPolicy.NONE),
        ConsumerConfig(
            name=name,
            deliver_subject=deliver,
            filter_subject=filter_,
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.ALL,
        ),
    ):
        try:
            await js.add_consumer(stream, config)
            return ""
        except Exception as exc:  # a refusal: a timeout or an API error
            refusals.append(f"{type(exc).__name__}: {exc}")
    return "; ".join(refusals)


async def _arrivals(suite_nc: NATS, subject: str) -> tuple[list[bytes], Any]:
    seen: list[bytes] = []

    async def got(msg: Any) -> None:
        seen.append(msg.data)

    sub = await suite_nc.subscribe(subject, cb=got)
    await suite_nc.flush()
    return seen, sub


@pytest.fixture(scope="module")
def cell(
    nats_url: str,
    nats_server: ManagedProcess,
    bus_authority: BusAuthority,
    tmp_path_factory: pytest.TempPathFactory,
) -> Stack:
    """A cell with its identities, streams and buckets (made by its installer); no service
    runs and no Docker network is needed."""
    name = f"t{uuid.uuid4().hex[:10]}"
    register_cell(bus_authority, nats_server, nats_url, name)
    return Stack(name, tmp_path_factory.mktemp(name), nats_url, "", {}, bus_authority)


@pytest.mark.parametrize("role_name", sorted(ROLES))
async def test_no_role_can_have_the_server_deliver_to_a_subject_it_may_not_publish(
    cell: Stack, suite_nc: NATS, role_name: str
) -> None:
    role = ROLES[role_name]
    target = _target(role).subject(cell=cell.cell, host="local")
    bucket, key = _bucket(role)
    stream, name = f"KV_{bucket}_{cell.cell}", f"x{uuid.uuid4().hex[:8]}"
    seen, sub = await _arrivals(suite_nc, target)
    nc = await _as(cell, role_name)
    try:
        refused = await _push_consumer(nc, stream, target, name, f"$KV.{bucket}_{cell.cell}.>")
        if key is not None:
            command = {"type": INSTALL.name, "version": 1, "operation_id": "op-evil"}
            await nc.publish(f"$KV.{bucket}_{cell.cell}.{key}", json.dumps(command).encode())
        await nc.flush()
        await asyncio.sleep(ANSWER)
    finally:
        await nc.close()
        await sub.unsubscribe()
    assert not seen, (
        f"{role_name} made the server deliver {len(seen)} message(s) from {stream} to {target}, "
        "a subject it may not publish"
    )
    assert refused, f"{role_name} may create a push consumer on {stream}"


ATTACKERS = sorted(name for name, role in ROLES.items() if _own_work(role) is not None)


@pytest.mark.parametrize("role_name", ATTACKERS)
async def test_no_role_can_turn_its_own_durable_onto_what_it_publishes(
    cell: Stack, suite_nc: NATS, role_name: str
) -> None:
    """Its work-queue durable, asked for with another filter (what the role itself publishes)
    and a delivery subject it may not publish."""
    role = ROLES[role_name]
    work = _own_work(role, cell.cell)
    assert work is not None
    stream, durable, own = work
    target = _target(role).subject(cell=cell.cell, host="local")
    seen, sub = await _arrivals(suite_nc, target)
    nc = await _as(cell, role_name)
    try:
        js = nc.jetstream(timeout=ANSWER)
        try:
            await js.add_consumer(
                stream,
                ConsumerConfig(
                    name=f"{cell.cell}-{durable}",
                    durable_name=f"{cell.cell}-{durable}",
                    deliver_subject=target,
                    filter_subject=own,
                    ack_policy=AckPolicy.NONE,
                ),
            )
            made = True
        except Exception:
            made = False
        await nc.publish(own, json.dumps({"type": INSTALL.name}).encode())
        await nc.flush()
        await asyncio.sleep(ANSWER)
    finally:
        await nc.close()
        await sub.unsubscribe()
    assert not seen, f"{role_name} redirected {own} to {target} through its durable"
    assert not made, f"{role_name} may give its durable on {stream} the filter {own}"
