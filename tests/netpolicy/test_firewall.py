"""The firewall step in a cell host made of namespaces: a VPN peer reaches the service's port
only while its ACCEPT rule is installed; another port stays closed throughout."""

from __future__ import annotations

import pytest

from shared.events.messages import StepAction
from tests.netpolicy.conftest import Cell, manifest, step
from tests.netpolicy.netns import OTHER_IP, SERVICE_IP, Topology

pytestmark = [pytest.mark.integration]
RULES = [{"type": "ACCEPT", "dest_ip": "${SERVICE_IP}", "dest_port": 8080, "proto": "tcp"}]


async def test_peer_reaches_the_port_only_while_its_rule_is_installed(
    topo: Topology, cell: Cell
) -> None:
    data = manifest("notes", iptables_rules=RULES)
    assert not topo.peer_reaches(8080), "Docker's default (FORWARD DROP) lets nothing in"

    done = await cell.answer(step("notes", "firewall", StepAction.apply, data, SERVICE_IP))
    assert done.ok, done.reason
    assert topo.peer_reaches(8080)
    assert not topo.peer_reaches(8081), "a port no rule names stays closed"
    saved = topo.run("host", "iptables-save", "-t", "filter")
    chain = cell.manager.chain
    assert f"-A DOCKER-USER -j {chain}" in saved
    assert '--comment "pic-store:notes"' in saved or "--comment pic-store:notes" in saved

    again = await cell.answer(step("notes", "firewall", StepAction.apply, data, SERVICE_IP))
    assert again.ok
    assert topo.run("host", "iptables-save", "-t", "filter").count("pic-store:notes") == 1

    other = manifest("other", iptables_rules=RULES)
    await cell.answer(step("other", "firewall", StepAction.apply, other, OTHER_IP))
    gone = await cell.answer(step("notes", "firewall", StepAction.compensate, data, SERVICE_IP))
    assert gone.ok, gone.reason
    assert not topo.peer_reaches(8080), "removed: closed again"
    assert "pic-store:other" in topo.run("host", "iptables-save", "-t", "filter")
    twice = await cell.answer(step("notes", "firewall", StepAction.compensate, data, SERVICE_IP))
    assert twice.ok, "a compensate of what is gone changes nothing and succeeds"
    await cell.manager.clear()
    saved = topo.run("host", "iptables-save")
    assert chain not in saved and "pic-store" not in saved


async def test_a_rule_for_someone_elses_address_is_refused_and_changes_nothing(
    topo: Topology, cell: Cell
) -> None:
    data = manifest("notes", iptables_rules=[{**RULES[0], "dest_ip": "172.20.0.99"}])
    before = topo.run("host", "iptables-save", "-t", "filter")
    result = await cell.answer(step("notes", "firewall", StepAction.apply, data, SERVICE_IP))
    assert not result.ok
    assert "172.20.0.99" in result.reason and "not an address of notes" in result.reason
    assert (
        topo.run("host", "iptables-save", "-t", "filter").split("\n")[1:-2]
        == before.split("\n")[1:-2]
    )


async def test_no_vpn_subnet_in_the_cell_config_is_a_clear_error(
    topo: Topology, cell: Cell
) -> None:
    cell.config = cell.config.model_copy(
        update={"netpolicy": cell.config.netpolicy.model_copy(update={"vpn_subnet": None})}
    )
    data = manifest("notes", iptables_rules=RULES)
    result = await cell.answer(step("notes", "firewall", StepAction.apply, data, SERVICE_IP))
    assert not result.ok and "netpolicy.vpn_subnet" in result.reason
    assert not topo.peer_reaches(8080)
