"""Who may do what on the bus, enforced by nats-server itself: for each role of a cell, what it
must be able to do is accepted and what it must not is refused by the server (a permissions
violation it reports), not by our code.

Two tables: a few named promises, written by hand (so a wrong role table fails them), and
every role x every subject family, generated from the role table (so no grant goes
untested): the channels, the dead-letter subjects, the buckets (read, write, announce), the
streams (make, change, delete), the consumers (its own durables with their one filter; none
other, no push consumer on a bucket) and the reply inboxes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NATS

from app.embedded import ManagedProcess
from app.embedded.bus_identity import BusAuthority
from shared.bus.auth import inbox_prefix, new_seed
from shared.contract.registry import participants
from shared.events.channels import CHANNELS, DEAD_LETTER, STREAMS, Channel
from shared.events.roles import BUCKETS, PARTICIPANTS, ROLES, Role
from tests.parts.stack import Stack, register_cell

pytestmark = pytest.mark.integration

Action = Callable[[NATS, str], Awaitable[str]]  # does it; returns the subject it touched


def publish(subject: str) -> Action:
    async def act(nc: NATS, cell: str) -> str:
        target = subject.format(cell=cell)
        await nc.publish(target, b"{}")
        return target

    return act


def subscribe(subject: str) -> Action:
    async def act(nc: NATS, cell: str) -> str:
        target = subject.format(cell=cell)
        await nc.subscribe(target)
        return target

    return act


SEND_INSTALL = publish("pic.{cell}.cmd.installer.local.install")
PROGRESS = publish("pic.{cell}.evt.installer.progress")
VERIFY_RESULT = publish("pic.{cell}.evt.verifier.step_result")
ROUTES_RESULT = publish("pic.{cell}.evt.router.step_result")
READ_SECRETS = publish("$JS.API.STREAM.MSG.GET.KV_pic_secrets_{cell}")
WRITE_SECRETS = publish("$KV.pic_secrets_{cell}.notes")
READ_SERVICES = publish("$JS.API.STREAM.MSG.GET.KV_pic_services_{cell}")
WRITE_SERVICES = publish("$KV.pic_services_{cell}.notes")
ANNOUNCE_AS_ROUTER = publish("$KV.pic_participants_{cell}.router")
TAKE_INSTALLS = publish("$JS.API.CONSUMER.MSG.NEXT.PIC_COMMANDS.{cell}-installer-local-install")
WATCH_PROGRESS = subscribe("pic.{cell}.evt.installer.progress")
READ_INSTALLER_REPLIES = subscribe("_INBOX.{cell}.installer.>")
CONSUMER_ON_SERVICES = publish("$JS.API.CONSUMER.CREATE.KV_pic_services_{cell}")
CHANGE_EVENTS_STREAM = publish("$JS.API.STREAM.UPDATE.PIC_EVENTS")
MAKE_PEERS_BUCKET = publish("$JS.API.STREAM.CREATE.KV_pic_peers_{cell}")
MAKE_SECRETS_BUCKET = publish("$JS.API.STREAM.CREATE.KV_pic_secrets_{cell}")

ALLOWED, REFUSED = True, False
MATRIX: list[tuple[str, str, Action, bool]] = [
    ("gateway", "send an install command", SEND_INSTALL, ALLOWED),
    ("gateway", "read the services", READ_SERVICES, ALLOWED),
    ("gateway", "watch progress", WATCH_PROGRESS, ALLOWED),
    ("gateway", "read the secrets bucket", READ_SECRETS, REFUSED),
    ("gateway", "write a service record", WRITE_SERVICES, REFUSED),
    ("gateway", "publish progress", PROGRESS, REFUSED),
    ("gateway", "take the installer's commands", TAKE_INSTALLS, REFUSED),
    ("gateway", "read the installer's replies", READ_INSTALLER_REPLIES, REFUSED),
    ("admin", "send an install command", SEND_INSTALL, ALLOWED),
    ("admin", "read the services", READ_SERVICES, ALLOWED),
    ("admin", "read the secrets bucket", READ_SECRETS, REFUSED),
    ("admin", "publish progress", PROGRESS, REFUSED),
    ("router", "answer its own step", ROUTES_RESULT, ALLOWED),
    ("router", "announce itself", ANNOUNCE_AS_ROUTER, ALLOWED),
    ("router", "read the services", READ_SERVICES, ALLOWED),
    ("router", "publish a verify result", VERIFY_RESULT, REFUSED),
    ("router", "send an install command", SEND_INSTALL, REFUSED),
    ("router", "read the secrets bucket", READ_SECRETS, REFUSED),
    ("router", "write a service record", WRITE_SERVICES, REFUSED),
    ("verifier", "answer its own step", VERIFY_RESULT, ALLOWED),
    ("verifier", "answer for the router", ROUTES_RESULT, REFUSED),
    ("verifier", "announce itself as the router", ANNOUNCE_AS_ROUTER, REFUSED),
    ("verifier", "read the secrets bucket", READ_SECRETS, REFUSED),
    ("installer", "read the secrets bucket", READ_SECRETS, ALLOWED),
    ("installer", "write a secret", WRITE_SECRETS, ALLOWED),
    ("installer", "publish progress", PROGRESS, ALLOWED),
    ("installer", "take its commands", TAKE_INSTALLS, ALLOWED),
    ("installer", "send an install command", SEND_INSTALL, REFUSED),
    ("installer", "publish a verify result", VERIFY_RESULT, REFUSED),
    ("installer", "make the secrets bucket", MAKE_SECRETS_BUCKET, ALLOWED),
    ("router", "make a consumer on the services bucket", CONSUMER_ON_SERVICES, REFUSED),
    ("gateway", "make a consumer on the services bucket", CONSUMER_ON_SERVICES, REFUSED),
    ("admin", "change the events stream (source the secrets)", CHANGE_EVENTS_STREAM, REFUSED),
    ("accounts", "make its peers bucket (sourcing the secrets)", MAKE_PEERS_BUCKET, REFUSED),
]


@pytest.fixture(scope="module")
def cell(
    nats_url: str,
    nats_server: ManagedProcess,
    bus_authority: BusAuthority,
    tmp_path_factory: pytest.TempPathFactory,
) -> Stack:
    """A cell with its identities, streams and buckets on the session's server (no service
    runs, and no Docker network is needed: no turn on the cell subnet to wait for)."""
    name = f"t{uuid.uuid4().hex[:10]}"
    register_cell(bus_authority, nats_server, nats_url, name)
    return Stack(name, tmp_path_factory.mktemp(name), nats_url, "", {}, bus_authority)


async def connect_as(stack: Stack, role: str, errors: list[str]) -> NATS:
    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    return await nats.connect(
        stack.nats_url,
        nkeys_seed=str(stack.seed(role)),
        inbox_prefix=inbox_prefix(stack.cell, role),
        error_cb=on_error,
        allow_reconnect=False,
    )


async def violations_after(nc: NATS, errors: list[str], subject: str) -> list[str]:
    """The server's permission violations that name the subject. The server answers a
    refused publish or subscription before the PONG of the flush; the error callback runs
    soon after."""
    await nc.flush()
    await asyncio.sleep(0.1)
    # nats-py hands the server's message on in lower case.
    return [
        e for e in errors if "permissions violation" in e.lower() and subject.lower() in e.lower()
    ]


@pytest.mark.parametrize(
    ("role", "what", "action", "allowed"), MATRIX, ids=[f"{r}: {w}" for r, w, _, _ in MATRIX]
)
async def test_the_server_enforces_each_role(
    cell: Stack, role: str, what: str, action: Action, allowed: bool
) -> None:
    errors: list[str] = []
    nc = await connect_as(cell, role, errors)
    try:
        subject = await action(nc, cell.cell)
        violations = await violations_after(nc, errors, subject)
    finally:
        await nc.close()
    if allowed:
        assert violations == [], f"{role} may {what}, but the server refused: {violations}"
    else:
        assert violations, f"{role} must not {what} ({subject}), and the server let it"


async def test_a_connection_without_an_identity_is_refused(cell: Stack) -> None:
    with pytest.raises(Exception) as caught:
        await nats.connect(cell.nats_url, allow_reconnect=False, connect_timeout=2)
    assert caught.type is not None


async def test_an_unknown_identity_is_refused(cell: Stack, tmp_path: Any) -> None:
    stranger = tmp_path / "stranger.nk"
    stranger.write_bytes(new_seed())
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    with pytest.raises(Exception):  # noqa: B017 (nats-py raises its generic no-servers error)
        await nats.connect(
            cell.nats_url,
            nkeys_seed=str(stranger),
            allow_reconnect=False,
            connect_timeout=2,
            error_cb=on_error,
        )
    assert any("authorization violation" in e.lower() for e in errors), errors


# -- every role x every subject family, from the role table ----------------------------------

PUB, SUB = "publish", "subscribe"
HOST = "local"


def _grants(
    granted: tuple[tuple[Channel, dict[str, str]], ...], channel: Channel, owner: str
) -> bool:
    return any(c is channel and tokens.get("owner", owner) == owner for c, tokens in granted)


def _durables(role: Role, cell: str) -> list[tuple[Channel, str, str]]:
    """(channel, durable, its filter subject) of each of the role's own durables."""
    out = []
    for consumer in role.consume:
        tokens = {**consumer.tokens, "host": HOST}
        out.append(
            (
                consumer.channel,
                f"{cell}-" + consumer.durable.format(host=HOST),
                consumer.channel.subject(cell=cell, **tokens),
            )
        )
    return out


def expected(role: Role, cell: str) -> dict[tuple[str, str], bool]:
    """(publish|subscribe, subject) -> may the role do it, for every subject family."""
    table: dict[tuple[str, str], bool] = {}
    # the channels, with each owner where the subject names one
    for channel in CHANNELS:
        if channel is DEAD_LETTER:
            continue
        owners = participants() if "{owner}" in channel.template else ("none",)
        for owner in owners:
            subject = channel.subject(cell=cell, host=HOST, owner=owner)
            consumed = any(
                c.channel is channel and c.tokens.get("owner", owner) == owner for c in role.consume
            )
            table[(PUB, subject)] = _grants(role.publish, channel, owner)
            table[(SUB, subject)] = _grants(role.watch, channel, owner) or consumed
    # the dead-letter subjects and the durables: only its own, only with their filter
    own = {durable for _, durable, _ in _durables(role, cell)}
    for other in ROLES.values():
        for channel, durable, subject in _durables(other, cell):
            mine = durable in own
            stream, api = channel.stream, "$JS.API.CONSUMER"
            table[(PUB, f"pic.{cell}.dlq.{durable}")] = mine
            table[(PUB, f"{api}.CREATE.{stream}.{durable}.{subject}")] = mine
            table[(PUB, f"{api}.MSG.NEXT.{stream}.{durable}")] = mine
            table[(PUB, f"{api}.CREATE.{stream}.{durable}.pic.{cell}.>")] = False
            table[(PUB, f"{api}.CREATE.{stream}.{durable}")] = False
            table[(PUB, f"{api}.DURABLE.CREATE.{stream}.{durable}")] = False
            table[(PUB, f"{api}.DELETE.{stream}.{durable}")] = False
    # the streams: only the installer makes (and changes) them; nobody deletes one
    for stream, _ in STREAMS.values():
        table[(PUB, f"$JS.API.STREAM.INFO.{stream}")] = True
        table[(PUB, f"$JS.API.STREAM.CREATE.{stream}")] = role.manages_streams
        table[(PUB, f"$JS.API.STREAM.UPDATE.{stream}")] = role.manages_streams
        table[(PUB, f"$JS.API.STREAM.DELETE.{stream}")] = False
        table[(PUB, f"$JS.API.STREAM.MSG.GET.{stream}")] = False
        table[(PUB, f"$JS.API.CONSUMER.CREATE.{stream}")] = False
    # the buckets: read, write, announce; made by the installer; no consumer on any
    for bucket in BUCKETS:
        name, stream = f"{bucket}_{cell}", f"KV_{bucket}_{cell}"
        reads = bucket in role.read or bucket in role.write
        table[(PUB, f"$JS.API.STREAM.INFO.{stream}")] = reads or role.manages_streams
        table[(PUB, f"$JS.API.DIRECT.GET.{stream}.$KV.{name}.probe")] = reads
        table[(PUB, f"$JS.API.STREAM.MSG.GET.{stream}")] = reads
        table[(PUB, f"$KV.{name}.probe")] = bucket in role.write
        table[(PUB, f"$JS.API.STREAM.CREATE.{stream}")] = role.manages_streams
        table[(PUB, f"$JS.API.STREAM.UPDATE.{stream}")] = False
        table[(PUB, f"$JS.API.STREAM.DELETE.{stream}")] = False
        table[(PUB, f"$JS.API.CONSUMER.CREATE.{stream}")] = False
        table[(PUB, f"$JS.API.CONSUMER.CREATE.{stream}.x.$KV.{name}.>")] = False
        table[(PUB, f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.x")] = False
        table[(PUB, f"$JS.API.CONSUMER.DELETE.{stream}.x")] = False
    for name in ROLES:
        table[(PUB, f"$KV.{PARTICIPANTS}_{cell}.{name}")] = PARTICIPANTS in role.write or (
            role.announce and name == role.name
        )
        table[(SUB, f"{inbox_prefix(cell, name)}.x")] = name == role.name
    return table


async def refused_of(
    nc: NATS, errors: list[str], actions: list[tuple[str, str]]
) -> set[tuple[str, str]]:
    for kind, subject in actions:
        if kind == PUB:
            await nc.publish(subject, b"")
        else:
            await nc.subscribe(subject)
    await nc.flush()
    await asyncio.sleep(0.3)
    refused = set()
    for kind, subject in actions:
        what = "publish to" if kind == PUB else "subscription to"
        needle = f'{what} "{subject}"'.lower()
        if any("permissions violation" in e.lower() and needle in e.lower() for e in errors):
            refused.add((kind, subject))
    return refused


@pytest.mark.parametrize("role", sorted(ROLES))
async def test_every_role_and_every_subject_family(cell: Stack, role: str) -> None:
    table = expected(ROLES[role], cell.cell)
    errors: list[str] = []
    nc = await connect_as(cell, role, errors)
    try:
        refused = await refused_of(nc, errors, sorted(table))
    finally:
        await nc.close()
    wrongly_allowed = sorted(
        f"{k} {s}" for (k, s), ok in table.items() if not ok and (k, s) not in refused
    )
    wrongly_refused = sorted(f"{k} {s}" for (k, s), ok in table.items() if ok and (k, s) in refused)
    assert not wrongly_allowed, f"{role} must not, and the server let it: {wrongly_allowed}"
    assert not wrongly_refused, f"{role} may, and the server refused: {wrongly_refused}"
