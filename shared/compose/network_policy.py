"""The policy over networks in the canonical form (networks.py says why): the service's own
internal network, and the cell network keyed by container_name, with no alias and the
allocated IP for the main container only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from shared.compose import keys
from shared.compose.networks import PRIVATE, private_network_name
from shared.manifest.issues import PathPart, show

if TYPE_CHECKING:
    from shared.compose.policy import Scope

Found = Iterator[tuple[tuple[PathPart, ...], str]]


def keyed_by_container_name(name: str, service: dict[str, Any], scope: Scope) -> Found:
    """A service on the cell network is keyed by its container_name: Compose makes the key
    an alias on every network the service joins."""
    on_cell = scope.network in (service.get("networks") or {})
    if on_cell and service.get("container_name") != name:
        yield (
            (name, "networks", scope.network),
            (
                f"{show(name)} is on the cell network, where Compose makes the service key "
                "a name too: a service there is keyed by its container_name"
            ),
        )


def networks(value: Any, scope: Scope, service: str | None = None) -> Found:
    """The top-level section (service None) or one service's networks."""
    for name, entry in (value or {}).items():
        if service is None:  # the top-level section
            if name == scope.network and (entry or {}).get("external") is True:
                continue
            if name == PRIVATE:
                yield from (((name, *p), m) for p, m in _private(entry or {}, scope))
                continue
            yield (name,), f"only the cell network {scope.network} may be used"
            continue
        if name == PRIVATE:
            for key in entry or {}:
                if key != "aliases":
                    yield (name, key), f"{key} is not allowed on the service's private network"
            continue
        if name != scope.network:
            yield (name,), f"services join the cell network {scope.network} only"
            continue
        yield from (((name, *p), m) for p, m in _cell_endpoint(entry or {}, scope, service))


def _private(entry: dict[str, Any], scope: Scope) -> Found:
    """The project's own network: internal (no way out), under its own name."""
    own = private_network_name(scope.manifest.id)
    if entry.get("internal") is not True or entry.get("name", own) != own:
        yield (), f"the service's private network must be internal and named {own}"
    for key, value in entry.items():
        if key not in ("name", "internal") and not (key == "ipam" and not value):
            yield (key,), f"{key} is not allowed on the service's private network"


def _cell_endpoint(entry: dict[str, Any], scope: Scope, service: str) -> Found:
    for key in entry:
        if key not in keys.NETWORK_ENTRY_KEYS:
            yield (key,), f"{key} is not allowed on the cell network"
    address = entry.get("ipv4_address")
    if address is not None and (service != scope.main_service or address != scope.service_ip):
        yield (
            ("ipv4_address",),
            (
                "addresses on the cell network are allocated by the cell: "
                "${SERVICE_IP} for the main container only"
            ),
        )
    for index, alias in enumerate(entry.get("aliases") or []):
        yield (
            ("aliases", index),
            (
                f"the alias {show(alias)} is not allowed: on the cell network a container "
                "answers to its container_name only (its service key is its name on the "
                "service's private network)"
            ),
        )
