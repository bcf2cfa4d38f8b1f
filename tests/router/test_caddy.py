"""Routes through a real Caddy: requests reach the service, other owners' config is untouched,
and reconcile restores everything after a crash."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.embedded import free_port
from services.router.caddy import FALLBACK_ID, CaddyAdmin
from services.router.caddy_routes import Corrections, reconcile
from services.router.errors import CaddyUnavailableError, InvalidRouteError, RouterError
from services.router.routes import build_route, desired_routes, routes_for
from services.router.tls import CA_ID, TLS_POLICY_ID, tls_policy
from tests.router.conftest import Backends, CaddyRunner, loopback_client

pytestmark = pytest.mark.integration

FOREIGN_SERVER = {
    "listen": ["127.0.0.1:0"],  # replaced by a free port in the fixture
    "automatic_https": {"disable": True},
    "routes": [
        {
            "@id": "someone-else.web",
            "match": [{"host": ["web.cell.test"]}],
            "handle": [{"handler": "static_response", "body": "not yours"}],
        }
    ],
}


async def get(port: int, host: str) -> httpx.Response:
    async with loopback_client() as client:
        return await client.get(f"http://127.0.0.1:{port}/", headers={"Host": host})


async def files_service(backends: Backends) -> dict[str, Any]:
    web, dav = await backends("files-web"), await backends("files-dav")
    service = routes_for(
        "files",
        "files",
        f"cell-files:{web}",
        ["dav"],
        [f"cell-files-dav:{dav}"],
        "cell.test",
        "ip",
        "127.0.0.1",
        container_name="cell-files",
        addresses={"cell-files-dav": "127.0.0.1"},
    )
    return desired_routes([service])


@pytest.fixture
async def foreign(caddy: CaddyRunner, admin: CaddyAdmin) -> dict[str, Any]:
    """A server of another owner, plus one foreign route inside our own server."""
    server = {**FOREIGN_SERVER, "listen": [f"127.0.0.1:{free_port()}"]}
    async with caddy.raw_client() as client:
        (await client.put("/config/apps/http/servers/theirs", json=server)).raise_for_status()
    await admin.ensure_server()
    mine = {
        "@id": "another-owner.x",
        "match": [{"host": ["x.cell.test"]}],
        "handle": [{"handler": "static_response", "body": "x"}],
    }
    async with caddy.raw_client() as client:
        path = f"/config/apps/http/servers/{admin.server}/routes/0"
        (await client.put(path, json=mine)).raise_for_status()
    return {"server": server, "route": mine}


async def test_a_request_reaches_the_service_then_404_after_remove(
    admin: CaddyAdmin, backends: Backends, http_port: int
) -> None:
    desired = await files_service(backends)
    assert await admin.ensure_server() is True
    assert await admin.ensure_server() is False
    for route in desired.values():
        await admin.add_route(route)

    assert (await get(http_port, "files.cell.test")).text == "I am files-web"
    assert (await get(http_port, "dav.cell.test")).text == "I am files-dav"
    assert (await get(http_port, "nobody.cell.test")).status_code == 404
    assert await admin.get_route("pic-store.files.1") == desired["pic-store.files.1"]

    assert await admin.remove_route("pic-store.files.0") is True
    assert await admin.remove_route("pic-store.files.0") is False  # already gone: fine
    assert (await get(http_port, "files.cell.test")).status_code == 404
    assert (await get(http_port, "dav.cell.test")).text == "I am files-dav"
    assert await admin.get_route("pic-store.files.0") is None


async def test_put_route_replaces_in_place_or_adds(
    admin: CaddyAdmin, backends: Backends, http_port: int
) -> None:
    await admin.ensure_server()
    one, two = await backends("one"), await backends("two")
    await admin.put_route(build_route("n", "n.cell.test", f"127.0.0.1:{one}", 0))
    assert (await get(http_port, "n.cell.test")).text == "I am one"
    await admin.put_route(build_route("n", "n.cell.test", f"127.0.0.1:{two}", 0))
    assert (await get(http_port, "n.cell.test")).text == "I am two"
    routes = await admin.list_routes()
    assert [r["@id"] for r in routes] == ["pic-store.n.0", FALLBACK_ID]


async def test_the_account_api_of_a_service_is_not_reachable_through_caddy(
    admin: CaddyAdmin, backends: Backends, http_port: int
) -> None:
    """pic-store calls /service-api/accounts on the cell network; through the route, anyone
    who reaches the name could make accounts: Caddy answers 404 and the service never sees it."""
    await admin.ensure_server()
    one = await backends("one")
    await admin.put_route(build_route("n", "n.cell.test", f"127.0.0.1:{one}", 0))
    async with loopback_client() as client:
        for path in ("/service-api/accounts", "/service-api", "/service-api/accounts/alice"):
            for method in ("GET", "POST", "DELETE"):
                answer = await client.request(
                    method, f"http://127.0.0.1:{http_port}{path}", headers={"Host": "n.cell.test"}
                )
                assert (answer.status_code, answer.text) == (404, ""), (method, path)
        page = await client.get(
            f"http://127.0.0.1:{http_port}/service-apis", headers={"Host": "n.cell.test"}
        )
    assert page.text == "I am one", "only the account API's own paths are held back"


async def test_other_owners_are_never_touched(
    caddy: CaddyRunner, admin: CaddyAdmin, foreign: dict[str, Any], backends: Backends
) -> None:
    async def theirs() -> tuple[object, object]:
        async with caddy.raw_client() as client:
            server = (await client.get("/config/apps/http/servers/theirs")).json()
            route = (await client.get("/id/another-owner.x")).json()
        return server, route

    before = await theirs()
    assert before == (foreign["server"], foreign["route"])
    desired = await files_service(backends)
    for route in desired.values():
        await admin.add_route(route)
    await admin.remove_route("pic-store.files.0")
    corrections = await reconcile(admin, {})
    assert corrections.removed == ("pic-store.files.1",)
    assert await reconcile(admin, desired) == Corrections(added=tuple(desired))
    assert await theirs() == before
    with pytest.raises(InvalidRouteError, match="not ours"):
        await admin.remove_route("another-owner.x")
    with pytest.raises(InvalidRouteError, match="lacks"):
        await admin.put_route(foreign["route"])
    assert await theirs() == before


async def test_reconcile_restores_routes_after_caddy_restarts_empty(
    caddy: CaddyRunner, admin: CaddyAdmin, backends: Backends, http_port: int
) -> None:
    desired = await files_service(backends)
    first = await reconcile(admin, desired)
    assert first.server_created
    assert set(first.added) == set(desired)
    assert await reconcile(admin, desired) == Corrections()  # nothing left to correct

    caddy.restart_empty()
    assert (await caddy_config(caddy)).get("apps") is None
    with pytest.raises(httpx.HTTPError):
        await get(http_port, "files.cell.test")
    restored = await reconcile(admin, desired)
    assert restored.server_created
    assert set(restored.added) == set(desired)
    assert (await get(http_port, "files.cell.test")).text == "I am files-web"

    # A route changed by hand, a stray route of ours, and the fallback moved away.
    hand = {
        **desired["pic-store.files.0"],
        "handle": [{"handler": "static_response", "body": "edited by hand"}],
    }
    await admin.replace_route(hand)
    await admin.add_route(build_route("gone", "gone.cell.test", "cell-gone:80", 0))
    assert (await get(http_port, "files.cell.test")).text == "edited by hand"
    corrections = await reconcile(admin, desired)
    assert corrections == Corrections(
        replaced=("pic-store.files.0",), removed=("pic-store.gone.0",)
    )
    assert corrections.changed
    assert (await get(http_port, "files.cell.test")).text == "I am files-web"
    assert (await get(http_port, "gone.cell.test")).status_code == 404


async def test_reconcile_puts_the_fallback_back_last(
    caddy: CaddyRunner, admin: CaddyAdmin, http_port: int
) -> None:
    await reconcile(admin, {})
    async with caddy.raw_client() as client:
        (await client.delete(f"/id/{FALLBACK_ID}")).raise_for_status()
    assert (await get(http_port, "nobody.cell.test")).status_code == 200  # Caddy's empty 200
    assert await reconcile(admin, {}) == Corrections(fallback_restored=True)
    assert (await get(http_port, "nobody.cell.test")).status_code == 404


async def test_errors_name_the_route_and_caddys_answer(
    caddy: CaddyRunner, admin: CaddyAdmin
) -> None:
    await admin.ensure_server()
    route = build_route("dup", "dup.cell.test", "cell-dup:80", 0)
    await admin.add_route(route)
    with pytest.raises(RouterError) as caught:
        await admin.add_route(route)
    assert "pic-store.dup.0" in caught.value.message
    assert "duplicate ID" in caught.value.message
    assert caught.value.status == 400
    assert caught.value.route_id == "pic-store.dup.0"
    with pytest.raises(RouterError, match=r"replace route pic-store\.none\.0: HTTP 404"):
        await admin.replace_route(build_route("none", "none.cell.test", "c:1", 0))

    caddy.current.stop()
    with pytest.raises(CaddyUnavailableError, match=r"did not answer .* pic-store\.dup\.0"):
        await admin.remove_route("pic-store.dup.0")


async def test_tls_policies_are_accepted_by_caddy(caddy: CaddyRunner, admin: CaddyAdmin) -> None:
    catch_all = {"issuers": [{"module": "internal"}]}  # another owner's policy, kept last
    async with caddy.raw_client() as client:
        put = await client.put("/config/apps/tls/automation/policies", json=[catch_all])
        put.raise_for_status()
        put = await client.put(
            "/config/apps/pki/certificate_authorities/local", json={"install_trust": False}
        )
        put.raise_for_status()
    private = tls_policy("cell.test", public=False)
    await admin.ensure_tls(private)
    await admin.ensure_tls(private)  # idempotent: replaced in place, not added twice
    config = await caddy_config(caddy)
    policies = config["apps"]["tls"]["automation"]["policies"]
    assert policies == [private.policy, catch_all]
    assert config["apps"]["pki"]["certificate_authorities"][CA_ID]["install_trust"] is False

    public = tls_policy("example.org", public=True, acme_email="admin@example.org")
    await admin.ensure_tls(public)
    policies = (await caddy_config(caddy))["apps"]["tls"]["automation"]["policies"]
    assert policies == [public.policy, catch_all]
    assert policies[0]["@id"] == TLS_POLICY_ID
    assert policies[0]["issuers"] == [{"module": "acme", "email": "admin@example.org"}]


async def caddy_config(caddy: CaddyRunner) -> dict[str, Any]:
    async with caddy.raw_client() as client:
        config: dict[str, Any] = (await client.get("/config/")).json()
        return config
