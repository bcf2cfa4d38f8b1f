"""Routes through the gateway (its real app, token and Host check): the router's report over
the real bus, from a real router with real Caddy and dnsmasq. An installed service (its
record, as the installer keeps it) is routed by the router's start-up reconcile; Caddy and
DNS agreeing, then a route taken out of Caddy by hand, are what a UI shows. No container:
the route points at an address nothing answers on, which the report does not need."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from services.gateway.api import routes as routes_api
from shared.config import CellConfig
from shared.installed import ServiceRecord, services_bucket
from tests.gateway.conftest import Gateway, serve_gateway
from tests.gateway.test_peers import start_bare
from tests.gateway.test_services import fuzz, malformable, token_of
from tests.parts.eventually import eventually
from tests.parts.stack import Stack
from tests.parts.store import web_manifest
from tests.router.conftest import (  # noqa: F401 (fixtures)
    CaddyRunner,
    DnsServer,
    caddy,
    dnsmasq,
    http_port,
)
from tests.router.dns_parts import CELL_ADDRESS, ZONE
from tests.router.service_parts import ROUTER_ENV, router_config

pytestmark = pytest.mark.integration
SID = "notes"
SERVICE_IP = "172.20.0.20"


async def _routed_cell(
    stack: Stack, proxy: CaddyRunner, dns: DnsServer, port: int, *others: str
) -> None:
    """The cell's config pointing at the test's Caddy and dnsmasq, one installed service's
    record, the router started, and `others` (accounts, backup) beside it."""
    config = CellConfig.load(stack.data_dir).model_dump()
    config.update(domain=ZONE, cell_address=CELL_ADDRESS, router=router_config(proxy, port, dns))
    CellConfig.model_validate(config).write(stack.data_dir)
    manifest = web_manifest(
        SID,
        "git.pic.ngo/roof/web:1",
        has_subdomain=True,
        subdomain=SID,
        backend=f"cell-{SID}:8080",
    )
    installer = await stack.bus("installer", name="routes-test")
    record = ServiceRecord(
        service_id=SID, state="installed", manifest=manifest, service_ip=SERVICE_IP
    )
    await (await services_bucket(installer)).put(SID, record)
    await installer.close()
    stack.start(
        "router",
        **{**ROUTER_ENV, "PIC_ROUTER_RECONCILE_PERIOD": "600"},
        PATH=os.environ["PATH"],
        PIC_NATS_URL=stack.nats_url,
        PIC_CELL=stack.cell,
        PIC_DATA_DIR=str(stack.data_dir),
    )
    for other in others:
        start_bare(stack, other)


@pytest.fixture
async def routes_gateway(
    gateway_cell: Stack,
    caddy: CaddyRunner,  # noqa: F811
    dnsmasq: DnsServer,  # noqa: F811
    http_port: int,  # noqa: F811
) -> AsyncIterator[Gateway]:
    try:
        await _routed_cell(gateway_cell, caddy, dnsmasq, http_port)
        async with serve_gateway(gateway_cell) as served:
            yield served
    finally:
        for proc in gateway_cell.processes:
            proc.stop()


@pytest.fixture
async def areas_gateway(
    gateway_cell: Stack,
    caddy: CaddyRunner,  # noqa: F811
    dnsmasq: DnsServer,  # noqa: F811
    http_port: int,  # noqa: F811
) -> AsyncIterator[Gateway]:
    """Router, accounts and backup running: every area of peers, backups and routes answers."""
    try:
        await _routed_cell(gateway_cell, caddy, dnsmasq, http_port, "accounts", "backup")
        async with serve_gateway(gateway_cell) as served:
            yield served
    finally:
        for proc in gateway_cell.processes:
            proc.stop()


async def test_routes_show_what_caddy_and_dns_hold(
    routes_gateway: Gateway,
    caddy: CaddyRunner,  # noqa: F811
) -> None:
    http = routes_gateway.http
    host = f"{SID}.{ZONE}"

    async def agreeing() -> bool:
        report = (await http.get("/routes")).json()
        return report.get("agree") is True and bool(report["routes"])

    await eventually(agreeing, within=15, every=0.2, what="the start-up reconcile's routes")
    report = (await http.get("/routes")).json()
    assert report["domain"] == ZONE and not report["caddy_error"] and not report["dns_error"]
    (row,) = report["routes"]
    assert (row["service_id"], row["host"], row["caddy"], row["dns"]) == (SID, host, "ok", "ok")
    assert row["address"] == CELL_ADDRESS and row["upstream"] == f"{SERVICE_IP}:8080"

    # Someone takes the route out of Caddy: the report says so (no reconcile runs meanwhile).
    async with caddy.raw_client() as admin:
        assert (await admin.delete(f"/id/{row['route_id']}")).status_code == 200
    report = (await http.get("/routes")).json()
    assert report["agree"] is False
    assert [(r["host"], r["caddy"], r["dns"]) for r in report["routes"]] == [
        (host, "missing", "ok")
    ]
    assert (await routes_gateway.anonymous.get("/routes")).status_code == 401


async def test_no_router_is_a_504_that_says_so(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes_api, "QUERY_TIMEOUT", 0.5)
    answer = await gateway.http.get("/routes")
    assert answer.status_code == 504
    assert "the router did not answer within 0.5 s" in answer.json()["detail"]


# The operations of the peers, backups and routes areas (the services', operations' and the
# store's are fuzzed in test_services.py and test_store.py): together, the whole document.
AREA_PREFIXES = ("/peers", "/backups", "/routes")


async def test_peers_backups_and_routes_answer_what_the_document_says(
    areas_gateway: Gateway, gateway_cell: Stack
) -> None:
    """Schemathesis over these areas' operations of the served document, with the services
    that answer them running: no 5xx, listed status codes, types and schemas."""
    spec = (await areas_gateway.http.get("/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(spec)
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if isinstance(result, Ok) and result.ok().path.startswith(AREA_PREFIXES)
    ]
    assert len(operations) >= 9, [o.path for o in operations]
    headers = {"Authorization": f"Bearer {token_of(gateway_cell)}"}
    statuses: Counter[int] = Counter()
    started = time.monotonic()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if mode is GenerationMode.NEGATIVE and not malformable(operation):
                continue
            await asyncio.to_thread(
                fuzz, operation, mode, areas_gateway.base_url, headers, statuses
            )
    took = time.monotonic() - started
    print(f"schemathesis: {len(operations)} operations, {dict(statuses)} in {took:.1f} s")
    assert not any(status >= 500 for status in statuses), statuses
