"""The egress step in a cell host made of namespaces: the service's outbound traffic seen
arriving at the chosen tunnel's far end and not on the internet side, nothing at all while
the tunnel is down, the default path again once switched back; the other service's traffic
never changes."""

from __future__ import annotations

import pytest

from services.netpolicy.reconcile import reconcile_once
from shared.events import StepRequest
from shared.events.messages import ServiceState, StepAction
from shared.installed import ServiceRecord
from tests.netpolicy.conftest import Cell, manifest, step
from tests.netpolicy.netns import CONNECT, LISTEN_TCP, OTHER_IP, SERVICE_IP, TARGET, Topology

pytestmark = [pytest.mark.integration]
EGRESS = {"default": "default", "allowed": ["default", "wireguard_ext", "tor"]}


def installed(sid: str, data: dict[str, object], ip: str, egress: str | None) -> ServiceRecord:
    return ServiceRecord(
        service_id=sid, state=ServiceState.installed, manifest=data, service_ip=ip, egress=egress
    )


async def test_the_service_leaves_through_the_chosen_tunnel_or_not_at_all(
    topo: Topology, cell: Cell
) -> None:
    data = manifest("notes", has_egress=True, egress=EGRESS)
    assert topo.where_did_it_go("svc") == {"internet"}, "before: the default route"

    def ask(action: StepAction, egress: str | None = None) -> object:
        return step("notes", "egress", action, data, SERVICE_IP, egress)

    done = await cell.answer(ask(StepAction.apply, "wireguard_ext"))  # type: ignore[arg-type]
    assert done.ok, done.reason
    assert done.details["egress"] == "wireguard_ext"
    assert topo.where_did_it_go("svc") == {"far"}, "through wg0, not the default route"
    assert topo.where_did_it_go("other") == {"internet"}, "the other service is unaffected"

    topo.interface("wg0", up=False)
    assert topo.where_did_it_go("svc", wait=1.5) == set(), "tunnel down: nothing leaves at all"
    assert topo.where_did_it_go("other") == {"internet"}

    topo.interface("wg0", up=True)
    records = {"notes": installed("notes", data, SERVICE_IP, "wireguard_ext")}
    report = await reconcile_once(cell.manager, records)
    assert report.counts["route_restored"] == 1
    assert topo.where_did_it_go("svc") == {"far"}, "tunnel back: traffic flows again"

    back = await cell.answer(ask(StepAction.apply, "default"))  # type: ignore[arg-type]
    assert back.ok, back.reason
    assert topo.where_did_it_go("svc") == {"internet"}, "reconfigured to default"
    assert SERVICE_IP not in topo.run("host", "ip", "rule", "show")

    await cell.answer(ask(StepAction.apply, "wireguard_ext"))  # type: ignore[arg-type]
    assert topo.where_did_it_go("svc") == {"far"}
    gone = await cell.answer(ask(StepAction.compensate))  # type: ignore[arg-type]
    assert gone.ok, gone.reason
    assert topo.where_did_it_go("svc") == {"internet"}, "removed: its rules are gone"
    assert SERVICE_IP not in topo.run("host", "ip", "rule", "show")
    await cell.manager.clear()


async def test_tor_redirects_tcp_to_the_endpoint_and_drops_the_rest(
    topo: Topology, cell: Cell
) -> None:
    topo.spawn("host", LISTEN_TCP, "9040")  # the stand-in transparent port, on the host
    data = manifest("notes", has_egress=True, egress=EGRESS)
    assert topo.python("svc", CONNECT, TARGET, "80").strip() == "closed", "nothing listens there"

    done = await cell.answer(step("notes", "egress", StepAction.apply, data, SERVICE_IP, "tor"))
    assert done.ok, done.reason
    assert topo.python("svc", CONNECT, TARGET, "80").strip() == "open", "redirected to :9040"
    assert topo.where_did_it_go("svc", wait=1.5) == set(), "UDP past the proxy: dropped"
    assert topo.python("other", CONNECT, TARGET, "80").strip() == "closed"
    assert topo.where_did_it_go("other") == {"internet"}

    await cell.answer(step("notes", "egress", StepAction.compensate, data, SERVICE_IP))
    assert topo.where_did_it_go("svc") == {"internet"}
    assert "pic-store:notes" not in topo.run("host", "iptables-save", "-t", "nat")
    await cell.manager.clear()


async def test_a_choice_the_manifest_or_the_config_lacks_changes_nothing(
    topo: Topology, cell: Cell
) -> None:
    data = manifest(
        "notes", has_egress=True, egress={"default": "default", "allowed": ["default", "openvpn"]}
    )
    for choice, words in (("tor", "not allowed"), ("openvpn", "netpolicy.egress.openvpn")):
        result = await cell.answer(
            step("notes", "egress", StepAction.apply, data, SERVICE_IP, choice)
        )
        assert not result.ok and words in result.reason, result.reason
    assert SERVICE_IP not in topo.run("host", "ip", "rule", "show")
    assert topo.where_did_it_go("svc") == {"internet"}


async def test_every_address_the_service_has_on_the_cell_network_leaves_by_its_egress(
    topo: Topology, cell: Cell
) -> None:
    """A second container of the service on the cell network (a backend, or one that must
    reach outside: `other` stands for it here) leaves by the service's egress too, kill
    switch included; its other containers are on an internal network with no way out."""
    data = manifest("notes", has_egress=True, egress=EGRESS)
    addresses = {"cell-notes": SERVICE_IP, "cell-notes-dav": OTHER_IP}

    def ask(action: StepAction, egress: str | None = None) -> StepRequest:
        request = step("notes", "egress", action, data, SERVICE_IP, egress)
        return request.model_copy(
            update={"payload": request.payload.model_copy(update={"addresses": addresses})}
        )

    done = await cell.answer(ask(StepAction.apply, "wireguard_ext"))
    assert done.ok, done.reason
    assert topo.where_did_it_go("other") == {"far"}, "the sidecar leaves through wg0 too"
    topo.interface("wg0", up=False)
    assert topo.where_did_it_go("other", wait=1.5) == set(), "tunnel down: nothing leaves"
    topo.interface("wg0", up=True)

    record = installed("notes", data, SERVICE_IP, "wireguard_ext")
    record.addresses = addresses
    report = await reconcile_once(cell.manager, {"notes": record})
    assert not report.counts["ip_rule_removed"], "the reconcile keeps the sidecar's rules"
    assert topo.where_did_it_go("other") == {"far"}

    gone = await cell.answer(ask(StepAction.compensate))
    assert gone.ok, gone.reason
    assert topo.where_did_it_go("other") == {"internet"}
    assert OTHER_IP not in topo.run("host", "ip", "rule", "show")
    await cell.manager.clear()
