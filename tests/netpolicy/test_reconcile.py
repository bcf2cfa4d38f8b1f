"""Reconciliation in a cell host made of namespaces: a chain flushed by hand, a jump or an ip
rule deleted, come back and are reported (log, metric, event); rules of a removed service go;
a second run finds nothing to correct."""

from __future__ import annotations

import pytest
import structlog
from prometheus_client import REGISTRY

from services.netpolicy.upkeep import Upkeep
from shared.events.messages import ServiceState
from shared.events.netpolicy import NetpolicyReconciled
from shared.installed import ServiceRecord
from tests.netpolicy.conftest import Cell, manifest
from tests.netpolicy.netns import OTHER_IP, SERVICE_IP, Topology

pytestmark = [pytest.mark.integration]
RULES = [{"type": "ACCEPT", "dest_ip": "${SERVICE_IP}", "dest_port": 8080, "proto": "tcp"}]
EGRESS = {"default": "default", "allowed": ["default", "wireguard_ext"]}


def corrected(kind: str) -> float:
    value = REGISTRY.get_sample_value("pic_netpolicy_corrections_total", {"kind": kind})
    return value or 0.0


async def test_a_flushed_chain_comes_back_and_is_reported(topo: Topology, cell: Cell) -> None:
    records = {
        "notes": ServiceRecord(
            service_id="notes",
            state=ServiceState.installed,
            manifest=manifest("notes", iptables_rules=RULES, has_egress=True, egress=EGRESS),
            service_ip=SERVICE_IP,
            egress="wireguard_ext",
        ),
        "old": ServiceRecord(
            service_id="old",
            state=ServiceState.removed,
            manifest=manifest("old", iptables_rules=RULES),
            service_ip=OTHER_IP,
        ),
    }
    events: list[NetpolicyReconciled] = []

    async def publish(event: NetpolicyReconciled) -> None:
        events.append(event)

    async def read() -> dict[str, ServiceRecord]:
        return records

    upkeep = Upkeep(cell.manager, read, 60.0, publish)
    chain = cell.manager.chain
    # The removed service's rule, left behind: the reconcile takes it away.
    await cell.manager.filter.ensure()
    topo.run("host", "iptables", "-A", chain, "-d", f"{OTHER_IP}/32", "-m", "comment",
             "--comment", "pic-store:old", "-j", "ACCEPT")  # fmt: skip

    first = await upkeep.run_once("start-up")
    assert first is not None and first.counts["rule_added"] == 1
    assert first.counts["rule_removed"] == 1
    assert topo.peer_reaches(8080) and topo.where_did_it_go("svc") == {"far"}
    assert "pic-store:old" not in topo.run("host", "iptables-save", "-t", "filter")

    quiet = await upkeep.run_once("period")
    assert quiet is not None and not quiet.changed, quiet.corrections

    before = corrected("rule_added")
    topo.run("host", "iptables", "-F", chain)
    topo.run("host", "iptables", "-D", "DOCKER-USER", "-j", chain)
    topo.run("host", "ip", "rule", "del", "from", SERVICE_IP, "priority",
             str(cell.manager.routing.priorities[1]))  # fmt: skip
    assert not topo.peer_reaches(8080)
    with structlog.testing.capture_logs() as logs:
        report = await upkeep.run_once("period")
    assert report is not None
    assert report.counts["rule_added"] == 1
    assert report.counts["chain_restored"] == 1
    assert report.counts["ip_rule_added"] == 1
    assert corrected("rule_added") == before + 1
    assert any(entry["event"] == "reconciled" for entry in logs)
    assert events[-1].payload.trigger == "period"
    assert {c.service_id for c in events[-1].payload.corrections} >= {"notes"}
    assert topo.peer_reaches(8080) and topo.where_did_it_go("svc") == {"far"}

    del records["notes"]
    gone = await upkeep.run_once("service-state")
    assert gone is not None and gone.counts["rule_removed"] == 1
    assert gone.counts["ip_rule_removed"] == 2
    assert not topo.peer_reaches(8080) and topo.where_did_it_go("svc") == {"internet"}
    await cell.manager.clear()
    assert "pic-store" not in topo.run("host", "iptables-save")
