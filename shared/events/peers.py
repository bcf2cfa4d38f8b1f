"""Messages about VPN peers: added and removed (published by the gateway and the CLI), and
the requests the accounts service answers (a peer's configs, a rotation).

A credential only ever leaves the accounts service sealed: the asker sends a one-time age
public key with its request and the answer carries the configs encrypted to it, so the
answer stored in the event stream reads as noise to everyone else.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from shared.bus.envelope import Message, Payload
from shared.ids import PEER_NAME_PATTERN, PeerName, ServiceId


class PeerPayload(Payload):
    peer: PeerName = Field(description="The peer's name, also its username in every service")


class PeerAdded(Message):
    type: Literal["peers.added"] = "peers.added"
    version: Literal[1] = 1
    payload: PeerPayload


class PeerRemoved(Message):
    type: Literal["peers.removed"] = "peers.removed"
    version: Literal[1] = 1
    payload: PeerPayload


class PeerAction(StrEnum):
    config = "config"  # the peer's rendered configs, every service
    rotate = "rotate"  # new credentials for the peer in one service, then its configs
    list = "list"  # the current peers' names


class PeerRequestPayload(Payload):
    action: PeerAction
    peer: PeerName | None = Field(default=None, description="config, rotate")
    service: ServiceId | None = Field(default=None, description="For rotate")
    recipient: str = Field(
        pattern=r"^age1[0-9a-z]{58}$",
        description="A one-time age X25519 public key the answer is sealed to",
    )


class PeerRequest(Message):
    type: Literal["accounts.request"] = "accounts.request"
    version: Literal[1] = 1
    payload: PeerRequestPayload


class PeerReplyPayload(Payload):
    action: PeerAction
    peer: PeerName | None = None
    ok: bool
    reason: str = ""
    sealed: str = Field(
        default="",
        description="The configs as JSON ({service: {key: value}}), age-encrypted to the "
        "request's recipient, base64",
    )


class PeerReply(Message):
    type: Literal["accounts.reply"] = "accounts.reply"
    version: Literal[1] = 1
    payload: PeerReplyPayload


__all__ = [
    "PEER_NAME_PATTERN",
    "PeerAction",
    "PeerAdded",
    "PeerPayload",
    "PeerRemoved",
    "PeerReply",
    "PeerReplyPayload",
    "PeerRequest",
    "PeerRequestPayload",
]
