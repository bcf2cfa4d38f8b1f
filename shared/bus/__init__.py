"""A thin layer over nats-py JetStream: streams, durable consumers, key-value state.

Handlers decide acknowledgement by what they raise: return normally and the message is
acknowledged; raise `Retry` and it comes back after a delay; raise `Reject` (or send a message
that does not decode) and it goes to the dead-letter subject with the reason, never to loop.
"""

from shared.bus.client import Bus
from shared.bus.consumer import Reject, Retry
from shared.bus.kv import Conflict, Record, TypedBucket
from shared.bus.lease import Busy, Lease, LeaseLocks

__all__ = [
    "Bus",
    "Busy",
    "Conflict",
    "Lease",
    "LeaseLocks",
    "Record",
    "Reject",
    "Retry",
    "TypedBucket",
]
