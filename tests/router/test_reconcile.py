"""One reconciliation (services.router.reconcile) against a real Caddy and a real dnsmasq: what it
corrects, what it leaves alone, and that a second run corrects nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.router.parts import PartsCache
from services.router.reconcile import reconcile_once
from services.router.tls import TLS_POLICY_ID
from shared.config import CellConfig
from shared.events.messages import ServiceState
from shared.installed import ServiceRecord
from tests.router.conftest import Backends, CaddyRunner, DnsServer, loopback_client
from tests.router.dns_parts import CELL_ADDRESS, ZONE, settled_answer
from tests.router.service_parts import router_config

pytestmark = pytest.mark.integration


def record(
    sid: str, port: int, state: ServiceState = ServiceState.installed, **manifest: Any
) -> ServiceRecord:
    fields = {
        "container_name": f"cell-{sid}",
        "has_subdomain": True,
        "subdomain": sid,
        "backend": f"cell-{sid}:{port}",
        **manifest,
    }
    return ServiceRecord(service_id=sid, state=state, manifest=fields, service_ip="127.0.0.1")


@pytest.fixture
async def parts(tmp_path: Path, caddy: CaddyRunner, dnsmasq: DnsServer, http_port: int):  # type: ignore[no-untyped-def]
    def configure(**router: Any) -> None:
        config = {**router_config(caddy, http_port, dnsmasq), **router}
        CellConfig.model_validate(
            {"domain": ZONE, "cell_address": CELL_ADDRESS, "router": config}
        ).write(tmp_path / "data")

    configure()
    cache = PartsCache(tmp_path / "data")
    cache.configure = configure  # type: ignore[attr-defined]
    yield cache
    await cache.aclose()


async def get(port: int, host: str) -> str:
    async with loopback_client() as client:
        return (await client.get(f"http://127.0.0.1:{port}/", headers={"Host": host})).text


async def test_reconcile_adds_removes_and_leaves_busy_services_alone(
    parts: PartsCache, backends: Backends, http_port: int, caddy: CaddyRunner, dnsmasq: DnsServer
) -> None:
    one, two = await backends("one"), await backends("two")
    records = {"one": record("one", one), "two": record("two", two)}
    first = await reconcile_once(await parts.current(), records)
    assert first.caddy.server_created and sorted(first.caddy.added) == [
        "pic-store.one.0",
        "pic-store.two.0",
    ]
    assert first.dns_set == ("one", "two")
    assert await get(http_port, f"one.{ZONE}") == "I am one"
    assert await settled_answer(dnsmasq.port, f"two.{ZONE}", ("NOERROR", [CELL_ADDRESS])) == (
        "NOERROR",
        [CELL_ADDRESS],
    )
    assert not (await reconcile_once(await parts.current(), records)).changed

    # "two" is being upgraded: its routes belong to the saga until it ends.
    records["two"] = record("two", 1, ServiceState.installing, subdomain="other")
    del records["one"]
    third = await reconcile_once(await parts.current(), records)
    assert third.caddy.removed == ("pic-store.one.0",) and third.dns_removed == ("one",)
    assert third.caddy.added == () and third.caddy.replaced == ()
    assert await get(http_port, f"two.{ZONE}") == "I am two"
    assert await settled_answer(dnsmasq.port, f"one.{ZONE}", ("NXDOMAIN", [])) == ("NXDOMAIN", [])


async def test_a_private_domain_gets_our_internal_tls_policy_back(
    parts: PartsCache, caddy: CaddyRunner
) -> None:
    parts.configure(tls="internal")  # type: ignore[attr-defined]
    report = await reconcile_once(await parts.current(), {})
    assert report.tls_restored
    async with caddy.raw_client() as client:
        policy = (await client.get(f"/id/{TLS_POLICY_ID}")).json()
        assert policy["issuers"] == [{"module": "internal", "ca": "pic_store"}]
        assert not (await reconcile_once(await parts.current(), {})).tls_restored
        (await client.delete(f"/id/{TLS_POLICY_ID}")).raise_for_status()
    assert (await reconcile_once(await parts.current(), {})).tls_restored


async def test_a_hostname_resolves_to_the_service_ip_and_goes_with_the_service(
    parts: PartsCache, backends: Backends, http_port: int, dnsmasq: DnsServer
) -> None:
    """`hostnames`: mail.<domain> answers the service's own IP (peers connect to it directly,
    no Caddy route), its subdomain still the cell's address; gone when the service is."""
    web = await backends("web")
    records = {
        "web": record("web", web, hostnames=["mail"]),
        "game": record("game", 1, has_subdomain=False, hostnames=["play"]).model_copy(
            update={"service_ip": "172.20.0.31"}
        ),
    }
    first = await reconcile_once(await parts.current(), records)
    assert first.problems == () and first.dns_set == ("game", "web")
    assert first.caddy.added == ("pic-store.web.0",)  # no route for a hostname
    for name, address in [("mail", "127.0.0.1"), ("web", CELL_ADDRESS), ("play", "172.20.0.31")]:
        answer = ("NOERROR", [address])
        assert await settled_answer(dnsmasq.port, f"{name}.{ZONE}", answer) == answer
    assert await get(http_port, f"web.{ZONE}") == "I am web"
    assert not (await reconcile_once(await parts.current(), records)).changed

    gone = await reconcile_once(await parts.current(), {})
    assert gone.dns_removed == ("game", "web")
    for name in ("mail", "web", "play"):
        assert await settled_answer(dnsmasq.port, f"{name}.{ZONE}", ("NXDOMAIN", [])) == (
            "NXDOMAIN",
            [],
        )
