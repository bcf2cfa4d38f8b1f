"""The router service's pure parts: desired state, host claims, the agreement report, the
config block, TSIG key files and the `pic-store routes` table. No I/O."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.cli.commands.routes import render
from services.router.desired import Desired, claimed_elsewhere, desired_state, service_routes
from services.router.errors import InvalidRouteError
from services.router.parts import tsig_key
from services.router.routes import build_route, dial_of, service_of
from services.router.status import compare
from shared.config import CellConfig, RouterDns, TlsSetting, UpstreamSetting
from shared.errors import ConfigError
from shared.events.messages import ServiceState
from shared.installed import ServiceRecord

pytestmark = pytest.mark.unit
DOMAIN = "cell.test"
ADDRESS = "10.20.30.40"


def record(
    sid: str,
    state: ServiceState = ServiceState.installed,
    ip: str = "172.20.0.20",
    addresses: dict[str, str] | None = None,
    **manifest: Any,
) -> ServiceRecord:
    fields = {
        "container_name": f"cell-{sid}",
        "has_subdomain": True,
        "subdomain": sid,
        "backend": f"cell-{sid}:8080",
        **manifest,
    }
    return ServiceRecord(
        service_id=sid, state=state, manifest=fields, service_ip=ip, addresses=addresses or {}
    )


def test_only_installed_services_are_wanted_and_busy_ones_are_left_alone() -> None:
    records = {
        "notes": record("notes", extra_subdomains=["dav"], extra_backends=["cell-notes:81"]),
        "busy": record("busy", ServiceState.installing),
        "going": record("going", ServiceState.removing),
        "broken": record("broken", ServiceState.failed),
        "plain": record("plain", has_subdomain=False),
    }
    desired = desired_state(records, DOMAIN, ADDRESS, "ip")
    assert sorted(desired.routes) == ["pic-store.notes.0", "pic-store.notes.1"]
    assert dial_of(desired.routes["pic-store.notes.1"]) == "172.20.0.20:81"
    assert desired.records == {"notes": {"notes.cell.test": ADDRESS, "dav.cell.test": ADDRESS}}
    assert desired.leave_alone == {"busy", "going"}
    assert desired.problems == ()


def test_an_unreadable_or_clashing_service_is_reported_and_left_alone() -> None:
    records = {
        "a": record("a"),
        "b": record("b", subdomain="a"),
        "c": record("c", backend='x"}:80'),
        "d": record("d", ip="1.2.3.4\n"),
    }
    desired = desired_state(records, DOMAIN, ADDRESS, "ip")
    assert list(desired.services) == ["a"]
    assert desired.leave_alone == {"b", "c", "d"}
    assert desired.problems[0] == "b: a.cell.test is already routed for service a"
    assert "c: upstream" in desired.problems[1] and "d: service_ip" in desired.problems[2]


@pytest.mark.parametrize("address", ["", "10.0.0.1\n", "fe80::1%eth0", "cell.test"])
def test_a_bad_cell_address_is_refused(address: str) -> None:
    with pytest.raises(InvalidRouteError, match="cell address"):
        desired_state({}, DOMAIN, address, "ip")


def test_container_mode_dials_the_backend_as_written() -> None:
    service = service_routes("notes", record("notes").manifest, DOMAIN, "container", None, {})
    assert service is not None
    assert service.pairs == (("notes.cell.test", "cell-notes:8080"),)


def sidecar_records() -> dict[str, ServiceRecord]:
    """`files` with its WebDAV sidecar's address recorded; `mail` without it."""
    return {
        "files": record(
            "files",
            extra_subdomains=["dav"],
            extra_backends=["cell-files-dav:80"],
            addresses={"cell-files": "172.20.0.20", "cell-files-dav": "172.20.0.77"},
        ),
        "mail": record(
            "mail",
            ip="172.20.0.30",
            extra_subdomains=["webmail"],
            extra_backends=["cell-mail-web:8081"],
        ),
    }


def dials(desired: Desired) -> dict[str, str]:
    return {rid: dial_of(route) for rid, route in desired.routes.items()}


def test_ip_mode_dials_each_sidecar_at_the_address_its_record_holds() -> None:
    desired = desired_state(sidecar_records(), DOMAIN, ADDRESS, "ip")
    assert dials(desired) == {
        "pic-store.files.0": "172.20.0.20:8080",
        "pic-store.files.1": "172.20.0.77:80",
    }
    # Never the main container's IP for a sidecar: the service stays as it is, and says why.
    assert desired.leave_alone == {"mail"}
    assert desired.problems == (
        "mail: service mail: the address of container 'cell-mail-web' "
        "is not known yet, so webmail.cell.test cannot be routed to it",
    )


def test_container_mode_dials_each_sidecar_by_name() -> None:
    desired = desired_state(sidecar_records(), DOMAIN, ADDRESS, "container")
    assert dials(desired) == {
        "pic-store.files.0": "cell-files:8080",
        "pic-store.files.1": "cell-files-dav:80",
        "pic-store.mail.0": "cell-mail:8080",
        "pic-store.mail.1": "cell-mail-web:8081",
    }
    assert desired.problems == ()


def test_a_stored_sidecar_address_that_is_not_an_ip_is_a_problem() -> None:
    records = {
        "files": record(
            "files",
            extra_subdomains=["dav"],
            extra_backends=["cell-files-dav:80"],
            addresses={"cell-files-dav": '1.2.3.4:80"}]'},
        )
    }
    desired = desired_state(records, DOMAIN, ADDRESS, "ip")
    assert desired.routes == {} and desired.leave_alone == {"files"}
    assert "container 'cell-files-dav' address" in desired.problems[0]


@pytest.mark.parametrize(
    "manifest",
    [
        {"has_subdomain": True, "subdomain": None, "backend": "cell-x:80"},
        {"has_subdomain": True, "subdomain": "x", "backend": 8080},
        {
            "has_subdomain": True,
            "subdomain": "x",
            "backend": "cell-x:80",
            "extra_subdomains": "y",
            "extra_backends": ["cell-x:80"],
        },
        {
            "has_subdomain": True,
            "subdomain": "x",
            "backend": "cell-x:80",
            "extra_subdomains": [1],
            "extra_backends": ["cell-x:80"],
        },
    ],
)
def test_stored_manifests_are_read_defensively(manifest: dict[str, Any]) -> None:
    with pytest.raises(InvalidRouteError):
        service_routes("x", manifest, DOMAIN, "ip", "172.20.0.20", {})


def test_a_host_is_claimed_by_another_service_or_owner() -> None:
    mine = service_routes(
        "b", record("b", subdomain="shared").manifest, DOMAIN, "ip", "172.20.0.21", {}
    )
    assert mine is not None
    theirs = build_route("a", "shared.cell.test", "172.20.0.20:80", 0)
    assert (
        claimed_elsewhere(mine, [theirs], {}, DOMAIN)
        == "subdomain shared.cell.test is already routed for service a"
    )
    foreign = {"@id": "gateway.x", "match": [{"host": ["shared.cell.test"]}]}
    assert "route 'gateway.x' of another owner" in str(
        claimed_elsewhere(mine, [foreign], {}, DOMAIN)
    )
    installing = {"c": record("c", ServiceState.installing, subdomain="shared")}
    assert (
        claimed_elsewhere(mine, [], installing, DOMAIN)
        == "subdomain shared.cell.test is already routed for service c"
    )
    assert (
        claimed_elsewhere(
            mine, [], {"c": record("c", ServiceState.failed, subdomain="shared")}, DOMAIN
        )
        is None
    )
    own = build_route("b", "shared.cell.test", "172.20.0.20:80", 0)
    assert claimed_elsewhere(mine, [own], {"b": record("b", subdomain="shared")}, DOMAIN) is None


@pytest.mark.parametrize(
    ("route_id", "service"),
    [
        ("pic-store.notes.0", "notes"),
        ("pic-store.notes.12", "notes"),
        ("pic-store-fallback", None),
        ("pic-store.notes", None),
        ("pic-store.a.b.0", None),
        ("pic-store.Notes.0", None),
        ("other.notes.0", None),
        ({"@id": "pic-store.x.1"}, "x"),
        (None, None),
    ],
)
def test_service_of_reads_only_our_ids(route_id: object, service: str | None) -> None:
    assert service_of(route_id) == service


def test_the_report_compares_each_host_with_caddy_and_dns() -> None:
    desired = desired_state(
        {
            "a": record("a", extra_subdomains=["a2"], extra_backends=["cell-a:81"]),
            "b": record("b"),
            "busy": record("busy", ServiceState.installing),
        },
        DOMAIN,
        ADDRESS,
        "ip",
    )
    a0 = desired.routes["pic-store.a.0"]
    changed = build_route("a", "a2.cell.test", "x:1", 1)
    stray = build_route("gone", "gone.cell.test", "172.20.0.9:80", 0)
    busy = build_route("busy", "busy.cell.test", "172.20.0.9:80", 0)
    held = {
        "a": {"a.cell.test": ADDRESS, "a2.cell.test": "10.0.0.1"},
        "old": {"o.cell.test": ADDRESS},
    }
    rows = {r.host: r for r in compare(desired, [a0, changed, stray, busy], held)}
    assert (rows["a.cell.test"].caddy, rows["a.cell.test"].dns) == ("ok", "ok")
    assert (rows["a2.cell.test"].caddy, rows["a2.cell.test"].dns) == ("changed", "wrong address")
    assert (rows["b.cell.test"].caddy, rows["b.cell.test"].dns) == ("missing", "missing")
    assert rows["gone.cell.test"].caddy == "not needed" and not rows["gone.cell.test"].agrees
    assert rows["busy.cell.test"].caddy == "in progress" and rows["busy.cell.test"].agrees
    assert rows["o.cell.test"].dns == "not needed"
    unknown = compare(desired, None, None)
    assert {(r.caddy, r.dns) for r in unknown} == {("unknown", "unknown")}
    assert compare(Desired({}, {}), [], {}) == []


def test_the_router_config_has_defaults_and_hides_the_tsig_secret() -> None:
    config = CellConfig()
    assert config.router.upstream_mode is UpstreamSetting.ip
    assert config.router.tls is TlsSetting.internal
    assert config.router.dns.backend == "hostsdir"
    dns = RouterDns(backend="rfc2136", server="127.0.0.1", tsig_secret="c2VjcmV0LXZhbHVl")
    assert "c2VjcmV0LXZhbHVl" not in repr(dns) and "c2VjcmV0LXZhbHVl" not in str(dns)
    with pytest.raises(ValueError, match="extra"):
        RouterDns.model_validate({"backend": "hostsdir", "hostdir": "/typo"})


def test_a_tsig_key_file_is_read_and_its_secret_never_quoted(tmp_path: Path) -> None:
    key_file = tmp_path / "pic-store.key"
    key_file.write_text(
        'key "pic-store" {\n\talgorithm hmac-sha512;\n\tsecret "c2VjcmV0LXZhbHVl";\n};\n'
    )
    key = tsig_key(RouterDns(backend="rfc2136", tsig_key_file=str(key_file)))
    assert (key.name, key.algorithm, key.secret) == ("pic-store", "hmac-sha512", "c2VjcmV0LXZhbHVl")
    assert "c2VjcmV0LXZhbHVl" not in repr(key)
    key_file.write_text('secret "c2VjcmV0LXZhbHVl"; garbage')
    with pytest.raises(ConfigError) as err:
        tsig_key(RouterDns(backend="rfc2136", tsig_key_file=str(key_file)))
    assert "c2VjcmV0LXZhbHVl" not in err.value.message
    with pytest.raises(ConfigError, match="tsig_secret or tsig_key_file"):
        tsig_key(RouterDns(backend="rfc2136"))


def test_the_routes_table() -> None:
    report = {
        "domain": DOMAIN,
        "caddy": "http://127.0.0.1:2019",
        "dns": "hostsdir /d",
        "agree": False,
        "problems": ["b: clash"],
        "routes": [
            {
                "service_id": "a",
                "host": "a.cell.test",
                "upstream": "172.20.0.20:80",
                "address": ADDRESS,
                "caddy": "ok",
                "dns": "ok",
            },
            {
                "service_id": "a",
                "host": "a2.cell.test",
                "upstream": "172.20.0.20:81",
                "address": ADDRESS,
                "caddy": "missing",
                "dns": "ok",
            },
        ],
    }
    lines = render(report).splitlines()
    assert lines[0].split() == ["HOST", "SERVICE", "UPSTREAM", "CADDY", "DNS"]
    assert lines[1].split() == ["a.cell.test", "a", "172.20.0.20:80", "ok", "ok", f"({ADDRESS})"]
    assert "problem: b: clash" in lines
    assert lines[-1] == "1 of 2 disagree with what the installed services need."
    empty = render({"domain": DOMAIN, "caddy": "c", "dns": "d", "agree": True, "routes": []})
    assert empty.splitlines()[0] == "No routes: no installed service of cell.test has a subdomain."
