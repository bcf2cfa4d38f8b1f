"""Who may do what on the bus, enforced by nats-server itself: for each role of a cell, what it
must be able to do is accepted and what it must not is refused by the server (a permissions
violation it reports), not by our code."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NATS

from shared.bus.auth import inbox_prefix, new_seed
from tests.parts.stack import Stack

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
]


@pytest.fixture
def cell(stack_factory: Any) -> Stack:
    """A cell with its identities on the session's server (no service needs to run)."""
    return stack_factory()  # type: ignore[no-any-return]


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
    """The server's permission violations that name the subject, once it had time to say."""
    await nc.flush()
    for _ in range(20):
        # nats-py hands the server's message on in lower case.
        found = [
            e
            for e in errors
            if "permissions violation" in e.lower() and subject.lower() in e.lower()
        ]
        if found:
            return found
        await asyncio.sleep(0.05)
    return []


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
