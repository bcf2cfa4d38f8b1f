"""DNS records by dynamic update (RFC 2136) signed with TSIG: BIND, Knot, PowerDNS.

Ownership lives in the zone itself: beside each name it holds, pic-store keeps a TXT record
`pic-store-owner=<service_id>`. The zone is read by a TSIG-signed AXFR (the key needs
`allow-transfer` as well as `allow-update`), so the state survives restarts and is shared by
replicas. Each change is one UPDATE message, applied by the server all or nothing, guarded by
prerequisites: a name we newly claim must be unused, a name we change must still carry our
TXT. A name held by someone else is refused, never overwritten. An update that would change
nothing is not sent, so repeating a call is free.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.node
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.update
import dns.xfr
import dns.zone

from services.router.dns.backend import Address, checked_records
from services.router.errors import DnsError, DnsUnavailableError
from services.router.routes import check_domain, check_label

OWNER_PREFIX = "pic-store-owner="


@dataclass(frozen=True)
class TsigKey:
    name: str
    secret: str = field(repr=False)  # base64, as tsig-keygen prints it
    algorithm: str = "hmac-sha256"


@dataclass
class _Name:
    owner: str | None = None
    addresses: set[Address] = field(default_factory=set)


class Rfc2136Backend:
    def __init__(
        self,
        server: str,
        zone: str,
        key: TsigKey,
        *,
        port: int = 53,
        ttl: int = 60,
        timeout: float = 5.0,
    ) -> None:
        self.server = str(ipaddress.ip_address(server))
        self.origin = dns.name.from_text(check_domain(zone.rstrip("."), "zone"))
        self.port, self.ttl, self.timeout = port, ttl, timeout
        self._key = key  # a dns.tsig.Key's repr shows the secret: made only when signing

    def __repr__(self) -> str:
        where = f"{self.server}:{self.port}"
        return f"Rfc2136Backend({where}, zone {self.origin}, key {self._key.name})"

    async def set_records(self, service_id: str, records: Mapping[str, str]) -> None:
        wanted = {self._name(n): a for n, a in checked_records(service_id, records).items()}
        zone = await self._snapshot()
        for name in wanted:
            held = zone.get(name)
            if held is not None and held.owner != service_id:
                holder = f"service {held.owner}" if held.owner else "another owner"
                raise DnsError(
                    f"{name} is already held by {holder} in zone {self.origin}; "
                    f"not given to {service_id}"
                )
        update = self._update()
        for name, address in wanted.items():
            held = zone.get(name)
            if held is not None and held.addresses == {address}:
                continue
            if held is None:
                update.absent(name)
                update.add(name, self.ttl, dns.rdatatype.TXT, _owner_txt(service_id))
            else:
                update.present(name, dns.rdatatype.TXT, _owner_txt(service_id))
            update.delete(name, dns.rdatatype.A)
            update.delete(name, dns.rdatatype.AAAA)
            rdtype = dns.rdatatype.A if address.version == 4 else dns.rdatatype.AAAA
            update.add(name, self.ttl, rdtype, str(address))
        for name, held in zone.items():
            if held.owner == service_id and name not in wanted:
                self._release(update, name, service_id)
        await self._send(update, service_id)

    async def remove(self, service_id: str) -> None:
        check_label(service_id, "service id")
        update = self._update()
        for name, held in (await self._snapshot()).items():
            if held.owner == service_id:
                self._release(update, name, service_id)
        await self._send(update, service_id)

    async def list(self) -> dict[str, str]:
        return {
            name.to_text(omit_final_dot=True): str(min(held.addresses, key=str))
            for name, held in (await self._snapshot()).items()
            if held.owner is not None and held.addresses
        }

    async def by_service(self) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        for name, held in (await self._snapshot()).items():
            if held.owner is not None and held.addresses:
                names = found.setdefault(held.owner, {})
                names[name.to_text(omit_final_dot=True)] = str(min(held.addresses, key=str))
        return found

    def _name(self, text: str) -> dns.name.Name:
        name = dns.name.from_text(text)
        if not name.is_subdomain(self.origin) or name == self.origin:
            raise DnsError(f"{text} is not a name inside zone {self.origin}")
        return name

    def _update(self) -> dns.update.UpdateMessage:
        return dns.update.UpdateMessage(self.origin, keyring=self._signing_key())

    def _signing_key(self) -> dns.tsig.Key:
        return dns.tsig.Key(self._key.name, self._key.secret, self._key.algorithm)

    def _release(
        self, update: dns.update.UpdateMessage, name: dns.name.Name, service_id: str
    ) -> None:
        update.present(name, dns.rdatatype.TXT, _owner_txt(service_id))
        update.delete(name, dns.rdatatype.A)
        update.delete(name, dns.rdatatype.AAAA)
        update.delete(name, dns.rdatatype.TXT, _owner_txt(service_id))

    async def _send(self, update: dns.update.UpdateMessage, service_id: str) -> None:
        if not update.update:
            return  # nothing to change
        where = f"{self.server}:{self.port}"
        try:
            answer = await dns.asyncquery.tcp(
                update, self.server, timeout=self.timeout, port=self.port
            )
        except dns.tsig.PeerError as exc:
            raise self._tsig_error(where, exc) from exc
        except (OSError, dns.exception.DNSException) as exc:
            raise DnsUnavailableError(
                f"DNS server {where} did not answer the update of "
                f"{service_id}: {type(exc).__name__}"
            ) from exc
        if answer.rcode() != dns.rcode.NOERROR:
            rcode = dns.rcode.to_text(answer.rcode())
            raise DnsError(
                f"DNS server {where} refused the update of {service_id} in zone "
                f"{self.origin}: {rcode}",
                rcode=rcode,
            )

    async def _snapshot(self) -> dict[dns.name.Name, _Name]:
        zone = dns.zone.Zone(self.origin, relativize=False)
        query = dns.message.make_query(self.origin, dns.rdatatype.AXFR)
        query.use_tsig(self._signing_key())
        where = f"{self.server}:{self.port}"
        try:
            await dns.asyncquery.inbound_xfr(
                self.server,
                zone,
                query,
                port=self.port,
                timeout=self.timeout,
                lifetime=self.timeout * 4,
            )
        except dns.xfr.TransferError as exc:
            rcode = dns.rcode.to_text(exc.rcode)
            raise DnsError(
                f"DNS server {where} refused the transfer of zone {self.origin}: {rcode}",
                rcode=rcode,
            ) from exc
        except dns.tsig.PeerError as exc:
            raise self._tsig_error(where, exc) from exc
        except (OSError, dns.exception.DNSException) as exc:
            raise DnsUnavailableError(
                f"DNS server {where} did not answer the transfer of "
                f"zone {self.origin}: {type(exc).__name__}"
            ) from exc
        return {name: _describe(node) for name, node in zone.nodes.items()}

    def _tsig_error(self, where: str, exc: dns.tsig.PeerError) -> DnsError:
        rcode = _TSIG_RCODES.get(type(exc), "NOTAUTH")
        return DnsError(
            f"DNS server {where} rejected TSIG key {self._key.name}: NOTAUTH/{rcode}", rcode=rcode
        )


_TSIG_RCODES: dict[type[Exception], str] = {
    dns.tsig.PeerBadKey: "BADKEY",
    dns.tsig.PeerBadSignature: "BADSIG",
    dns.tsig.PeerBadTime: "BADTIME",
    dns.tsig.PeerBadTruncation: "BADTRUNC",
}


def _describe(node: dns.node.Node) -> _Name:
    held = _Name()
    for rdataset in node.rdatasets:
        if rdataset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            held.addresses.update(ipaddress.ip_address(r.address) for r in rdataset)
            continue
        if rdataset.rdtype == dns.rdatatype.TXT:
            texts = [b"".join(r.strings).decode(errors="replace") for r in rdataset]
            owners = [t[len(OWNER_PREFIX) :] for t in texts if t.startswith(OWNER_PREFIX)]
            held.owner = owners[0] if owners else None
    return held


def _owner_txt(service_id: str) -> str:
    return f'"{OWNER_PREFIX}{service_id}"'
