"""Peers on the bus, for the gateway, the CLI and tests: add and remove a peer, ask for its
configs or a rotation. The answer is sealed to a one-time age key made for each request, so
only this asker can read the credentials in it."""

from __future__ import annotations

import base64
import json
from typing import Any

import pyrage

from shared.bus import Bus
from shared.bus.request import ask
from shared.errors import OperationError
from shared.events import new_operation_id
from shared.events.channels import PEER_ADDED, PEER_REMOVED, PEER_REPLY, PEER_REQUEST
from shared.events.peers import (
    PeerAction,
    PeerAdded,
    PeerPayload,
    PeerRemoved,
    PeerReply,
    PeerRequest,
    PeerRequestPayload,
)

Configs = dict[str, dict[str, str]]


class PeerRequestError(OperationError):
    """The accounts service refused a peer request (its reason), or did not answer within the
    wait."""

    key = "peer_request_failed"


def seal(data: object, recipient: str) -> str:
    """JSON of `data`, age-encrypted to `recipient` (an age X25519 public key), base64;
    ValueError when the recipient is not one."""
    try:
        to = pyrage.x25519.Recipient.from_str(recipient)
    except pyrage.RecipientError as exc:
        raise ValueError("the request's recipient is not an age X25519 public key") from exc
    return base64.b64encode(pyrage.encrypt(json.dumps(data).encode(), [to])).decode()


def unseal(sealed: str, identity: pyrage.x25519.Identity) -> Any:
    return json.loads(pyrage.decrypt(base64.b64decode(sealed), [identity]))


async def add_peer(bus: Bus, peer: str) -> None:
    await bus.publish(
        PEER_ADDED, PeerAdded(operation_id=new_operation_id(), payload=PeerPayload(peer=peer))
    )


async def remove_peer(bus: Bus, peer: str) -> None:
    await bus.publish(
        PEER_REMOVED, PeerRemoved(operation_id=new_operation_id(), payload=PeerPayload(peer=peer))
    )


async def ask_peer(
    bus: Bus,
    action: PeerAction,
    peer: str | None = None,
    service: str | None = None,
    timeout: float = 30.0,
) -> Any:
    """The peer's configs by service (a rotation: the one service's; a list: {"peers": [...]});
    PeerRequestError with
    the accounts service's reason, or when it does not answer."""
    identity = pyrage.x25519.Identity.generate()
    message = PeerRequest(
        operation_id=new_operation_id(),
        payload=PeerRequestPayload(
            action=action, peer=peer, service=service, recipient=str(identity.to_public())
        ),
    )
    reply = await ask(
        bus,
        PEER_REQUEST,
        message,
        replies=PEER_REPLY,
        reply=PeerReply,
        answers=lambda answer: answer.correlation_id == message.event_id,
        timeout=timeout,
        timeout_error=lambda: PeerRequestError(
            f"the accounts service did not answer within {timeout:.0f} s (is it running?)"
        ),
    )
    if not reply.payload.ok:
        raise PeerRequestError(reply.payload.reason)
    return unseal(reply.payload.sealed, identity)
