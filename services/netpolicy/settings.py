"""Netpolicy settings, from the environment (PIC_*), with named defaults.

The VPN subnet and the egress instances are in the cell config (`netpolicy` in
cell_config.json), read fresh for each operation; only the process's own rhythm, and the
network namespace its commands run in, are set here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from shared.config import CellConfig
from shared.manifest import DEFAULT_PIC_ROOT, ValidationOptions
from shared.roster import HTTP_PORTS
from shared.service import ServiceSettings, from_env

DEFAULT_HTTP_PORT = HTTP_PORTS["netpolicy"]
# A full comparison of the chain, the rules and the tables with the installed services; it
# also puts an instance's route back once its interface is up again.
RECONCILE_PERIOD = 10.0


@dataclass
class NetpolicySettings(ServiceSettings):
    name: str = "netpolicy"
    reconcile_period: float = from_env("PIC_NETPOLICY_RECONCILE_PERIOD", RECONCILE_PERIOD, float)
    # Run iptables and ip in this network namespace (`ip netns exec`); None: the host's own.
    netns: str | None = from_env("PIC_NETPOLICY_NETNS", None, str)
    pic_root: Path | None = from_env("PIC_ROOT", None, Path)

    default_http_port: ClassVar[int] = DEFAULT_HTTP_PORT

    def validation_options(self, config: CellConfig) -> ValidationOptions:
        """The rules the installer applied to the manifest, applied again."""
        root = str(self.pic_root) if self.pic_root else DEFAULT_PIC_ROOT
        return ValidationOptions(allowed_registry=config.allowed_image_prefix, pic_root=root)
