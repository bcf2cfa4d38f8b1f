"""`hostnames` in the router's pure parts: a DNS record at the service's own IP, no Caddy
route; collisions with another service's names either way; the agreement report. No I/O."""

from __future__ import annotations

from typing import Any

import pytest

from services.router.desired import claimed_elsewhere, desired_state, service_routes
from services.router.routes import ServiceRoutes, build_route
from services.router.status import compare
from shared.contract.declare import PlanFacts
from shared.contract.participants.router import ROUTES
from shared.events.messages import ServiceState
from shared.installed import ServiceRecord
from shared.manifest import parse_manifest
from tests.router.test_service_units import ADDRESS, DOMAIN, record

pytestmark = pytest.mark.unit


def mail(ip: str | None = "172.20.0.30", **manifest: Any) -> ServiceRecord:
    """A service without a subdomain, reached on its own IP as mail.<domain>."""
    fields = {"container_name": "cell-mail", "has_subdomain": False, "hostnames": ["mail"]}
    return ServiceRecord(
        service_id="mail",
        state=ServiceState.installed,
        manifest={**fields, **manifest},
        service_ip=ip,
    )


def test_a_hostname_points_at_the_service_ip_and_gets_no_route() -> None:
    records = {
        "mail": mail(),
        "web": record("web", ip="172.20.0.21", hostnames=["ssh"]),
    }
    desired = desired_state(records, DOMAIN, ADDRESS, "ip")
    assert desired.records == {
        "mail": {"mail.cell.test": "172.20.0.30"},
        "web": {"web.cell.test": ADDRESS, "ssh.cell.test": "172.20.0.21"},
    }
    assert sorted(desired.routes) == ["pic-store.web.0"]
    assert desired.problems == () and desired.leave_alone == frozenset()


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"ip": None}, "service_ip"),
        ({"ip": "172.20.0.30\n"}, "service_ip"),
        ({"hostnames": ["mail", "mail"]}, "appears twice"),
        ({"hostnames": ["Mail"]}, "hostname 'Mail'"),
        ({"hostnames": ["a.b"]}, "hostname 'a.b'"),
        ({"hostnames": ["api"]}, "reserved"),
        ({"hostnames": "mail"}, "must be a list"),
    ],
)
def test_a_bad_stored_hostname_is_a_problem_and_the_service_is_left_alone(
    changes: dict[str, Any], words: str
) -> None:
    desired = desired_state({"mail": mail(**changes)}, DOMAIN, ADDRESS, "ip")
    assert desired.records == {} and desired.leave_alone == {"mail"}
    assert len(desired.problems) == 1 and desired.problems[0].startswith("mail: ")
    assert words in desired.problems[0]


def test_a_hostname_that_is_its_own_subdomain_is_a_problem() -> None:
    desired = desired_state({"web": record("web", hostnames=["web"])}, DOMAIN, ADDRESS, "ip")
    assert desired.leave_alone == {"web"}
    assert "hostname 'web' is also one of its subdomains" in desired.problems[0]


def test_a_name_of_one_service_is_not_given_to_another_either_way() -> None:
    records = {"mail": mail(), "other": record("other", hostnames=["mail"])}
    desired = desired_state(records, DOMAIN, ADDRESS, "ip")
    assert list(desired.records) == ["mail"]
    assert desired.problems == ("other: mail.cell.test is already held by service mail",)
    records = {"mail": mail(hostnames=["zz"]), "zz": record("zz")}
    desired = desired_state(records, DOMAIN, ADDRESS, "ip")
    assert desired.problems == ("zz: zz.cell.test is already held by service mail",)


def test_the_routes_step_checks_hostnames_against_other_services_and_caddy() -> None:
    web = service_routes("web", record("web").manifest, DOMAIN, "ip", "172.20.0.21", {})
    assert web is not None
    assert (
        claimed_elsewhere(web, [], {"mail": mail(hostnames=["web"])}, DOMAIN)
        == "subdomain web.cell.test is already a hostname of service mail"
    )
    nothing_routed = ServiceRoutes("b", ())
    assert (
        claimed_elsewhere(nothing_routed, [], {"mail": mail()}, DOMAIN, ["mail.cell.test"])
        == "hostname mail.cell.test is already a hostname of service mail"
    )
    assert (
        claimed_elsewhere(nothing_routed, [], {"web": record("web")}, DOMAIN, ["web.cell.test"])
        == "hostname web.cell.test is already routed for service web"
    )
    caddy_route = build_route("web", "web.cell.test", "172.20.0.21:80", 0)
    assert (
        claimed_elsewhere(nothing_routed, [caddy_route], {}, DOMAIN, ["web.cell.test"])
        == "hostname web.cell.test is already routed for service web"
    )
    gone = {"mail": mail().model_copy(update={"state": ServiceState.removed})}
    assert claimed_elsewhere(nothing_routed, [], gone, DOMAIN, ["mail.cell.test"]) is None


def test_the_report_lists_a_hostname_without_a_caddy_state() -> None:
    desired = desired_state({"mail": mail(), "web": record("web")}, DOMAIN, ADDRESS, "ip")
    web0 = desired.routes["pic-store.web.0"]
    held = {"mail": {"mail.cell.test": "172.20.0.30"}, "web": {"web.cell.test": ADDRESS}}
    rows = {r.host: r for r in compare(desired, [web0], held)}
    row = rows["mail.cell.test"]
    assert (row.service_id, row.address, row.caddy, row.dns, row.route_id) == (
        "mail",
        "172.20.0.30",
        "",
        "ok",
        "",
    )
    assert all(r.agrees for r in rows.values())
    rows = {r.host: r for r in compare(desired, [web0], {"web": held["web"]})}
    assert rows["mail.cell.test"].dns == "missing" and not rows["mail.cell.test"].agrees


def test_the_routes_step_is_wanted_for_hostnames_and_shows_them_in_the_plan() -> None:
    manifest = parse_manifest(
        {
            "schema_version": 3,
            "id": "mail",
            "name": "Mail",
            "description": "mail",
            "version": "1.0.0",
            "author": "tests",
            "kind": "store",
            "image": "git.pic.ngo/roof/mail:1",
            "container_name": "cell-mail",
            "hostnames": ["mail"],
        }
    )
    assert ROUTES.wanted(manifest)
    facts = PlanFacts(domain=DOMAIN, cell_address=ADDRESS, service_ip="172.20.0.30")
    assert ROUTES.plan(manifest, facts) == ["mail.cell.test A 172.20.0.30"]
    assert not ROUTES.wanted(manifest.model_copy(update={"hostnames": []}))
