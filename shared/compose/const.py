"""The cell network every store container joins, and the renderer's limits."""

from __future__ import annotations

import ipaddress
from typing import Final

CELL_NETWORK: Final = "pic-cell"
CELL_SUBNET: Final = ipaddress.IPv4Network("172.20.0.0/16")
# The range the installer allocates service IPs from (the seed's 172.20.0.20-172.20.0.254).
SERVICE_IP_FIRST: Final = ipaddress.IPv4Address("172.20.0.20")
SERVICE_IP_LAST: Final = ipaddress.IPv4Address("172.20.0.254")

TEMPLATE_FILE: Final = "compose-template.yml"  # the same as shared.manifest.TEMPLATE_FILE
MAX_TEMPLATE_BYTES: Final = 256 * 1024
# Aliases let a tiny YAML file stand for a huge tree; the walk stops past these.
MAX_NODES: Final = 20_000
MAX_DEPTH: Final = 40

SECRET_BYTES: Final = 24

# Capabilities that amount to root on the host.
DANGEROUS_CAPABILITIES: Final = frozenset(
    {"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "NET_ADMIN", "DAC_READ_SEARCH"}
)
# Namespace settings that join the host's (or another container's) namespaces.
SHARED_NAMESPACE_KEYS: Final = ("pid", "ipc", "uts", "userns_mode", "cgroup")
# Service keys a store template may not use at all, and why.
FORBIDDEN_SERVICE_KEYS: Final = {
    "build": "cells do not build images: publish the image to the store registry",
    "network_mode": "store containers always join the cell network",
    "env_file": "it would read a file from the host; use environment",
    "extends": "it would read another file from the host",
    "devices": "host devices are not available to store services",
    "cgroup_parent": "store services run in the default cgroup",
    "volumes_from": "a service may not take another container's volumes",
}
