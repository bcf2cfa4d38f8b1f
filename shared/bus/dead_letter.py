"""A message a consumer could not accept, with the reason: the bus's own message, published
on the dead-letter channel the caller's layout names."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.bus.envelope import Message, Payload


class DeadLetterPayload(Payload):
    subject: str
    consumer: str
    reason: str
    data: str = Field(description="The first bytes of the rejected message, as text")
    deliveries: int = 1


class DeadLetter(Message):
    type: Literal["dead_letter"] = "dead_letter"
    version: Literal[1] = 1
    payload: DeadLetterPayload
