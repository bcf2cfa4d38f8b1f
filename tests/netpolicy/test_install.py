"""End to end on the real stack: a service with both `iptables_rules` and `has_egress`,
installed, reconfigured and removed through the real installer, with the netpolicy process
working in this machine's own tables. It touches only the test cell's own chain, its rules at
the cell's priorities and one veth pair made here as the tunnel; everything is gone after."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.netpolicy.names import chain_name
from shared.client import StoreClient
from shared.events import ProgressEvent
from tests.installer.helpers import inspect, install, ip_of, reconfigure, remove, service_id
from tests.parts.host_tables import clear_cell, host, leftovers
from tests.parts.image_set import ImageSet
from tests.parts.stack import Stack
from tests.parts.store import web_manifest, web_template, write_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]
VPN_SUBNET = "198.18.7.0/24"  # benchmarking range: no real peer lives there


@pytest.fixture
def tunnel() -> Iterator[str]:
    """A veth pair on this machine playing a tunnel interface (this kernel has no dummy)."""
    name = f"npe{uuid.uuid4().hex[:8]}"
    host("ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p")
    host("ip", "link", "set", name, "up")
    host("ip", "link", "set", f"{name}p", "up")
    yield name
    subprocess.run(["ip", "link", "del", name], check=False)


@pytest.fixture
async def cell_stack(stack_factory, tunnel: str, images: ImageSet, tmp_path: Path):  # type: ignore[no-untyped-def]
    netpolicy = {"vpn_subnet": VPN_SUBNET, "egress": {"wireguard_ext": {"interface": tunnel}}}
    stack: Stack = stack_factory(cell_config={"netpolicy": netpolicy})
    sid = service_id()
    stack_factory.used_ids.append(sid)
    data = web_manifest(
        sid,
        images.web,
        iptables_rules=[
            {"type": "ACCEPT", "dest_ip": "${SERVICE_IP}", "dest_port": 8080, "proto": "tcp"}
        ],
        has_egress=True,
        egress={"default": "default", "allowed": ["default", "wireguard_ext"]},
    )
    store = write_store(tmp_path / "store", [(data, web_template(data))])
    stack.start("installer")
    stack.start("netpolicy", PIC_NETPOLICY_RECONCILE_PERIOD="2")
    try:
        yield stack, sid, store
    finally:
        for proc in stack.processes:
            if proc.name.startswith("netpolicy-"):
                proc.stop()
        await clear_cell(stack.cell, stack.data_dir)
        assert leftovers(stack.cell, sid) == [], "the test cell left something in the host's tables"


async def test_install_applies_and_remove_undoes_firewall_and_egress(cell_stack) -> None:  # type: ignore[no-untyped-def]
    stack, sid, store = cell_stack
    bus = await stack.bus("admin")
    client = StoreClient(bus)
    try:
        progress: list[ProgressEvent] = []
        result = await install(client, store, sid, progress=progress, egress="wireguard_ext")
        assert result.payload.status == "succeeded", result.payload.message
        steps = {(p.payload.step, p.payload.status.value) for p in progress}
        assert {("firewall", "done"), ("egress", "done")} <= steps, steps
        info = inspect(f"cell-{sid}")
        assert info is not None
        ip = ip_of(info, stack.network)
        rule = f"-s {VPN_SUBNET} -d {ip}/32 -p tcp -m tcp --dport 8080"
        saved = host("iptables-save", "-t", "filter")
        assert rule in saved and f"pic-store:{sid}" in saved
        assert f"-A DOCKER-USER -j {chain_name(stack.cell)}" in saved
        assert f"from {ip} lookup" in host("ip", "rule", "show")

        changed = await reconfigure(client, sid, egress="default")
        assert changed.payload.status == "succeeded", changed.payload.message
        assert f"from {ip} lookup" not in host("ip", "rule", "show")
        assert rule in host("iptables-save", "-t", "filter"), "the firewall stays"

        refused = await reconfigure(client, sid, egress="tor")
        assert refused.payload.status == "failed"
        assert "not allowed" in refused.payload.message

        progress.clear()
        gone = await remove(client, sid)
        assert gone.payload.status == "succeeded", gone.payload.message
        assert rule not in host("iptables-save", "-t", "filter")
        assert f"pic-store:{sid}" not in host("iptables-save")
    finally:
        await bus.close()
