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
