"""The cell config's `netpolicy` section: where the VPN peers come from, and the connection
instances a service's outbound traffic may be sent through (docs/netpolicy.md).

    "netpolicy": {
      "vpn_subnet": "10.8.0.0/24",
      "egress": {
        "wireguard_ext": {"interface": "wg-ext0"},
        "openvpn": {"interface": "tun0"},
        "tor": {"endpoint": "172.20.0.1:9040", "dns": "172.20.0.1:5353"},
        "proxy": {"endpoint": "172.20.0.1:12345"},
        "sshuttle": {"endpoint": "172.20.0.1:12300"}
      }
    }

Each key of `egress` is an egress choice a manifest may list (all but `default`, which needs
no instance). Interface-based instances get a routing table of their own; endpoint-based ones
a transparent redirect of the service's TCP to a port that takes redirected connections.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

INTERFACE_KINDS = ("wireguard_ext", "openvpn")
ENDPOINT_KINDS = ("tor", "proxy")
EgressKind = Literal["wireguard_ext", "openvpn", "tor", "sshuttle", "proxy"]
_INTERFACE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # what the kernel takes (IFNAMSIZ)
RESERVED_TABLES = (0, 253, 254, 255)  # unspec, default, main, local


def parse_endpoint(value: str) -> tuple[str, int]:
    """`IPv4:port` -> (address, port); ValueError naming what is wrong."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{value!r} is not an endpoint of the form IPv4:port")
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError as exc:
        raise ValueError(f"{value!r}: {host!r} is not an IPv4 address") from exc
    return str(address), int(port)


class EgressInstance(BaseModel):
    """One connection instance: an interface (with an optional next hop) or an endpoint."""

    model_config = ConfigDict(extra="forbid")

    interface: str | None = Field(
        default=None, description="wireguard_ext, openvpn, sshuttle: the tunnel's interface"
    )
    gateway: str | None = Field(
        default=None,
        description="the next hop on that interface, when it is not point-to-point "
        "(an Ethernet-like link); none for wg/tun devices",
    )
    endpoint: str | None = Field(
        default=None,
        description="tor, proxy, sshuttle: IPv4:port taking transparently redirected TCP "
        "(Tor's TransPort, redsocks or ipt2socks in front of a SOCKS/HTTP proxy, sshuttle)",
    )
    dns: str | None = Field(
        default=None, description="endpoint kinds: IPv4:port the service's DNS (UDP 53) goes to"
    )
    table: int | None = Field(
        default=None,
        ge=1,
        lt=2**31,
        description="the routing table of this instance (default: derived from cell and kind)",
    )

    @field_validator("interface")
    @classmethod
    def _interface(cls, value: str | None) -> str | None:
        if value is not None and not _INTERFACE.match(value):
            raise ValueError(f"{value!r} is not an interface name (1-15 of A-Z a-z 0-9 _ . -)")
        return value

    @field_validator("gateway")
    @classmethod
    def _gateway(cls, value: str | None) -> str | None:
        return None if value is None else str(ipaddress.IPv4Address(value))

    @field_validator("endpoint", "dns")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None:
            parse_endpoint(value)
        return value

    @field_validator("table")
    @classmethod
    def _table(cls, value: int | None) -> int | None:
        if value in RESERVED_TABLES:
            raise ValueError(f"table {value} is reserved by the kernel")
        return value


class NetPolicyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vpn_subnet: str | None = Field(
        default=None,
        description="the VPN peers' network (the cell's WireGuard subnet); firewall rules "
        "accept from it only. None: no rule is applied, the firewall step fails",
    )
    egress: dict[EgressKind, EgressInstance] = Field(default_factory=dict)

    def instance(self, kind: str) -> EgressInstance | None:
        """The instance of an egress choice (None: the config describes none)."""
        return {str(k): v for k, v in self.egress.items()}.get(kind)

    @field_validator("vpn_subnet")
    @classmethod
    def _subnet(cls, value: str | None) -> str | None:
        return None if value is None else str(ipaddress.IPv4Network(value, strict=True))

    @model_validator(mode="after")
    def _kinds(self) -> NetPolicyConfig:
        for kind, instance in self.egress.items():
            has_if, has_ep = instance.interface is not None, instance.endpoint is not None
            if kind in INTERFACE_KINDS and not has_if:
                raise ValueError(f"egress.{kind} needs an interface")
            if kind in ENDPOINT_KINDS and not has_ep:
                raise ValueError(f"egress.{kind} needs an endpoint")
            if has_if == has_ep:
                raise ValueError(f"egress.{kind} needs either an interface or an endpoint")
            if has_if and instance.dns is not None:
                raise ValueError(f"egress.{kind}: dns goes with an endpoint, not an interface")
            if has_ep and instance.gateway is not None:
                raise ValueError(f"egress.{kind}: gateway goes with an interface")
        tables = [i.table for i in self.egress.values() if i.table is not None]
        if len(tables) != len(set(tables)):
            raise ValueError("two egress instances name the same routing table")
        return self
