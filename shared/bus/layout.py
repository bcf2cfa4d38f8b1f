"""What a cell's bus holds, as the bus is told it: its streams, its key-value buckets, the
dead-letter channel, and which roles make streams and buckets. The bus knows no subject of its
own; the event contract describes the cell's layout (shared/events/layout.py) and every
connection is given it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.bus.channel import Channel


@dataclass(frozen=True)
class Stream:
    name: str
    subjects: str  # the filter of every subject it keeps
    max_age: float  # seconds
    # A work queue forgets a message once its consumer acknowledged it (commands: their
    # settings may be secret); the others keep messages until they age out.
    work_queue: bool = False


@dataclass(frozen=True)
class Bucket:
    """A key-value bucket (`<name>_<cell>`): the revisions it keeps per key, how long a value
    lives."""

    name: str
    history: int = 5
    ttl: float | None = None


@dataclass(frozen=True)
class Layout:
    streams: tuple[Stream, ...]
    buckets: Mapping[str, Bucket]
    dead_letters: Channel  # its subject template has a `{consumer}` token
    stream_makers: frozenset[str] = field(default_factory=frozenset)  # roles
