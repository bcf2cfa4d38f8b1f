"""One reconciliation: bring Caddy and DNS back to what the installed services need.

Caddy first (`caddy_routes.reconcile`: our server, routes, fallback), then our TLS policy when
it is missing or changed, then DNS service by service: records of services no longer wanted
are removed, records that differ are set again. A DNS name held by someone else fails only
that service, reported as a problem; an unreachable Caddy or DNS server fails the whole run.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass

from services.router.caddy import CaddyAdmin
from services.router.caddy_routes import Corrections, reconcile
from services.router.desired import Desired, desired_state
from services.router.errors import DnsError, DnsUnavailableError
from services.router.parts import Parts
from services.router.routes import service_of
from services.router.tls import TLS_POLICY_ID, TlsPolicy
from shared.events.messages import Correction
from shared.installed import ServiceRecord


@dataclass(frozen=True)
class Report:
    desired: Desired
    caddy: Corrections
    tls_restored: bool = False
    dns_set: tuple[str, ...] = ()
    dns_removed: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        """Corrections by kind, for the metrics and the log."""
        c = self.caddy
        return {
            "server_created": int(c.server_created),
            "route_added": len(c.added),
            "route_replaced": len(c.replaced),
            "route_removed": len(c.removed),
            "fallback_restored": int(c.fallback_restored),
            "tls_restored": int(self.tls_restored),
            "dns_set": len(self.dns_set),
            "dns_removed": len(self.dns_removed),
        }

    @property
    def changed(self) -> bool:
        return any(self.counts().values())

    def corrections(self) -> list[Correction]:
        """Each correction, for the `router.reconciled` event."""
        c, out = self.caddy, []
        for what, flag in (
            ("Caddy server created", c.server_created),
            ("404 fallback route restored", c.fallback_restored),
            ("TLS policy restored", self.tls_restored),
        ):
            if flag:
                out.append(Correction(service_id="", what=what))
        for verb, ids in (("added", c.added), ("replaced", c.replaced), ("removed", c.removed)):
            out += [
                Correction(service_id=service_of(rid) or "", what=f"route {rid} {verb}")
                for rid in ids
            ]
        out += [Correction(service_id=sid, what="DNS records set") for sid in self.dns_set]
        out += [Correction(service_id=sid, what="DNS records removed") for sid in self.dns_removed]
        return out


def wanted(parts: Parts, records: Mapping[str, ServiceRecord]) -> Desired:
    config = parts.config
    return desired_state(
        records, config.domain, config.cell_address, config.router.upstream_mode.value
    )


async def ensure_tls(caddy: CaddyAdmin, tls: TlsPolicy | None) -> bool:
    """Put our TLS policy (and CA) in place when it is missing or differs; True if it did."""
    if tls is None:
        return False
    if _same(await caddy.get_route(TLS_POLICY_ID), tls.policy):
        return False
    await caddy.ensure_tls(tls)
    return True


async def reconcile_once(parts: Parts, records: Mapping[str, ServiceRecord]) -> Report:
    desired = wanted(parts, records)
    caddy = await reconcile(parts.caddy, desired.routes, desired.leave_alone)
    tls_restored = await ensure_tls(parts.caddy, parts.tls)
    dns_set, dns_removed, problems = await _sync_dns(parts, desired)
    return Report(desired, caddy, tls_restored, dns_set, dns_removed, desired.problems + problems)


async def _sync_dns(
    parts: Parts,
    desired: Desired,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    held = await parts.dns.by_service()
    removed, changed, problems = [], [], []
    # Removals first, so that a name moving from one service to another is free to take.
    for sid in sorted(held):
        if sid not in desired.records and sid not in desired.leave_alone:
            await parts.dns.remove(sid)
            removed.append(sid)
    for sid, names in sorted(desired.records.items()):
        if normalised(held.get(sid, {})) == normalised(names):
            continue
        try:
            await parts.dns.set_records(sid, names)
        except DnsUnavailableError:
            raise
        except DnsError as exc:
            problems.append(f"{sid}: {exc.message}")
            continue
        changed.append(sid)
    return tuple(changed), tuple(removed), tuple(problems)


def normalised(records: Mapping[str, str]) -> dict[str, str]:
    """Names without a final dot, lowercase; addresses in their canonical text."""
    out = {}
    for name, address in records.items():
        try:
            text = str(ipaddress.ip_address(address))
        except ValueError:
            text = address
        out[name.rstrip(".").lower()] = text
    return out


def _same(a: object, b: object) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
