"""Where a service's containers are on the network: a private network of its own, and the
cell network for those that need it.

* The private network is the project's `default` network (`<id>_default`), `internal: true`:
  every container of the service is on it and finds the others by their service keys
  (`db:5432`); nothing else is on it, and it has no way out. A service of one container has
  none (each network takes one of the engine's address pools).
* The cell network carries the main container (with the allocated `${SERVICE_IP}`), every
  container a backend (`backend`, `extra_backends`) or the `http` account manager names,
  and every container whose template lists the cell network (one that must reach outside:
  its egress is the service's, governed there). Compose makes a service key an alias on every
  network the service joins, so these services are keyed by their container_name in the
  rendered file (their template key stays an alias on the private network only): on the cell
  network a container answers to its container_name, and to nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.compose.const import CELL_NETWORK
from shared.manifest import Issue, Manifest, json_path
from shared.manifest.issues import show

PRIVATE = "default"  # Compose's project network: `<id>_default`


def private_network_name(service_id: str) -> str:
    return f"{service_id}_{PRIVATE}"


def entries(networks: object) -> dict[str, Any]:
    """A service's `networks` as a mapping (Compose takes a list of names too)."""
    if isinstance(networks, list):
        return {str(name): {} for name in networks}
    return dict(networks) if isinstance(networks, dict) else {}


def cell_containers(manifest: Manifest) -> set[str]:
    """The containers the cell itself needs on the cell network: the main one, the backends',
    and the http account manager's."""
    wanted = {manifest.container_name, *(route.container for route in manifest.routes)}
    # A sidecar whose port an iptables rule opens to the VPN peers: at its cell address.
    wanted |= {rule.dest_ip for rule in manifest.iptables_rules if rule.dest_ip.startswith("cell-")}
    accounts = manifest.accounts if manifest.has_accounts else None
    if accounts is not None and accounts.manager == "http":
        wanted.add(accounts.container or manifest.container_name)
    return wanted


def template_issues(document: dict[str, Any], manifest: Manifest, network: str) -> list[Issue]:
    """What a filled-in template may not say about networks (before Compose sees it)."""
    issues = []
    services = document["services"]
    taken: dict[str, str] = {}
    for key, service in services.items():
        at = ("services", str(key), "networks")
        for name in entries(service.get("networks")):
            if name not in (CELL_NETWORK, network):
                issues.append(
                    Issue(
                        json_path(*at, name),
                        f"services join the cell network {CELL_NETWORK} only: every container "
                        "is on the service's private network already, where its service key "
                        "is its name",
                    )
                )
        if not _on_cell(service, manifest, network):
            continue
        name = service.get("container_name")
        if not isinstance(name, str):
            issues.append(
                Issue(
                    json_path(*at),
                    f"{show(key)} joins the cell network, where a container answers to its "
                    f"container_name only: give it one ({manifest.container_name}-<name>)",
                )
            )
        elif name in taken:
            issues.append(
                Issue(
                    json_path("services", str(key), "container_name"),
                    f"{show(key)} has the container_name {name} of {show(taken[name])}: "
                    "a container name is one container's",
                )
            )
        elif name != key and name in services:
            issues.append(
                Issue(
                    json_path("services", str(key), "container_name"),
                    f"{show(key)} joins the cell network, where it is keyed by its "
                    f"container_name {name}; another service of the template has that key",
                )
            )
        else:
            taken[name] = str(key)
    return issues


def join(
    document: dict[str, Any], manifest: Manifest, service_ip: str | None, network: str
) -> dict[str, str]:
    """Put every container on the private network and those that need it on the cell
    network; key the latter by their container_name. Returns rendered key -> template key
    for the services it renamed (so problems are reported at the template's own key)."""
    services: dict[str, Any] = document["services"]
    private = len(services) > 1
    renamed: dict[str, str] = {}
    joined: dict[str, Any] = {}
    for key, service in services.items():
        written = entries(service.get("networks"))
        cell = written.pop(CELL_NETWORK, None) or written.pop(network, None)
        networks: dict[str, Any] = {**written, **({PRIVATE: {}} if private else {})}
        new_key = key
        if _on_cell(service, manifest, network):
            endpoint = dict(cell) if isinstance(cell, dict) else {}
            if service.get("container_name") == manifest.container_name and service_ip:
                endpoint["ipv4_address"] = service_ip
            networks[network] = endpoint
            name = service.get("container_name")
            if isinstance(name, str) and name != key and name not in services:
                new_key = name
                if private:
                    networks[PRIVATE] = {"aliases": [key]}
                renamed[name] = key
        service["networks"] = networks
        joined[new_key] = service
    _follow_renames(joined, {old: new for new, old in renamed.items()})
    document["services"] = joined
    document["networks"] = {
        **({PRIVATE: {"internal": True}} if private else {}),
        network: {"external": True},
    }
    return renamed


def _on_cell(service: Mapping[str, Any], manifest: Manifest, network: str) -> bool:
    written = entries(service.get("networks"))
    name = service.get("container_name")  # any YAML value: the policy judges it later
    return (
        (isinstance(name, str) and name in cell_containers(manifest))
        or CELL_NETWORK in written
        or network in written
    )


def _follow_renames(services: dict[str, Any], new_key: Mapping[str, str]) -> None:
    """`depends_on` names services by key: follow the renamed ones."""
    for service in services.values():
        needs = service.get("depends_on")
        if isinstance(needs, list):
            service["depends_on"] = [new_key.get(str(n), n) for n in needs]
        elif isinstance(needs, dict):
            service["depends_on"] = {new_key.get(str(k), k): v for k, v in needs.items()}
