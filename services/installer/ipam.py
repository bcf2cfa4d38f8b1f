"""Cell IP allocation with compare-and-set: two installs can never hold the same address."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from services.installer.state import IpLease
from shared.bus import Conflict, TypedBucket
from shared.errors import OperationError


class PoolExhaustedError(OperationError):
    """No free cell IP address in the pool."""

    key = "ip_pool_exhausted"


def _key(address: str) -> str:
    return address.replace(".", "-").replace(":", "_")


class IpPool:
    def __init__(self, bucket: TypedBucket[IpLease], first: str, last: str) -> None:
        self.bucket = bucket
        self.first = ipaddress.IPv4Address(first)
        self.last = ipaddress.IPv4Address(last)

    def addresses(self) -> Iterator[str]:
        for value in range(int(self.first), int(self.last) + 1):
            yield str(ipaddress.IPv4Address(value))

    @property
    def size(self) -> int:
        return int(self.last) - int(self.first) + 1

    async def held_by(self, service_id: str) -> str | None:
        leases = await self.leases()
        for address, lease in leases.items():
            if lease.service_id == service_id:
                return address
        return None

    async def leases(self) -> dict[str, IpLease]:
        held = await self.bucket.items()
        return {a: held[_key(a)].value for a in self.addresses() if _key(a) in held}

    async def candidate(self, service_id: str) -> str | None:
        """The address allocate() would give now (held, else the lowest free), unwritten."""
        leases = await self.leases()
        for address, lease in leases.items():
            if lease.service_id == service_id:
                return address
        return next((a for a in self.addresses() if a not in leases), None)

    async def allocate(self, service_id: str, operation_id: str) -> str:
        """The service's address if it holds one, else the lowest free one (atomically)."""
        existing = await self.held_by(service_id)
        if existing is not None:
            return existing
        held = set(await self.bucket.keys())
        for address in self.addresses():
            if _key(address) in held:
                continue
            try:
                await self.bucket.create(
                    _key(address), IpLease(service_id=service_id, operation_id=operation_id)
                )
            except Conflict:
                continue
            return address
        raise PoolExhaustedError(
            f"no free cell IP: all {self.size} addresses from {self.first} to {self.last} "
            "are held by installed services; remove a service to free one"
        )

    async def release(self, service_id: str, address: str | None = None) -> bool:
        address = address or await self.held_by(service_id)
        if address is None:
            return False
        record = await self.bucket.get(_key(address))
        if record is None or record.value.service_id != service_id:
            return False
        await self.bucket.delete(_key(address), revision=record.revision)
        return True
