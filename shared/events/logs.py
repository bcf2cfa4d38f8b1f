"""A service's container logs, asked of the installer (the one process with the Docker socket)
by the gateway and the command line.

Logs may hold anything a container prints, secrets included: like a peer's configs, they
leave the installer only sealed to a one-time age key the asker sends with its request, so
the answer kept in the event stream reads as noise to everyone else. The answer is bounded
(MAX_TAIL lines per container, each cut to MAX_LINE characters, MAX_BYTES in all) so it
always fits one bus message.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field

from shared.bus.envelope import Message, Payload
from shared.ids import ServiceId

MAX_TAIL: Final = 1000  # lines per container
MAX_LINE: Final = 2000  # characters of one line; longer ones are cut
MAX_BYTES: Final = 512 * 1024  # of every line together (a bus message is at most 1 MiB)
AGE_RECIPIENT: Final = r"^age1[0-9a-z]{58}$"


class LogsRequestPayload(Payload):
    tail: int = Field(ge=1, le=MAX_TAIL, description="The last lines of each container")
    recipient: str = Field(
        pattern=AGE_RECIPIENT,
        description="A one-time age X25519 public key the answer is sealed to",
    )


class LogsRequest(Message):
    type: Literal["installer.logs"] = "installer.logs"
    version: Literal[1] = 1
    service_id: ServiceId
    payload: LogsRequestPayload


class LogsReplyPayload(Payload):
    ok: bool
    reason: str = ""
    installed: bool = Field(default=True, description="False: no such service is installed")
    sealed: str = Field(
        default="",
        description="The lines as JSON ({container: {lines: [...], truncated: bool}}), "
        "age-encrypted to the request's recipient, base64",
    )


class LogsReply(Message):
    type: Literal["installer.logs_reply"] = "installer.logs_reply"
    version: Literal[1] = 1
    payload: LogsReplyPayload
