"""What a service needs from the host, computed from its manifest, its addresses, the admin's
egress choice and the cell config. No I/O.

- firewall: one filter rule per manifest `iptables_rules` entry, ACCEPT from the VPN peers'
  subnet to one of the service's own addresses (never elsewhere), tagged with the service;
- egress: the connection instance its traffic leaves by (None: the default route), and for
  endpoint instances the nat rules redirecting its TCP (and DNS) there; for the service IP
  and every other address the service has on the cell network (a backend, a container that
  reaches outside): its other containers are on an internal network with no way out.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.netpolicy.errors import InvalidPolicyError
from services.netpolicy.iptables import Rule
from services.netpolicy.names import TAG, egress_tag, service_tag
from shared.manifest import Manifest
from shared.netconfig import EgressInstance, NetPolicyConfig, parse_endpoint

SERVICE_IP = "${SERVICE_IP}"
DEFAULT = "default"
# Destinations never redirected to a proxy: the cell's own networks and the host's.
PRIVATE_NETWORKS = (
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
)


def private_returns() -> list[Rule]:
    """The nat chain's own first rules: private destinations leave the chain unredirected."""
    return [
        ("-d", net, "-m", "comment", "--comment", TAG, "-j", "RETURN") for net in PRIVATE_NETWORKS
    ]


def ipv4(value: str | None, what: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value or ""))
    except ValueError as exc:
        raise InvalidPolicyError(f"{what} {value!r} is not an IPv4 address") from exc


def firewall_rules(
    service_id: str,
    manifest: Manifest,
    service_ip: str | None,
    addresses: Mapping[str, str],
    config: NetPolicyConfig,
) -> list[Rule]:
    if not manifest.iptables_rules:
        return []
    if config.vpn_subnet is None:
        raise InvalidPolicyError(
            "the cell config has no netpolicy.vpn_subnet: the VPN peers' network is needed "
            "to accept them"
        )
    ip = ipv4(service_ip, "the service IP")
    own = {ip, *(ipv4(a, "the container address") for a in addresses.values())}
    rules: list[Rule] = []
    for index, rule in enumerate(manifest.iptables_rules):
        if rule.dest_ip.startswith("cell-"):  # a sidecar: its address on the cell network
            if rule.dest_ip not in addresses:
                raise InvalidPolicyError(
                    f"iptables_rules[{index}] opens a port of {rule.dest_ip}, which has no "
                    f"address on the cell network"
                )
            dest = ipv4(addresses[rule.dest_ip], f"the address of {rule.dest_ip}")
        else:
            dest = ipv4(rule.dest_ip.replace(SERVICE_IP, ip), f"iptables_rules[{index}].dest_ip")
        if dest not in own:
            raise InvalidPolicyError(
                f"iptables_rules[{index}] opens {dest}, which is not an address of "
                f"{service_id} ({', '.join(sorted(own))})"
            )
        rules.append(
            (
                "-s", config.vpn_subnet, "-d", f"{dest}/32", "-p", rule.proto,
                "-m", rule.proto, "--dport", str(rule.dest_port),
                "-m", "comment", "--comment", service_tag(service_id), "-j", "ACCEPT",
            )
        )  # fmt: skip
    return list(dict.fromkeys(rules))


def egress_choice(service_id: str, manifest: Manifest, chosen: str | None) -> str:
    """The admin's choice, checked against the manifest (None: its default)."""
    if manifest.egress is None or not manifest.has_egress:
        if chosen not in (None, DEFAULT):
            raise InvalidPolicyError(f"{service_id} has no egress choice to make")
        return DEFAULT
    choice = chosen or manifest.egress.default
    if choice not in manifest.egress.allowed and choice != manifest.egress.default:
        raise InvalidPolicyError(
            f"egress {choice!r} is not allowed for {service_id} "
            f"(allowed: {', '.join(manifest.egress.allowed)})"
        )
    return choice


def instance_of(choice: str, config: NetPolicyConfig) -> EgressInstance | None:
    """The cell's instance for a choice (None for `default`)."""
    if choice == DEFAULT:
        return None
    instance = config.instance(choice)
    if instance is None:
        raise InvalidPolicyError(
            f"egress {choice!r} has no connection instance in the cell config "
            f"(netpolicy.egress.{choice})"
        )
    return instance


def redirect_rules(service_id: str, ip: str, instance: EgressInstance | None) -> list[Rule]:
    if instance is None or instance.endpoint is None:
        return []
    tag = ("-m", "comment", "--comment", egress_tag(service_id))
    address, port = parse_endpoint(instance.endpoint)
    rules: list[Rule] = [
        ("-s", f"{ip}/32", "-p", "tcp", *tag, "-j", "DNAT", "--to-destination", f"{address}:{port}")
    ]
    if instance.dns is not None:
        dns, dns_port = parse_endpoint(instance.dns)
        rules.append(
            (
                "-s", f"{ip}/32", "-p", "udp", "-m", "udp", "--dport", "53", *tag,
                "-j", "DNAT", "--to-destination", f"{dns}:{dns_port}",
            )
        )  # fmt: skip
    return rules


@dataclass(frozen=True)
class ServicePolicy:
    service_id: str
    ip: str | None
    firewall: list[Rule] = field(default_factory=list)
    egress: str = DEFAULT  # the choice; `default` leaves by the host's own route
    redirects: list[Rule] = field(default_factory=list)
    # Every address of the service on the cell network, the service IP first: the egress
    # governs the traffic of each.
    sources: tuple[str, ...] = ()


def service_policy(
    service_id: str,
    manifest: Manifest,
    service_ip: str | None,
    addresses: Mapping[str, str],
    egress: str | None,
    config: NetPolicyConfig,
) -> ServicePolicy:
    fw = firewall_rules(service_id, manifest, service_ip, addresses, config)
    choice = egress_choice(service_id, manifest, egress)
    instance = instance_of(choice, config)
    if instance is None:
        return ServicePolicy(service_id, service_ip, fw)
    ip = ipv4(service_ip, "the service IP")
    others = {ipv4(a, "the container address") for a in addresses.values()} - {ip}
    sources = (ip, *sorted(others, key=ipaddress.IPv4Address))
    redirects = [rule for s in sources for rule in redirect_rules(service_id, s, instance)]
    return ServicePolicy(service_id, ip, fw, choice, redirects, sources)


def manifest_wants(data: Mapping[str, Any]) -> bool:
    return bool(data.get("iptables_rules")) or bool(data.get("has_egress"))
