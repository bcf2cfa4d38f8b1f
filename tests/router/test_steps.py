"""The router's routes step asked directly, as the installer's saga asks it, against a real
router process, real Caddy and real dnsmasq: refusals, undo of a half-done step, idempotent
withdrawal. No container is needed: the routes point at a loopback backend (`ip` mode)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.cli.main import main as cli
from services.router.routes import dial_of
from shared.bus import Bus
from tests.installer.helpers import service_id
from tests.parts.eventually import eventually
from tests.parts.stack import Stack
from tests.parts.store import web_manifest
from tests.router.conftest import Backends, CaddyRunner, DnsServer
from tests.router.dns_parts import CELL_ADDRESS, ZONE, settled_answer
from tests.router.service_parts import Cell, ask_router, hosts_dir, start_cell

pytestmark = pytest.mark.integration


@pytest.fixture
def cell(
    stack_factory: Callable[..., Stack], caddy: CaddyRunner, dnsmasq: DnsServer, http_port: int
) -> Cell:
    return start_cell(stack_factory, caddy, dnsmasq, http_port, installer=False)


@pytest.fixture
async def bus(cell: Cell):  # type: ignore[no-untyped-def]
    # Steps are asked as the installer asks them, with its identity.
    connected = await cell.stack.bus("installer", name="router-tests")
    yield connected
    await connected.close()


def manifest(
    sid: str, registry_host: str, subdomain: str | None = None, **extra: Any
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "has_subdomain": True,
        "subdomain": subdomain or sid,
        "backend": f"cell-{sid}:8080",
    }
    image = extra.pop("image", f"{registry_host}/roof/web:1")
    return web_manifest(sid, image, **{**fields, **extra})


def ours(route_ids: list[str], sid: str) -> list[str]:
    return [rid for rid in route_ids if rid.startswith(f"pic-store.{sid}.")]


def hold_name(directory: Path, owner: str, name: str | None) -> str:
    """Write (or, with None, read) the hosts file of another owner."""
    path = directory / f"pic-store.{owner}.hosts"
    if name is not None:
        path.write_text(f"10.9.9.9 {name}\n")
    return path.read_text()


HOSTILE: list[tuple[str, dict[str, Any], str | None, str]] = [
    # (what, manifest fields, service_ip, expected in the reason)
    (
        "json in subdomain",
        {"subdomain": 'x"}]},{"handle":[{"handler":"static_response"'},
        "172.20.0.20",
        "$.subdomain",
    ),
    ("dot in subdomain", {"subdomain": "a.evil"}, "172.20.0.20", "$.subdomain"),
    ("newline in subdomain", {"subdomain": "evil\n1.2.3.4 victim"}, "172.20.0.20", "$.subdomain"),
    ("reserved subdomain", {"subdomain": "api"}, "172.20.0.20", "reserved"),
    (
        "json in backend",
        {"backend": 'cell-SID:8080"}],"x":[{"dial":"10.0.0.1:22'},
        "172.20.0.20",
        "$.backend",
    ),
    ("foreign backend", {"backend": "cell-api:8080"}, "172.20.0.20", "$.backend"),
    ("port out of range", {"backend": "cell-SID:99999"}, "172.20.0.20", "$.backend"),
    (
        "json in extra subdomain",
        {"extra_subdomains": ['y"]'], "extra_backends": ["cell-SID:1"]},
        "172.20.0.20",
        "$.extra_subdomains[0]",
    ),
    ("json in service_ip", {}, '172.20.0.20:80"}]', "service_ip"),
    ("scoped service_ip", {}, "fe80::1%eth0", "service_ip"),
    (
        "image of another registry",
        {"image": "docker.io/library/nginx:latest"},
        "172.20.0.20",
        "$.image",
    ),
]


async def test_hostile_requests_are_refused_before_caddy_or_dns(
    cell: Cell, bus: Bus, registry_host: str
) -> None:
    before = await cell.route_ids()
    for what, fields, service_ip, expected in HOSTILE:
        sid = service_id()
        body: dict[str, Any] = {
            k: [x.replace("SID", sid) for x in v] if isinstance(v, list) else v.replace("SID", sid)
            for k, v in fields.items()
        }
        result = await ask_router(
            bus, sid, "apply", manifest(sid, registry_host, **body), service_ip=service_ip
        )
        assert not result.ok, what
        assert expected in result.reason, (what, result.reason)
        assert ours(await cell.route_ids(), sid) == [], what
    assert await cell.route_ids() == before  # Caddy untouched: no route, no config change
    assert list(hosts_dir(cell.dns).glob("pic-store.*")) == []
    other = service_id()
    wrong_id = await ask_router(bus, other, "apply", manifest("notes", registry_host))
    assert not wrong_id.ok and "the manifest is of 'notes'" in wrong_id.reason


async def test_a_subdomain_routed_for_another_service_is_refused_naming_it(
    cell: Cell, bus: Bus, registry_host: str, backends: Backends
) -> None:
    first, second = service_id(), service_id()
    port = await backends(first)
    applied = await ask_router(
        bus,
        first,
        "apply",
        manifest(first, registry_host, backend=f"cell-{first}:{port}"),
        service_ip="127.0.0.1",
    )
    assert applied.ok, applied.reason
    assert (await cell.through_caddy(f"{first}.{ZONE}")).text == f"I am {first}"

    taken = await ask_router(bus, second, "apply", manifest(second, registry_host, subdomain=first))
    assert not taken.ok
    assert f"already routed for service {first}" in taken.reason
    assert ours(await cell.route_ids(), second) == []
    assert (await cell.through_caddy(f"{first}.{ZONE}")).text == f"I am {first}"

    again = await ask_router(
        bus,
        first,
        "apply",
        manifest(first, registry_host, backend=f"cell-{first}:{port}"),
        service_ip="127.0.0.1",
    )
    assert again.ok, "a redelivered apply changes nothing and is not refused"
    assert ours(await cell.route_ids(), first) == [f"pic-store.{first}.0"]


async def test_a_sidecar_route_dials_the_address_the_installer_reported(
    cell: Cell, bus: Bus, registry_host: str, backends: Backends
) -> None:
    sid, sidecar_ip = service_id(), "127.0.0.2"  # not the service IP, as on the cell network
    web, dav = await backends(f"{sid}-web"), await backends(f"{sid}-dav", host=sidecar_ip)
    fields = manifest(
        sid,
        registry_host,
        backend=f"cell-{sid}:{web}",
        extra_subdomains=[f"{sid}-dav"],
        extra_backends=[f"cell-{sid}-dav:{dav}"],
    )

    unknown = await ask_router(bus, sid, "apply", fields, service_ip="127.0.0.1")
    assert not unknown.ok
    assert f"container 'cell-{sid}-dav' is not known yet" in unknown.reason
    assert ours(await cell.route_ids(), sid) == []

    applied = await ask_router(
        bus,
        sid,
        "apply",
        fields,
        service_ip="127.0.0.1",
        addresses={f"cell-{sid}": "127.0.0.1", f"cell-{sid}-dav": sidecar_ip},
    )
    assert applied.ok, applied.reason
    async with cell.caddy.raw_client() as client:
        main = (await client.get(f"/id/pic-store.{sid}.0")).json()
        sidecar = (await client.get(f"/id/pic-store.{sid}.1")).json()
    assert dial_of(main) == f"127.0.0.1:{web}"
    assert dial_of(sidecar) == f"{sidecar_ip}:{dav}"
    assert (await cell.through_caddy(f"{sid}-dav.{ZONE}")).text == f"I am {sid}-dav"
    assert (await cell.through_caddy(f"{sid}.{ZONE}")).text == f"I am {sid}-web"


async def test_withdraw_removes_routes_and_records_and_is_idempotent(
    cell: Cell, bus: Bus, registry_host: str
) -> None:
    # `hostnames`: its mail name answers the service's own IP, its subdomain the cell's.
    sid = service_id()
    with_mail = manifest(sid, registry_host, hostnames=[f"{sid}-mail"])
    applied = await ask_router(bus, sid, "apply", with_mail, service_ip="172.20.0.20")
    assert applied.ok, applied.reason
    assert ours(await cell.route_ids(), sid) == [f"pic-store.{sid}.0"]  # no route for it
    host, mail = f"{sid}.{ZONE}", f"{sid}-mail.{ZONE}"
    for name, address in ((host, CELL_ADDRESS), (mail, "172.20.0.20")):
        assert await settled_answer(cell.dns.port, name, ("NOERROR", [address])) == (
            "NOERROR",
            [address],
        )
    # A service without a subdomain gets its hostname too; another's name is refused.
    plain = service_id()
    game = manifest(plain, registry_host, has_subdomain=False, hostnames=[f"{plain}-play"])
    del game["subdomain"], game["backend"]
    assert (await ask_router(bus, plain, "apply", game, service_ip="172.20.0.21")).ok
    play = ("NOERROR", ["172.20.0.21"])
    assert await settled_answer(cell.dns.port, f"{plain}-play.{ZONE}", play) == play
    thief = service_id()
    taken = {**game, "id": thief, "container_name": f"cell-{thief}", "hostnames": [f"{sid}-mail"]}
    refused = await ask_router(bus, thief, "apply", taken, service_ip="172.20.0.22")
    assert not refused.ok and f"already held by service {sid}" in refused.reason
    for _ in range(2):
        withdrawn = await ask_router(bus, sid, "compensate", with_mail)
        assert withdrawn.ok, withdrawn.reason
        assert ours(await cell.route_ids(), sid) == []
    for name in (host, mail):
        assert await settled_answer(cell.dns.port, name, ("NXDOMAIN", [])) == ("NXDOMAIN", [])
    assert await settled_answer(cell.dns.port, f"{plain}-play.{ZONE}", play) == play
    never = service_id()
    assert (await ask_router(bus, never, "compensate", manifest(never, registry_host))).ok


async def test_a_failed_dns_update_undoes_the_routes_it_added(
    cell: Cell, bus: Bus, registry_host: str
) -> None:
    sid = service_id()
    first = manifest(sid, registry_host)
    assert (await ask_router(bus, sid, "apply", first)).ok
    routes_before = [r for r in await cell.caddy_routes() if r["@id"].startswith("pic-store.")]

    # A real fault: the name the upgrade adds is held by another owner in the hosts dir.
    stranger = hold_name(hosts_dir(cell.dns), "stranger", f"{sid}-new.{ZONE}")
    upgrade = manifest(
        sid, registry_host, extra_subdomains=[f"{sid}-new"], extra_backends=[f"cell-{sid}:8081"]
    )
    failed = await ask_router(bus, sid, "apply", upgrade)
    assert not failed.ok
    assert "already held by service stranger" in failed.reason
    after = [r for r in await cell.caddy_routes() if r["@id"].startswith("pic-store.")]
    assert after == routes_before, "the routes are as they were before the failed step"
    assert stranger == hold_name(hosts_dir(cell.dns), "stranger", None)


async def test_caddy_down_fails_the_step_with_the_reason_then_comes_back(
    cell: Cell, bus: Bus, registry_host: str, caddy: CaddyRunner
) -> None:
    sid = service_id()
    caddy.current.kill()
    failed = await ask_router(bus, sid, "apply", manifest(sid, registry_host))
    assert (
        not failed.ok and "Caddy admin API" in failed.reason and "did not answer" in failed.reason
    )

    async def unhealthy() -> bool:
        return (await cell.router("/healthz")).status_code == 503

    await eventually(unhealthy, what="/healthz reporting Caddy down")
    assert "caddy" in (await cell.router("/healthz")).text
    report = await cell.routes()
    assert report["agree"] is False and report["caddy_error"]

    caddy.start()  # empty: the router notices and puts its server back

    async def healthy() -> bool:
        return (await cell.router("/healthz")).status_code == 200

    await eventually(healthy, what="the router seeing Caddy again")
    assert "pic-store-fallback" in await cell.route_ids()
    assert (await ask_router(bus, sid, "apply", manifest(sid, registry_host))).ok


def test_routes_command_says_when_the_router_does_not_answer(
    stack_factory: Callable[..., Stack], capsys: pytest.CaptureFixture[str]
) -> None:
    stack = stack_factory()  # a cell's bus, no router on it
    admin = [
        "--nats",
        stack.nats_url,
        "--cell",
        stack.cell,
        "--nats-seed",
        str(stack.seed("admin")),
    ]
    assert cli(["routes", *admin, "--timeout", "1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the router did not answer within 1 s" in err, err
