"""Routes are built safely and diffed against Caddy's routes without touching other owners'."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.router.errors import InvalidRouteError
from services.router.routes import (
    ROUTE_ID_PREFIX,
    Plan,
    Route,
    ServiceRoutes,
    UpstreamMode,
    build_route,
    desired_routes,
    dial_of,
    diff,
    routes_for,
)
from shared.errors import PicStoreError

pytestmark = pytest.mark.unit

SAFE_HOST = re.compile(r"([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]*[a-z0-9])?")
SAFE_DIAL = re.compile(r"([a-z0-9.-]+|\[[0-9a-f:.]+\]):[0-9]{1,5}")


def files(
    mode: str = "container", ip: str | None = None, addresses: dict[str, str] | None = None
) -> ServiceRoutes:
    """`files` on container cell-files, with its WebDAV sidecar cell-files-dav behind dav."""
    return routes_for(
        "files",
        "files",
        "cell-files:8080",
        ["dav"],
        ["cell-files-dav:80"],
        "cell.test",
        mode,
        ip,
        container_name="cell-files",
        addresses=addresses,
    )


def test_build_route_is_the_caddy_json_route() -> None:
    proxy = {"handler": "reverse_proxy", "upstreams": [{"dial": "cell-notes:8080"}]}
    private = {"path": ["/service-api", "/service-api/*"]}
    assert build_route("notes", "notes.cell.test", "cell-notes:8080", 0) == {
        "@id": "pic-store.notes.0",
        "match": [{"host": ["notes.cell.test"]}],
        "handle": [
            {
                "handler": "subroute",
                "routes": [
                    {
                        "match": [private],
                        "handle": [{"handler": "static_response", "status_code": 404}],
                        "terminal": True,
                    },
                    {"handle": [proxy]},
                ],
            }
        ],
        "terminal": True,
    }


def test_container_mode_dials_the_backend_and_numbers_extras() -> None:
    service = files()
    assert service.pairs == (
        ("files.cell.test", "cell-files:8080"),
        ("dav.cell.test", "cell-files-dav:80"),
    )
    assert list(service.routes()) == ["pic-store.files.0", "pic-store.files.1"]


def test_container_mode_dials_each_backend_by_name_whatever_the_addresses() -> None:
    known = files("container", "172.20.0.21", {"cell-files-dav": "172.20.0.77"})
    assert known.pairs == (
        ("files.cell.test", "cell-files:8080"),
        ("dav.cell.test", "cell-files-dav:80"),
    )
    assert files("container", None, {}).pairs == known.pairs


@pytest.mark.parametrize(
    ("ip", "dial"), [("172.20.0.21", "172.20.0.21:8080"), ("fd00::21", "[fd00::21]:8080")]
)
def test_ip_mode_dials_the_main_container_at_the_service_ip(ip: str, dial: str) -> None:
    # The main container's own entry in `addresses` does not override the allocated IP.
    service = files("ip", ip, {"cell-files": "172.20.0.99", "cell-files-dav": "172.20.0.77"})
    assert service.pairs[0] == ("files.cell.test", dial)


@pytest.mark.parametrize(
    ("address", "dial"), [("172.20.0.77", "172.20.0.77:80"), ("fd00::77", "[fd00::77]:80")]
)
def test_ip_mode_dials_a_sidecar_at_its_own_address(address: str, dial: str) -> None:
    service = files("ip", "172.20.0.21", {"cell-files-dav": address})
    assert service.pairs == (("files.cell.test", "172.20.0.21:8080"), ("dav.cell.test", dial))
    assert dial_of(service.routes()["pic-store.files.1"]) == dial


@pytest.mark.parametrize(
    "addresses", [None, {}, {"cell-files": "172.20.0.21"}, {"cell-files-dav2": "172.20.0.77"}]
)
def test_ip_mode_refuses_a_sidecar_whose_address_is_not_known(
    addresses: dict[str, str] | None,
) -> None:
    with pytest.raises(
        InvalidRouteError, match="address of container 'cell-files-dav' is not known yet"
    ):
        files("ip", "172.20.0.21", addresses)


def test_ip_mode_without_a_container_name_never_guesses_the_service_ip() -> None:
    with pytest.raises(InvalidRouteError, match="'cell-notes' is not known yet"):
        routes_for("notes", "notes", "cell-notes:8080", [], [], "cell.test", "ip", "172.20.0.21")


@pytest.mark.parametrize(
    "address",
    [
        "172.20.0.300",
        "fe80::1%eth0",
        '1.2.3.4:80"}]',
        "",
        "1.2.3.4\n",
        "cell-files-dav",
        " 172.20.0.77",
    ],
)
def test_ip_mode_refuses_a_sidecar_address_that_is_not_an_ip(address: str) -> None:
    with pytest.raises(InvalidRouteError, match="container 'cell-files-dav' address"):
        files("ip", "172.20.0.21", {"cell-files-dav": address})


@given(st.text(max_size=45))
def test_any_sidecar_address_is_either_refused_or_safe(address: str) -> None:
    try:
        service = files("ip", "172.20.0.21", {"cell-files-dav": address})
    except InvalidRouteError:
        return
    for route in service.routes().values():
        assert SAFE_DIAL.fullmatch(dial_of(route))


BAD = [
    ("subdomain", 'a"}],"x'),
    ("subdomain", "evil.com/.."),
    ("subdomain", "a b"),
    ("subdomain", "a\nb"),
    ("subdomain", "*.x"),
    ("subdomain", "*"),
    ("subdomain", ""),
    ("subdomain", "-a"),
    ("subdomain", "A"),
    ("subdomain", "a" * 64),
    ("subdomain", "api"),
    ("subdomain", "notes."),
    ("subdomain", "nötes"),
    ("backend", "cell-notes:0"),
    ("backend", "cell-notes:70000"),
    ("backend", "cell-notes"),
    ("backend", "cell-notes:80 "),
    ("backend", "cell-notes:+80"),
    ("backend", 'x"}:80'),
    ("backend", "evil.com/..:80"),
    ("backend", "a b:80"),
    ("backend", "a\n:80"),
    ("backend", "[::1%eth0]:80"),
    ("backend", "[nope]:80"),
    ("backend", "*.x:80"),
    ("backend", "cell-notes:٨٠"),
    ("domain", "cell.test."),
    ("domain", "cell..test"),
    ("domain", "cell.test\n"),
    ("domain", "*.cell.test"),
    ("domain", 'x"]}'),
    ("service_id", "no.dots"),
    ("service_id", "Notes"),
    ("upstream_mode", "host"),
    ("service_ip", "172.20.0.300"),
    ("service_ip", "fe80::1%eth0"),
    ("service_ip", None),
]


@pytest.mark.parametrize(("field", "value"), BAD)
def test_injection_and_nonsense_are_refused(field: str, value: str | None) -> None:
    args: dict[str, object] = {
        "service_id": "notes",
        "subdomain": "notes",
        "backend": "cell-notes:8080",
        "extra_subdomains": [],
        "extra_backends": [],
        "domain": "cell.test",
        "upstream_mode": "ip",
        "service_ip": "172.20.0.20",
        "container_name": "cell-notes",
    }
    args[field] = value
    with pytest.raises(InvalidRouteError) as caught:
        routes_for(**args)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, PicStoreError)
    assert caught.value.message


def test_build_route_refuses_bad_data_however_it_is_called() -> None:
    with pytest.raises(InvalidRouteError, match="port"):
        build_route("notes", "notes.cell.test", "cell-notes:0", 0)
    with pytest.raises(InvalidRouteError, match="host"):
        build_route("notes", 'n"}.cell.test', "cell-notes:1", 0)
    with pytest.raises(InvalidRouteError, match="index"):
        build_route("notes", "notes.cell.test", "cell-notes:1", -1)


def test_extras_must_pair_and_hosts_must_be_unique() -> None:
    with pytest.raises(InvalidRouteError, match="pair one to one"):
        routes_for("f", "f", "c:1", ["a", "b"], ["c:2"], "cell.test", UpstreamMode.CONTAINER)
    with pytest.raises(InvalidRouteError, match="twice"):
        routes_for("f", "f", "c:1", ["f"], ["c:2"], "cell.test", UpstreamMode.CONTAINER)
    other = routes_for("g", "dav", "g:1", [], [], "cell.test", "container")
    with pytest.raises(InvalidRouteError, match=r"dav\.cell\.test is claimed by files and g"):
        desired_routes([files(), other])


@given(st.text(max_size=30), st.text(max_size=30), st.text(max_size=30))
def test_any_input_is_either_refused_or_safe(subdomain: str, backend: str, domain: str) -> None:
    try:
        service = routes_for("svc", subdomain, backend, [], [], domain, "container")
    except InvalidRouteError:
        return
    for route in service.routes().values():
        assert SAFE_HOST.fullmatch(route["match"][0]["host"][0])
        assert SAFE_DIAL.fullmatch(dial_of(route))


FOREIGN = [
    {"@id": "someone-else.a", "handle": []},
    {"handle": []},
    "junk",
    {"@id": "pic-store-fallback", "handle": []},
]


def test_diff_adds_replaces_and_removes_only_our_routes() -> None:
    desired = desired_routes([files()])
    changed = {**desired["pic-store.files.1"], "terminal": False}
    stray = build_route("gone", "gone.cell.test", "cell-gone:1", 0)
    actual = [*FOREIGN, changed, stray]
    plan = diff(desired, actual)
    assert plan == Plan(
        add=(desired["pic-store.files.0"],),
        replace=(desired["pic-store.files.1"],),
        remove=("pic-store.gone.0",),
    )
    assert diff(desired, [*FOREIGN, *desired.values()]).empty


def test_diff_refuses_desired_routes_without_our_prefix() -> None:
    with pytest.raises(InvalidRouteError):
        diff({"other.x": {"@id": "other.x"}}, [])


ids = st.integers(min_value=0, max_value=5).map(lambda i: f"pic-store.s{i}.0")
routes = st.builds(
    lambda rid, port: {"@id": rid, "handle": [{"port": port}]}, ids, st.integers(1, 3)
)


@given(st.lists(routes), st.lists(routes), st.lists(st.sampled_from(FOREIGN)))
def test_applying_the_plan_yields_the_desired_routes(
    desired_list: list[Route], actual_list: list[Route], foreign: list[object]
) -> None:
    desired = {r["@id"]: r for r in desired_list}
    actual = list({r["@id"]: r for r in actual_list}.values()) + foreign
    plan = diff(desired, actual)
    after = {r["@id"]: r for r in actual if isinstance(r, dict) and "@id" in r}
    for rid in plan.remove:
        del after[rid]
    for route in (*plan.replace, *plan.add):
        after[route["@id"]] = route
    ours = {k: v for k, v in after.items() if k.startswith(ROUTE_ID_PREFIX)}
    assert json.dumps(ours, sort_keys=True) == json.dumps(desired, sort_keys=True)
    assert all(r in actual for r in foreign)
    assert not any(rid.startswith(ROUTE_ID_PREFIX) is False for rid in plan.remove)
