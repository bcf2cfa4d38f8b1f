"""The cell's bus layout, as every connection is given it (shared/bus/layout.py): the three
streams, every bucket (the installer's and those each participant's contract owns), the
dead-letter channel, and the one role that makes streams and buckets."""

from __future__ import annotations

from shared.bus.channel import Kind
from shared.bus.layout import Layout, Stream
from shared.events.channels import DEAD_LETTER, STREAMS
from shared.events.roles import BUCKET_SPECS, ROLES

DAY = 86400.0
MAX_AGE = {Kind.command: 7 * DAY, Kind.event: 7 * DAY, Kind.dead_letter: 30 * DAY}

CELL_LAYOUT = Layout(
    streams=tuple(
        Stream(name, subjects, MAX_AGE[kind], work_queue=kind == Kind.command)
        for kind, (name, subjects) in STREAMS.items()
    ),
    buckets=BUCKET_SPECS,
    dead_letters=DEAD_LETTER,
    stream_makers=frozenset(name for name, role in ROLES.items() if role.manages_streams),
)
