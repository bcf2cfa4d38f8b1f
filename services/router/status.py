"""The routes report (its model and its states: shared/events/routes.py, asked over the
bus): the routes and records the router manages, and whether Caddy and DNS agree. `compare`
is pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from services.router import lookup
from services.router.desired import Desired, hosts_of
from services.router.errors import InvalidRouteError
from services.router.parts import Parts
from services.router.reconcile import normalised, wanted
from services.router.routes import Route, dial_of, is_ours, service_of
from shared.errors import PicStoreError
from shared.events.routes import RoutesReport, RouteState
from shared.installed import ServiceRecord


async def build_report(parts: Parts, records: Mapping[str, ServiceRecord]) -> RoutesReport:
    report = RoutesReport(
        domain=parts.config.domain, caddy=parts.caddy.admin_url, dns=parts.dns_label
    )
    try:
        desired = wanted(parts, records)
    except InvalidRouteError as exc:
        report.problems.append(exc.message)
        desired = Desired({}, {})
    actual: list[Route] | None = None
    held: dict[str, dict[str, str]] | None = None
    try:
        actual = await parts.caddy.list_routes()
    except PicStoreError as exc:
        report.caddy_error = exc.message
    try:
        held = await _dns_holds(parts, desired)
    except PicStoreError as exc:
        report.dns_error = exc.message
    report.routes = compare(desired, actual, held)
    report.problems += list(desired.problems)
    report.agree = (
        not report.caddy_error
        and not report.dns_error
        and not report.problems
        and all(row.agrees for row in report.routes)
    )
    return report


async def _dns_holds(parts: Parts, desired: Desired) -> dict[str, dict[str, str]]:
    """What DNS holds per service. When the hosts-dir server is known, the wanted names are
    taken from its answers (what a peer sees), not from the files it reads."""
    held = {sid: normalised(names) for sid, names in (await parts.dns.by_service()).items()}
    if parts.dns_check is None:
        return held
    names = [name for records in desired.records.values() for name in records]
    live = await lookup.answers(*parts.dns_check, names)
    for sid, records in desired.records.items():
        held[sid] = {name: address for name in records if (address := live.get(name))}
    return held


def compare(
    desired: Desired, actual: Sequence[Route] | None, held: Mapping[str, Mapping[str, str]] | None
) -> list[RouteState]:
    """One row per host: the wanted ones first, then what Caddy or DNS holds unneeded."""
    ours = {str(r["@id"]): r for r in actual or [] if is_ours(r)}
    rows: list[RouteState] = []
    for sid, records in sorted(desired.records.items()):
        service = desired.services.get(sid)
        routed: set[str] = set()
        for rid, route in (service.routes() if service else {}).items():
            host = hosts_of(route)[0]
            routed.add(host)
            address = records[host]
            rows.append(
                RouteState(
                    service_id=sid,
                    host=host,
                    route_id=rid,
                    upstream=_dial(route),
                    address=address,
                    caddy=_caddy_state(ours.get(rid), route, actual is None),
                    dns=_dns_state(held, sid, host, address),
                )
            )
        # Its `hostnames`: a DNS record at the service's own IP, no Caddy route.
        for host, address in sorted(records.items()):
            if host not in routed:
                rows.append(
                    RouteState(
                        service_id=sid,
                        host=host,
                        address=address,
                        dns=_dns_state(held, sid, host, address),
                    )
                )
    listed = {row.route_id for row in rows}
    for rid, route in sorted(ours.items()):
        sid = service_of(rid) or "?"
        if rid in listed:
            continue
        state = "in progress" if sid in desired.leave_alone else "not needed"
        for host in hosts_of(route) or ["?"]:
            rows.append(
                RouteState(
                    service_id=sid, host=host, route_id=rid, upstream=_dial(route), caddy=state
                )
            )
    for sid, names in sorted((held or {}).items()):
        if sid in desired.records:
            continue
        state = "in progress" if sid in desired.leave_alone else "not needed"
        for name, address in sorted(names.items()):
            rows.append(RouteState(service_id=sid, host=name, address=address, dns=state))
    return rows


def _caddy_state(found: Route | None, route: Route, unknown: bool) -> str:
    if unknown:
        return "unknown"
    if found is None:
        return "missing"
    same = json.dumps(found, sort_keys=True) == json.dumps(route, sort_keys=True)
    return "ok" if same else "changed"


def _dns_state(
    held: Mapping[str, Mapping[str, str]] | None, sid: str, host: str, address: str
) -> str:
    if held is None:
        return "unknown"
    got = held.get(sid, {}).get(host)
    if got is None:
        return "missing"
    return "ok" if normalised({host: got}) == normalised({host: address}) else "wrong address"


def _dial(route: Route) -> str:
    try:
        return dial_of(route)
    except (KeyError, IndexError, TypeError):
        return ""
