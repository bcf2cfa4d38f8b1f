"""A channel: a subject template paired with exactly one message model, and the stream that
keeps it. The bus works with channels it is given; which channels a cell has is the event
contract's (shared/events/channels.py), not the bus's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from shared.bus.envelope import Message

TOKEN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class Kind(StrEnum):
    command = "command"
    event = "event"
    dead_letter = "dead_letter"


@dataclass(frozen=True)
class Channel:
    name: str
    template: str
    model: type[Message]
    kind: Kind
    description: str
    stream: str  # the JetStream stream that keeps its messages

    def subject(self, **tokens: str) -> str:
        for key, value in tokens.items():
            if not TOKEN.match(value):
                raise ValueError(f"subject token {key}={value!r} is not a valid token")
        return self.template.format(**tokens)

    def wildcard(self, **tokens: str) -> str:
        """The subject with every token not given replaced by `*`."""
        names = re.findall(r"{(\w+)}", self.template)
        filled = {n: tokens.get(n, "*") for n in names}
        return self.template.format(**filled)
