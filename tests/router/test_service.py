"""The router service end to end: the real installer and router processes, real Caddy, real
dnsmasq or BIND, real Docker. A request through Caddy reaches the installed container, DNS
answers its names with the cell's address, and a remove takes both away."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from app.cli.main import main as cli
from app.embedded import free_port
from shared.events import Message, RoutesReconciled
from shared.events.channels import ROUTES_RECONCILED
from tests.installer.helpers import install, remove, service_id
from tests.parts.eventually import eventually
from tests.parts.image_set import ImageSet
from tests.parts.store import web_manifest, web_template, write_store
from tests.router.conftest import CaddyRunner, DnsServer
from tests.router.dns_parts import CELL_ADDRESS, ZONE, settled_answer
from tests.router.service_parts import (
    Cell,
    Connect,
    ask_router,
    cell_client,
    hosts_dir,
    start_cell,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
__all__ = ["cell_client"]
FOREIGN = {
    "@id": "gateway.admin",
    "match": [{"host": [f"admin.{ZONE}"]}],
    "handle": [{"handler": "static_response", "body": "the gateway's"}],
}
FOREIGN_IN_OURS = {
    "@id": "gateway.webui",
    "match": [{"host": [f"webui.{ZONE}"]}],
    "handle": [{"handler": "static_response", "body": "the web UI's"}],
}


def routed_manifest(sid: str, image: str, **extra: Any) -> dict[str, Any]:
    """A web service with a subdomain and one extra subdomain, both on its own container."""
    return web_manifest(
        sid,
        image,
        has_subdomain=True,
        subdomain=sid,
        backend=f"cell-{sid}:8080",
        extra_subdomains=[f"{sid}-alt"],
        extra_backends=[f"cell-{sid}:8080"],
        **extra,
    )


def store_of(tmp_path: Path, manifest: dict[str, Any]) -> Path:
    return write_store(tmp_path / manifest["id"], [(manifest, web_template(manifest))])


async def serves(cell: Cell, hosts: list[str]) -> None:
    """Each host reaches the container. The image has no health check, so its httpd may
    still be starting when the install ends (Caddy answers 502 until it listens)."""
    for host in hosts:

        async def answered(host: str = host) -> bool:
            answer = await cell.through_caddy(host)
            assert answer.status_code in (200, 502), answer.text
            return answer.status_code == 200 and answer.text.startswith("hello from")

        await eventually(answered, within=10, what=f"{host} answered through Caddy")


async def resolves(cell: Cell, hosts: list[str], expected: tuple[str, list[str]]) -> None:
    for host in hosts:
        assert await settled_answer(cell.dns.port, host, expected) == expected, host


async def test_install_routes_through_caddy_and_dns_then_remove_takes_both_away(
    stack_factory: Any,
    caddy: CaddyRunner,
    dnsmasq: DnsServer,
    http_port: int,
    cell_client: Connect,
    images: ImageSet,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cell = start_cell(stack_factory, caddy, dnsmasq, http_port)
    client = await cell_client(cell)
    sid, rival = service_id(), service_id()
    stack_factory.used_ids.extend([sid, rival])
    hosts = [f"{sid}.{ZONE}", f"{sid}-alt.{ZONE}"]

    result = await install(client, store_of(tmp_path, routed_manifest(sid, images.web)), sid)
    assert result.payload.status == "succeeded", result.payload.message + cell.stack.log()
    await serves(cell, hosts)
    await resolves(cell, hosts, ("NOERROR", [CELL_ADDRESS]))
    assert (await cell.through_caddy(f"nobody.{ZONE}")).status_code == 404

    report = await cell.routes()
    assert report["agree"] is True, report
    assert sorted(r["host"] for r in report["routes"]) == sorted(hosts)
    assert {(r["caddy"], r["dns"], r["address"]) for r in report["routes"]} == {
        ("ok", "ok", CELL_ADDRESS)
    }
    capsys.readouterr()
    assert await asyncio.to_thread(cli, ["routes", *cell.cli_bus()]) == 0
    out = capsys.readouterr().out
    assert hosts[0] in out and "All 2 routes and records agree." in out
    metrics = (await cell.router("/metrics")).text
    assert "pic_router_routes 2.0" in metrics and "pic_router_dns_records 2.0" in metrics
    assert "pic_router_caddy_admin_seconds_count" in metrics
    assert (await cell.router("/healthz")).status_code == 200
    assert (await cell.router("/routes")).status_code == 404, "the report is on the bus only"

    # The same subdomain for another service: the installer's pre-flight refuses it, and so
    # does the router itself when asked directly.
    clash = web_manifest(
        rival, images.web, has_subdomain=True, subdomain=sid, backend=f"cell-{rival}:8080"
    )
    refused = await install(client, store_of(tmp_path, clash), rival)
    assert refused.payload.status == "failed" and sid in refused.payload.message
    as_installer = await cell.stack.bus("installer")
    try:
        direct = await ask_router(as_installer, rival, "apply", clash)
    finally:
        await as_installer.close()
    assert not direct.ok and f"already routed for service {sid}" in direct.reason
    await serves(cell, hosts)

    removed = await remove(client, sid)
    assert removed.payload.status == "succeeded", removed.payload.message
    for host in hosts:
        assert (await cell.through_caddy(host)).status_code == 404
    await resolves(cell, hosts, ("NXDOMAIN", []))
    assert not [rid for rid in await cell.route_ids() if rid.startswith(f"pic-store.{sid}.")]
    report = await cell.routes()
    assert report["routes"] == [] and report["agree"] is True


async def test_caddy_restarted_empty_or_edited_by_hand_gets_every_route_back(
    stack_factory: Any,
    caddy: CaddyRunner,
    dnsmasq: DnsServer,
    http_port: int,
    cell_client: Connect,
    images: ImageSet,
    tmp_path: Path,
) -> None:
    cell = start_cell(stack_factory, caddy, dnsmasq, http_port)
    client = await cell_client(cell)
    sid = service_id()
    stack_factory.used_ids.append(sid)
    hosts = [f"{sid}.{ZONE}", f"{sid}-alt.{ZONE}"]
    result = await install(client, store_of(tmp_path, routed_manifest(sid, images.web)), sid)
    assert result.payload.status == "succeeded", result.payload.message
    wanted = [r for r in await cell.caddy_routes() if str(r["@id"]).startswith("pic-store.")]
    events: list[RoutesReconciled] = []

    async def on_event(message: Message) -> None:
        if isinstance(message, RoutesReconciled):
            events.append(message)

    async with client.bus.watch(ROUTES_RECONCILED, on_event):
        await restart_and_edit(cell, wanted, hosts)
    restart = next(e for e in events if e.payload.trigger == "caddy-restart")
    assert {c.what for c in restart.payload.corrections} >= {
        f"route {r['@id']} added" for r in wanted
    } | {"Caddy server created"}
    assert any(
        f"route {wanted[0]['@id']} replaced" in c.what
        for e in events
        for c in e.payload.corrections
    )
    metrics = (await cell.router("/metrics")).text
    assert 'pic_router_corrections_total{kind="route_added"} 2.0' in metrics
    assert 'pic_router_corrections_total{kind="route_replaced"} 1.0' in metrics
    assert 'trigger="caddy-restart"' in metrics
    assert '"event": "reconciled"' in cell.stack.log()


async def restart_and_edit(cell: Cell, wanted: list[dict[str, Any]], hosts: list[str]) -> None:
    """Kill Caddy, start it empty, then edit one of our routes by hand: each time the router
    puts every route back, and never touches another owner's server or route."""
    caddy = cell.caddy
    caddy.restart_empty()
    # Another owner's server and a route of theirs inside ours, made before we are back.
    theirs = {
        "listen": [f"127.0.0.1:{free_port()}"],
        "automatic_https": {"disable": True},
        "routes": [FOREIGN],
    }
    async with caddy.raw_client() as raw:
        (await raw.put("/config/apps/http/servers/theirs", json=theirs)).raise_for_status()

    async def restored() -> bool:
        current = await cell.caddy_routes()
        return all(route in current for route in wanted)

    await eventually(restored, what="every route restored after the restart")
    await serves(cell, hosts)

    async with caddy.raw_client() as raw:
        path = "/config/apps/http/servers/pic_store/routes/0"
        (await raw.put(path, json=FOREIGN_IN_OURS)).raise_for_status()
        edited = {**wanted[0], "handle": [{"handler": "static_response", "body": "hijacked"}]}
        (await raw.patch(f"/id/{wanted[0]['@id']}", json=edited)).raise_for_status()
    await eventually(restored, what="the route changed by hand put back")
    await serves(cell, hosts)
    assert FOREIGN_IN_OURS in await cell.caddy_routes(), "another owner's route in ours stays"
    assert (await cell.through_caddy(f"webui.{ZONE}")).text == "the web UI's"
    async with caddy.raw_client() as raw:
        assert (await raw.get("/config/apps/http/servers/theirs")).json() == theirs


async def test_bind_gets_the_records_by_tsig_signed_updates(
    stack_factory: Any,
    caddy: CaddyRunner,
    named: DnsServer,
    http_port: int,
    cell_client: Connect,
    images: ImageSet,
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "named" / "pic-store.key"
    cell = start_cell(stack_factory, caddy, named, http_port, key_file=key_file)
    client = await cell_client(cell)
    sid = service_id()
    stack_factory.used_ids.append(sid)
    hosts = [f"{sid}.{ZONE}", f"{sid}-alt.{ZONE}"]
    result = await install(client, store_of(tmp_path, routed_manifest(sid, images.web)), sid)
    assert result.payload.status == "succeeded", result.payload.message + cell.stack.log()
    await serves(cell, hosts)
    await resolves(cell, hosts, ("NOERROR", [CELL_ADDRESS]))
    report = await cell.routes()
    assert report["agree"] is True and report["dns"].startswith("rfc2136 127.0.0.1:"), report

    assert (await remove(client, sid)).payload.status == "succeeded"
    await resolves(cell, hosts, ("NXDOMAIN", []))
    secret = named.backend._key.secret  # type: ignore[union-attr]
    seen = [
        cell.stack.log(),
        (await cell.router("/metrics")).text,
        json.dumps(await cell.routes()),
    ]
    assert not [text for text in seen if secret in text], "the TSIG secret leaked"


INJECTIONS = [
    ("subdomain", 'x"}]},{"match":[{"host":["admin.cell.test"]}],"handle":[{"handler":"vars'),
    ("subdomain", "evil.admin"),
    ("backend", 'cell-SID:8080"}]}],"x":"'),
    ("backend", "cell-SID:8080\n10.0.0.1 victim.cell.test"),
]


async def test_injection_is_refused_by_validation_before_caddy_or_dns(
    stack_factory: Any,
    caddy: CaddyRunner,
    dnsmasq: DnsServer,
    http_port: int,
    cell_client: Connect,
    images: ImageSet,
    tmp_path: Path,
) -> None:
    cell = start_cell(stack_factory, caddy, dnsmasq, http_port)
    client = await cell_client(cell)

    async def ready() -> bool:
        return "pic-store-fallback" in await cell.route_ids()

    await eventually(ready, what="the router's start-up reconciliation")
    before = await cell.caddy_routes()
    for field, value in INJECTIONS:
        sid = service_id()
        stack_factory.used_ids.append(sid)
        manifest = web_manifest(
            sid, images.web, has_subdomain=True, subdomain=sid, backend=f"cell-{sid}:8080"
        )
        manifest[field] = value.replace("SID", sid)
        result = await install(client, store_of(tmp_path, manifest), sid)
        assert result.payload.status == "failed", field
        assert f"$.{field}" in result.payload.message, result.payload.message
    assert await cell.caddy_routes() == before
    assert list(hosts_dir(dnsmasq).glob("pic-store.*")) == []
