"""What every DNS backend offers the router, and the checks every backend applies first.

A backend holds, for each service, the names of its hosts and the address they resolve to
(the cell's address). It only ever changes names it owns, and says so when a name it is
asked for already belongs to someone else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from services.router.routes import Address, ServiceRoutes, check_domain, check_label, parse_ip

__all__ = ["Address", "DnsBackend", "checked_records", "records_for"]


class DnsBackend(Protocol):
    async def set_records(self, service_id: str, records: Mapping[str, str]) -> None:
        """Make the service's names exactly `records` (name -> address); idempotent."""

    async def remove(self, service_id: str) -> None:
        """Delete every name the service has; nothing to delete is not an error."""

    async def list(self) -> dict[str, str]:
        """Every name pic-store holds in this backend, with its address."""

    async def by_service(self) -> dict[str, dict[str, str]]:
        """The names each service holds: service id -> name -> address."""


def records_for(service: ServiceRoutes, address: str) -> dict[str, str]:
    """The DNS records of a service: each of its hosts points to the cell's address."""
    return {host: address for host in service.hosts}


def checked_records(service_id: str, records: Mapping[str, str]) -> dict[str, Address]:
    """Validate again at the boundary: DNS names of plain labels, unscoped IP addresses."""
    check_label(service_id, "service id")
    checked: dict[str, Address] = {}
    for name, address in records.items():
        check_domain(name, "record name")
        checked[name] = parse_ip(address, f"address of {name}")
    return checked
