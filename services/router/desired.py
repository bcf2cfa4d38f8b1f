"""What Caddy and DNS should hold, worked out from the installed-services bucket. No I/O.

Only services in state `installed` are wanted. A service that an operation is working on
(installing, reconfiguring, removing) is left alone: the operation's saga owns its routes
until it ends, so a reconcile between two steps never removes or rewrites them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.router.dns import records_for
from services.router.errors import InvalidRouteError
from services.router.routes import (
    Route,
    ServiceRoutes,
    UpstreamMode,
    parse_ip,
    routes_for,
    service_of,
)
from shared.events.messages import ServiceState
from shared.installed import ServiceRecord
from shared.manifest import subdomains_of

UNSETTLED = frozenset({ServiceState.installing, ServiceState.reconfiguring, ServiceState.removing})
GONE = frozenset({ServiceState.removed, ServiceState.failed})


@dataclass(frozen=True)
class Desired:
    services: dict[str, ServiceRoutes]
    records: dict[str, dict[str, str]]  # service id -> DNS name -> address
    leave_alone: frozenset[str] = frozenset()
    problems: tuple[str, ...] = ()

    @property
    def routes(self) -> dict[str, Route]:
        merged: dict[str, Route] = {}
        for service in self.services.values():
            merged.update(service.routes())
        return merged


def service_routes(
    service_id: str,
    manifest: Mapping[str, object],
    domain: str,
    mode: UpstreamMode | str,
    service_ip: str | None,
    addresses: Mapping[str, str],
) -> ServiceRoutes | None:
    """The routes a stored manifest asks for (None without `has_subdomain`), every value
    checked again by routes_for; InvalidRouteError when one is unsafe. `addresses` (container
    name -> address on the cell network) is where `ip` mode dials the sidecars."""
    if manifest.get("has_subdomain") is not True:
        return None
    extras, backends = manifest.get("extra_subdomains") or [], manifest.get("extra_backends") or []
    if not isinstance(extras, list) or not isinstance(backends, list):
        raise InvalidRouteError(
            f"service {service_id}: extra_subdomains and extra_backends must be lists"
        )
    # Whatever the stored types, routes_for refuses anything but plain labels and host:port.
    subdomain, backend = manifest.get("subdomain"), manifest.get("backend")
    main = manifest.get("container_name")
    return routes_for(
        service_id,
        subdomain,  # type: ignore[arg-type]
        backend,  # type: ignore[arg-type]
        extras,
        backends,
        domain,
        mode,
        service_ip,
        container_name=main if isinstance(main, str) else None,
        addresses=addresses,
    )


def desired_state(
    records: Mapping[str, ServiceRecord], domain: str, address: str, mode: UpstreamMode | str
) -> Desired:
    parse_ip(address, "the cell address")
    services: dict[str, ServiceRoutes] = {}
    owner_of: dict[str, str] = {}
    leave: set[str] = set()
    problems: list[str] = []
    for sid in sorted(records):
        record = records[sid]
        if record.state in UNSETTLED:
            leave.add(sid)
            continue
        if record.state is not ServiceState.installed:
            continue
        try:
            service = service_routes(
                sid, record.manifest, domain, mode, record.service_ip, record.addresses
            )
        except InvalidRouteError as exc:
            # Its routes stay as they are until someone looks: removing them would take
            # an installed service off the network because of a reading problem.
            problems.append(f"{sid}: {exc.message}")
            leave.add(sid)
            continue
        if service is None:
            continue
        taken = [h for h in service.hosts if h in owner_of]
        if taken:
            problems.append(f"{sid}: {taken[0]} is already routed for service {owner_of[taken[0]]}")
            leave.add(sid)
            continue
        owner_of.update(dict.fromkeys(service.hosts, sid))
        services[sid] = service
    wanted = {sid: records_for(s, address) for sid, s in services.items()}
    return Desired(services, wanted, frozenset(leave), tuple(problems))


def hosts_of(route: object) -> list[str]:
    """The hosts a Caddy route matches (any owner's route, read defensively)."""
    matchers = route.get("match") if isinstance(route, dict) else None
    hosts: list[str] = []
    for matcher in matchers if isinstance(matchers, list) else []:
        listed = matcher.get("host") if isinstance(matcher, dict) else None
        hosts += [h for h in listed if isinstance(h, str)] if isinstance(listed, list) else []
    return hosts


def claimed_elsewhere(
    service: ServiceRoutes,
    caddy_routes: Sequence[Route],
    records: Mapping[str, ServiceRecord],
    domain: str,
) -> str | None:
    """Why a host of `service` cannot be given to it, naming who holds it; None when free."""
    mine = set(service.hosts)
    for route in caddy_routes:
        other = service_of(route)
        if other == service.service_id:
            continue
        for host in sorted(mine.intersection(hosts_of(route))):
            holder = (
                f"service {other}"
                if other
                else f"route {route.get('@id', '(no @id)')!r} of another owner"
            )
            return f"subdomain {host} is already routed for {holder}"
    for sid in sorted(records):
        record = records[sid]
        if sid == service.service_id or record.state in GONE:
            continue
        for host in sorted(mine.intersection(_manifest_hosts(record.manifest, domain))):
            return f"subdomain {host} is already routed for service {sid}"
    return None


def _manifest_hosts(manifest: Mapping[str, object], domain: str) -> set[str]:
    return {f"{name}.{domain}" for name in subdomains_of(manifest)}
