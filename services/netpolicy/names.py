"""The names and numbers pic-store owns on a host, derived from the cell so that two cells on
one host never share them: the iptables chain, the ip rule priorities, the routing tables.
And the comment that tags every rule with its service. No I/O."""

from __future__ import annotations

import hashlib
import zlib

from services.netpolicy.errors import InvalidPolicyError
from shared.netconfig import RESERVED_TABLES, NetPolicyConfig

CHAIN_LIMIT = 28  # iptables' longest chain name
TAG = "pic-store"
FIRST_PRIORITY, PRIORITY_SLOTS = 10000, 5000
FIRST_TABLE, TABLE_SLOTS = 10000, 1_000_000


def chain_name(cell: str) -> str:
    """`PIC-<cell>`, or a shortened cell and a hash of it when that is too long."""
    name = f"PIC-{cell}"
    if len(name) <= CHAIN_LIMIT:
        return name
    digest = hashlib.sha256(cell.encode()).hexdigest()[:8]
    return f"PIC-{cell[: CHAIN_LIMIT - 13]}-{digest}"


def priorities(cell: str) -> tuple[int, int]:
    """The cell's two ip rule priorities: (main table without its default route, instance
    table). Below main's 32766, so they are looked at first."""
    first = FIRST_PRIORITY + 2 * (zlib.crc32(cell.encode()) % PRIORITY_SLOTS)
    return first, first + 1


def tables(cell: str, config: NetPolicyConfig) -> dict[str, int]:
    """Egress kind -> its routing table: the config's, else one derived from cell and kind."""
    out: dict[str, int] = {}
    for kind, instance in config.egress.items():
        derived = FIRST_TABLE + zlib.crc32(f"{cell}:{kind}".encode()) % TABLE_SLOTS
        out[kind] = instance.table or derived
    numbers = list(out.values())
    if len(numbers) != len(set(numbers)) or set(numbers) & set(RESERVED_TABLES):
        raise InvalidPolicyError(
            "two egress instances of the cell config share a routing table: set "
            "netpolicy.egress.<kind>.table to distinct numbers"
        )
    return out


def service_tag(service_id: str) -> str:
    return f"{TAG}:{service_id}"


def egress_tag(service_id: str) -> str:
    return f"{TAG}:{service_id}:egress"


def service_of_tag(tag: str) -> str | None:
    """The service a rule's comment names (None: a rule of the chain itself)."""
    parts = tag.split(":")
    return parts[1] if len(parts) >= 2 and parts[0] == TAG else None
