"""What Caddy and DNS should hold, worked out from the installed-services bucket. No I/O.

A service's DNS records are its subdomains, at the cell's address (Caddy answers them), and
its `hostnames`, at the service's own IP (no Caddy route: peers reach it directly).

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
    RESERVED_SUBDOMAINS,
    Route,
    ServiceRoutes,
    UpstreamMode,
    check_domain,
    check_label,
    parse_ip,
    routes_for,
    service_of,
)
from shared.events.messages import ServiceState
from shared.installed import ServiceRecord
from shared.manifest import names_of

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


def hostname_records(
    service_id: str,
    manifest: Mapping[str, object],
    domain: str,
    service_ip: str | None,
    routed: Sequence[str] = (),
) -> dict[str, str]:
    """The DNS records of the manifest's `hostnames`: `<label>.<domain>` -> the service's
    own IP; {} without any. Every value checked again; InvalidRouteError when one is unsafe,
    repeated, one of the service's `routed` hosts, or when the record has no service IP."""
    names = manifest.get("hostnames")
    if names is None or names == []:
        return {}
    if not isinstance(names, list):
        raise InvalidRouteError(f"service {service_id}: hostnames must be a list")
    records: dict[str, str] = {}
    for name in names:
        check_label(name, f"service {service_id}: hostname")
        if name in RESERVED_SUBDOMAINS:
            raise InvalidRouteError(f"service {service_id}: hostname {name!r} is reserved")
        host = check_domain(f"{name}.{domain}", "host")
        if host in records:
            raise InvalidRouteError(f"service {service_id}: hostname {name!r} appears twice")
        if host in routed:
            raise InvalidRouteError(
                f"service {service_id}: hostname {name!r} is also one of its subdomains"
            )
        records[host] = str(parse_ip(service_ip, f"service {service_id}: service_ip"))
    return records


def desired_state(
    records: Mapping[str, ServiceRecord], domain: str, address: str, mode: UpstreamMode | str
) -> Desired:
    parse_ip(address, "the cell address")
    services: dict[str, ServiceRoutes] = {}
    wanted: dict[str, dict[str, str]] = {}
    owner_of: dict[str, str] = {}
    services_hosts: set[str] = set()
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
            routed = service.hosts if service is not None else ()
            direct = hostname_records(sid, record.manifest, domain, record.service_ip, routed)
        except InvalidRouteError as exc:
            # Its routes stay as they are until someone looks: removing them would take
            # an installed service off the network because of a reading problem.
            problems.append(f"{sid}: {exc.message}")
            leave.add(sid)
            continue
        if service is None and not direct:
            continue
        hosts = [*routed, *direct]
        taken = [h for h in hosts if h in owner_of]
        if taken:
            # "routed": a subdomain of the other service; "held": one of its hostnames.
            verb = "routed for" if taken[0] in services_hosts else "held by"
            problems.append(f"{sid}: {taken[0]} is already {verb} service {owner_of[taken[0]]}")
            leave.add(sid)
            continue
        owner_of.update(dict.fromkeys(hosts, sid))
        services_hosts.update(routed)
        if service is not None:
            services[sid] = service
        wanted[sid] = {**(records_for(service, address) if service else {}), **direct}
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
    hostnames: Sequence[str] = (),
) -> str | None:
    """Why a host of `service` (its routed hosts, and the `hostnames` hosts it wants at its
    own IP) cannot be given to it, naming who holds it; None when free."""
    kind_of = {**dict.fromkeys(hostnames, "hostname"), **dict.fromkeys(service.hosts, "subdomain")}
    for route in caddy_routes:
        other = service_of(route)
        if other == service.service_id:
            continue
        for host in sorted(kind_of.keys() & set(hosts_of(route))):
            holder = (
                f"service {other}"
                if other
                else f"route {route.get('@id', '(no @id)')!r} of another owner"
            )
            return f"{kind_of[host]} {host} is already routed for {holder}"
    for sid in sorted(records):
        record = records[sid]
        if sid == service.service_id or record.state in GONE:
            continue
        theirs = _manifest_hosts(record.manifest, domain)
        for host in sorted(kind_of.keys() & theirs.keys()):
            held = "routed for" if theirs[host] == "subdomain" else "a hostname of"
            return f"{kind_of[host]} {host} is already {held} service {sid}"
    return None


def _manifest_hosts(manifest: Mapping[str, object], domain: str) -> dict[str, str]:
    """host -> "subdomain" or "hostname"."""
    return {f"{name}.{domain}": kind for name, kind in names_of(manifest).items()}
