"""A sidecar's non-HTTP port opened to VPN peers: `iptables_rules` naming the sidecar by its
container_name, checked like any rule (manifest, template, netpolicy)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.importers import import_service
from services.netpolicy.errors import InvalidPolicyError
from services.netpolicy.policy import firewall_rules
from shared.manifest import DEFAULT_OPTIONS, parse_manifest, validate_manifest
from shared.netconfig import NetPolicyConfig

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).parent / "fixtures"
VPN = NetPolicyConfig(vpn_subnet="10.0.0.0/24")


@pytest.fixture
def broker(tmp_path: Path) -> dict[str, object]:
    imported = import_service(
        "umbrel", FIXTURES / "umbrel" / "broker", tmp_path / "broker", DEFAULT_OPTIONS
    )
    assert imported.issues == []
    data = json.loads((tmp_path / "broker" / "manifest.json").read_text())
    assert isinstance(data, dict)
    return data


def test_the_rule_opens_the_sidecars_own_cell_address(broker: dict[str, object]) -> None:
    manifest = parse_manifest(broker)
    rules = firewall_rules(
        "broker", manifest, "172.20.0.30", {"cell-broker-mqtt": "172.20.0.31"}, VPN
    )
    destinations = {(rule[3], rule[9]) for rule in rules}
    assert destinations == {("172.20.0.30/32", "8883"), ("172.20.0.31/32", "1883")}


def test_a_sidecar_not_on_the_cell_network_is_an_error(broker: dict[str, object]) -> None:
    with pytest.raises(InvalidPolicyError, match="cell-broker-mqtt, which has no address"):
        firewall_rules("broker", parse_manifest(broker), "172.20.0.30", {}, VPN)


@pytest.mark.parametrize(
    ("dest", "expected"),
    [
        ("cell-broker", "is ${SERVICE_IP}: write that instead"),
        ("cell-other-mqtt", "is not one of this service's containers"),
        ("mqtt", "${SERVICE_IP} (the main container), or the container_name"),
    ],
)
def test_only_the_services_own_sidecars(
    broker: dict[str, object], dest: str, expected: str
) -> None:
    rules = broker["iptables_rules"]
    assert isinstance(rules, list)
    rules[1]["dest_ip"] = dest
    issues = validate_manifest(broker)
    assert [i.path for i in issues] == ["$.iptables_rules[1].dest_ip"]
    assert expected in issues[0].message
