"""A cell host in network namespaces, and a netpolicy manager working in it in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.netpolicy.handlers import participant
from services.netpolicy.manager import NetpolicyManager
from services.netpolicy.runner import Runner
from shared.config import CellConfig
from shared.events import StepRequest, new_operation_id
from shared.events.messages import StepAction, StepRequestPayload
from shared.manifest import ValidationOptions
from tests.netpolicy.netns import VPN_SUBNET, Topology, cell_host

IMAGE = "git.pic.ngo/roof/notes:1.0"
NETPOLICY = {
    "vpn_subnet": VPN_SUBNET,
    "egress": {
        "wireguard_ext": {"interface": "wg0", "gateway": "10.99.2.2"},
        "tor": {"endpoint": "172.20.0.1:9040"},
    },
}


@pytest.fixture(scope="module")
def topo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    yield from cell_host(tmp_path_factory.mktemp("netns"))


class Cell:
    """The cell config the manager reads (changeable by a test), the manager itself, and the
    participant that answers its steps (the framework's error boundary included)."""

    def __init__(self, topo: Topology) -> None:
        self.config = CellConfig(netpolicy=NETPOLICY)  # type: ignore[arg-type]
        self.manager = NetpolicyManager(
            Runner(topo.ns("host")), f"t{topo.tag}", lambda: self.config, self.options
        )
        self.answer = participant(self.manager).answer

    @staticmethod
    def options(config: CellConfig) -> ValidationOptions:
        return ValidationOptions()


@pytest.fixture
def cell(topo: Topology) -> Cell:
    return Cell(topo)


def manifest(sid: str, **extra: Any) -> dict[str, Any]:
    from tests.parts.store import web_manifest

    return web_manifest(sid, IMAGE, **extra)


def step(
    sid: str,
    name: str,
    action: StepAction,
    data: dict[str, Any],
    ip: str | None,
    egress: str | None = None,
) -> StepRequest:
    return StepRequest(
        operation_id=new_operation_id(),
        service_id=sid,
        payload=StepRequestPayload(
            step=name,
            action=action,
            manifest=data,
            service_ip=ip,
            addresses={data["container_name"]: ip} if ip else {},
            egress=egress,
        ),
    )


__all__ = ["Cell", "Path", "manifest", "step"]
