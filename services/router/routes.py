"""Caddy routes of store services: building them safely and planning changes. No I/O.

A route's `@id` is `pic-store.<service_id>.<n>` (n = 0 for the subdomain, 1.. for the extra
subdomains in manifest order). Only routes whose `@id` starts with `pic-store.` are ours; every
other route, in our server or another, belongs to someone else and is never touched.

Every host and upstream is validated again here, whatever checked it before: a value that
reaches Caddy JSON or a DNS name must be plain DNS labels or an IP address (without a scope id),
and a port in 1-65535.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.router.errors import InvalidRouteError

Route = dict[str, Any]

ROUTE_ID_PREFIX = "pic-store."
# The seed's reserved subdomains: they belong to the cell itself.
RESERVED_SUBDOMAINS = frozenset(
    {"api", "webui", "admin", "www", "ns1", "ns2", "git", "registry", "install"}
)
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_PORT = re.compile(r"[0-9]{1,5}")
_MAX_NAME = 253
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UpstreamMode(StrEnum):
    CONTAINER = "container"  # Caddy on the Docker network: dial the backend's container:port
    IP = "ip"  # Caddy on the host: dial each container's own address, <ip>:<port>


@dataclass(frozen=True)
class ServiceRoutes:
    """The hosts of one service and the upstream each is proxied to, in manifest order."""

    service_id: str
    pairs: tuple[tuple[str, str], ...]

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(host for host, _ in self.pairs)

    def routes(self) -> dict[str, Route]:
        built = (build_route(self.service_id, h, u, i) for i, (h, u) in enumerate(self.pairs))
        return {route["@id"]: route for route in built}


@dataclass(frozen=True)
class Plan:
    """What turns the actual routes into the desired ones; other owners' routes are absent."""

    add: tuple[Route, ...] = ()
    replace: tuple[Route, ...] = ()
    remove: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.add or self.replace or self.remove)


def check_label(value: object, what: str) -> str:
    if not isinstance(value, str) or _LABEL.fullmatch(value) is None:
        raise InvalidRouteError(
            f"{what} {value!r} is not a DNS label (a-z, 0-9 and inner '-', at most 63)"
        )
    return value


def check_domain(value: object, what: str = "domain") -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_NAME:
        raise InvalidRouteError(f"{what} {value!r} is not a DNS name of at most 253 characters")
    for label in value.split("."):
        check_label(label, f"{what} {value!r} has a label that")
    return value


def check_port(value: object, what: str) -> int:
    if not isinstance(value, str) or _PORT.fullmatch(value) is None or not 0 < int(value) < 65536:
        raise InvalidRouteError(f"{what} has port {value!r}, not a number in 1-65535")
    return int(value)


def check_upstream(value: object) -> str:
    """`name:port`, `ipv4:port` or `[ipv6]:port`, nothing else."""
    if not isinstance(value, str) or ":" not in value:
        raise InvalidRouteError(f"upstream {value!r} is not host:port")
    host, _, port = value.rpartition(":")
    check_port(port, f"upstream {value!r}")
    if host.startswith("[") and host.endswith("]"):
        parse_ip(host[1:-1], f"upstream {value!r}", 6)
    elif not _is_ipv4(host):
        check_domain(host, f"upstream {value!r} host")
    return value


def route_id(service_id: str, index: int) -> str:
    check_label(service_id, "service id")
    if not isinstance(index, int) or index < 0:
        raise InvalidRouteError(f"route index {index!r} is not a non-negative integer")
    return f"{ROUTE_ID_PREFIX}{service_id}.{index}"


def is_ours(route: object) -> bool:
    rid = route.get("@id") if isinstance(route, dict) else None
    return isinstance(rid, str) and rid.startswith(ROUTE_ID_PREFIX)


def service_of(route: object) -> str | None:
    """The service id in one of our route ids (`pic-store.<service_id>.<n>`), else None."""
    rid = route.get("@id") if isinstance(route, dict) else route
    if not isinstance(rid, str) or not rid.startswith(ROUTE_ID_PREFIX):
        return None
    service_id, dot, index = rid[len(ROUTE_ID_PREFIX) :].rpartition(".")
    return service_id if dot and _LABEL.fullmatch(service_id) and index.isdigit() else None


# The account API a store service serves for pic-store's `http` account manager (the seed's
# /service-api/accounts): pic-store calls it on the cell network; through Caddy, anyone who
# reaches the service's name could create accounts, so no route forwards it.
PRIVATE_PATHS = ("/service-api", "/service-api/*")


def build_route(service_id: str, host: str, upstream: str, index: int) -> Route:
    """The Caddy JSON route proxying `host` to `upstream`, with our `@id`; the private
    paths answer 404 without reaching the service."""
    rid = route_id(service_id, index)
    check_domain(host, "host")
    check_upstream(upstream)
    return {
        "@id": rid,
        "match": [{"host": [host]}],
        "handle": [
            {
                "handler": "subroute",
                "routes": [
                    {
                        "match": [{"path": list(PRIVATE_PATHS)}],
                        "handle": [{"handler": "static_response", "status_code": 404}],
                        "terminal": True,
                    },
                    {"handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": upstream}]}]},
                ],
            }
        ],
        "terminal": True,
    }


def dial_of(route: Mapping[str, Any]) -> str:
    """The upstream a route of `build_route` proxies to."""
    proxy = route["handle"][0]["routes"][-1]["handle"][0]
    return str(proxy["upstreams"][0]["dial"])


def routes_for(
    service_id: str,
    subdomain: str,
    backend: str,
    extra_subdomains: Sequence[str],
    extra_backends: Sequence[str],
    domain: str,
    upstream_mode: UpstreamMode | str,
    service_ip: str | None = None,
    *,
    container_name: str | None = None,
    addresses: Mapping[str, str] | None = None,
) -> ServiceRoutes:
    """The routes of one service, as the manifest's subdomain/backend fields describe them.

    In `ip` mode a backend on the manifest's `container_name` dials `service_ip`, and one on
    another container (a sidecar) dials that container's entry in `addresses`.
    """
    check_label(service_id, "service id")
    check_domain(domain)
    mode = _mode(upstream_mode)
    if len(extra_subdomains) != len(extra_backends):
        raise InvalidRouteError(
            f"service {service_id}: {len(extra_subdomains)} extra_subdomains but "
            f"{len(extra_backends)} extra_backends; they pair one to one"
        )
    pairs: list[tuple[str, str]] = []
    for sub, backend_ in zip(
        [subdomain, *extra_subdomains], [backend, *extra_backends], strict=True
    ):
        check_label(sub, f"service {service_id}: subdomain")
        if sub in RESERVED_SUBDOMAINS:
            raise InvalidRouteError(f"service {service_id}: subdomain {sub!r} is reserved")
        host = check_domain(f"{sub}.{domain}", "host")
        if host in (h for h, _ in pairs):
            raise InvalidRouteError(f"service {service_id}: subdomain {sub!r} appears twice")
        upstream = check_upstream(backend_)
        if mode is UpstreamMode.IP:
            upstream = _ip_upstream(
                service_id, host, upstream, container_name, service_ip, addresses or {}
            )
        pairs.append((host, upstream))
    return ServiceRoutes(service_id, tuple(pairs))


def desired_routes(services: Iterable[ServiceRoutes]) -> dict[str, Route]:
    """Every route the cell should have; a host claimed by two services is refused."""
    owner_of: dict[str, str] = {}
    desired: dict[str, Route] = {}
    for service in services:
        for host in service.hosts:
            if owner_of.setdefault(host, service.service_id) != service.service_id:
                raise InvalidRouteError(
                    f"host {host} is claimed by {owner_of[host]} and {service.service_id}"
                )
        desired.update(service.routes())
    return desired


def diff(desired: Mapping[str, Route], actual: Sequence[object]) -> Plan:
    """Compare our routes only: another owner's route is neither replaced nor removed."""
    for rid, route in desired.items():
        if not rid.startswith(ROUTE_ID_PREFIX) or route.get("@id") != rid:
            raise InvalidRouteError(f"desired route {rid!r} does not carry our @id prefix")
    ours = {r["@id"]: r for r in actual if is_ours(r)}  # type: ignore[index]
    add = tuple(route for rid, route in desired.items() if rid not in ours)
    replace = tuple(
        route
        for rid, route in desired.items()
        if rid in ours and _canonical(ours[rid]) != _canonical(route)
    )
    remove = tuple(sorted(rid for rid in ours if rid not in desired))
    return Plan(add=add, replace=replace, remove=remove)


def _canonical(route: object) -> object:
    return json.loads(json.dumps(route, sort_keys=True))


def _mode(value: UpstreamMode | str) -> UpstreamMode:
    try:
        return UpstreamMode(value)
    except ValueError:
        raise InvalidRouteError(
            f"upstream mode {value!r} is neither 'container' nor 'ip'"
        ) from None


def _ip_upstream(
    service_id: str,
    host: str,
    backend: str,
    container_name: str | None,
    service_ip: str | None,
    addresses: Mapping[str, str],
) -> str:
    """`address:port` where Caddy on the host reaches `backend`. Only the main container has
    the fixed service IP; a sidecar gets whatever address Docker gives it on the cell
    network, so it is never assumed to answer at the service IP."""
    container, _, port = backend.rpartition(":")
    if container == container_name:
        address = parse_ip(service_ip, "service_ip")
    elif container in addresses:
        address = parse_ip(
            addresses[container], f"service {service_id}: container {container!r} address"
        )
    else:
        raise InvalidRouteError(
            f"service {service_id}: the address of container {container!r} is not known yet, "
            f"so {host} cannot be routed to it"
        )
    return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def parse_ip(text: object, what: str, version: int | None = None) -> Address:
    """An IP address without a scope id, or InvalidRouteError naming `what`."""
    try:
        address = ipaddress.ip_address(text)  # type: ignore[arg-type]
    except ValueError:
        raise InvalidRouteError(f"{what} {text!r} is not an IP address") from None
    # A scope id (fe80::1%eth0) may hold any character: refuse it rather than pass it on.
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        raise InvalidRouteError(f"{what} {text!r} carries a scope id")
    if version is not None and address.version != version:
        raise InvalidRouteError(f"{what} {text!r} is not an IPv{version} address")
    return address
