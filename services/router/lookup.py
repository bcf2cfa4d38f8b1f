"""Ask a DNS server what it answers for names: what a peer of the cell would see."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from services.router.errors import DnsUnavailableError


async def answers(
    server: str,
    port: int,
    names: Iterable[str],
    timeout: float = 1.0,
) -> dict[str, str | None]:
    """name -> the address the server answers (A, else AAAA), or None for no answer."""
    where = str(ipaddress.ip_address(server))
    unique = sorted(set(names))
    found = await asyncio.gather(*(_address(where, port, n, timeout) for n in unique))
    return dict(zip(unique, found, strict=True))


async def _address(server: str, port: int, name: str, timeout: float) -> str | None:
    for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        query = dns.message.make_query(name, rdtype)
        try:
            reply = await dns.asyncquery.udp(query, server, port=port, timeout=timeout)
        except (OSError, dns.exception.DNSException) as exc:
            raise DnsUnavailableError(
                f"DNS server {server}:{port} did not answer for {name}: {type(exc).__name__}"
            ) from exc
        if reply.rcode() != dns.rcode.NOERROR:
            return None
        for rrset in reply.answer:
            if rrset.rdtype == rdtype:
                return str(min((r.address for r in rrset), key=str))
    return None
