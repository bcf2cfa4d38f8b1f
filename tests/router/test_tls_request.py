"""HTTPS through a real Caddy with the cell's internal CA: the router only sets the policy,
Caddy issues the certificate, and a client that trusts our CA's root gets the service's answer."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import httpx
import pytest

from app.embedded import free_port
from services.router.caddy import CaddyAdmin
from services.router.routes import desired_routes, routes_for
from services.router.tls import CA_ID, TlsPolicy, tls_policy
from shared.cell_ca import cell_root_files, ensure_ca, root_certificate
from tests.router.conftest import Backends, CaddyRunner

pytestmark = pytest.mark.integration


async def https_get(port: int, host: str, context: ssl.SSLContext) -> httpx.Response:
    """GET https://<host>/ sent to 127.0.0.1:port, with SNI and name checks for <host>."""
    async with httpx.AsyncClient(verify=context, trust_env=False, timeout=5) as client:
        return await client.get(
            f"https://127.0.0.1:{port}/", headers={"Host": host}, extensions={"sni_hostname": host}
        )


async def _serve_notes(caddy: CaddyRunner, backends: Backends, policy: TlsPolicy) -> int:
    """Caddy serving notes.cell.test over HTTPS on a loopback port, with `policy`."""
    port = free_port()
    async with caddy.raw_client() as client:
        # The cell owns the http app's own ports; HTTP->HTTPS redirects go to a loopback port.
        put = await client.put("/config/apps/http/http_port", json=free_port())
        put.raise_for_status()
    async with CaddyAdmin(caddy.admin_url, listen=[f"127.0.0.1:{port}"]) as admin:
        await admin.ensure_tls(policy)
        await admin.ensure_server()
        backend = await backends("notes")
        service = routes_for(
            "notes",
            "notes",
            f"cell-notes:{backend}",
            [],
            [],
            "cell.test",
            "ip",
            "127.0.0.1",
            container_name="cell-notes",
        )
        for route in desired_routes([service]).values():
            await admin.add_route(route)
    return port


async def _answer(port: int, context: ssl.SSLContext) -> httpx.Response:
    for _ in range(100):  # Caddy issues the certificate in the background
        try:
            return await https_get(port, "notes.cell.test", context)
        except (httpx.ConnectError, httpx.ReadError):
            await asyncio.sleep(0.1)
    raise AssertionError("no TLS handshake with our CA's certificate in 10 s")


async def test_a_private_domain_is_served_over_https_by_our_internal_ca(
    caddy: CaddyRunner, backends: Backends
) -> None:
    port = await _serve_notes(caddy, backends, tls_policy("cell.test", public=False))
    async with caddy.raw_client() as client:
        ca = (await client.get(f"/pki/ca/{CA_ID}")).json()
    assert ca["name"] == "pic-store cell.test"
    answer = await _answer(port, ssl.create_default_context(cadata=ca["root_certificate"]))
    assert answer.status_code == 200
    assert answer.text == "I am notes"

    # The system's roots do not vouch for it: the certificate is our CA's, not a default.
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        await https_get(port, "notes.cell.test", ssl.create_default_context())


async def test_with_the_cells_own_ca_caddy_serves_under_the_root_peers_are_given(
    caddy: CaddyRunner, backends: Backends, tmp_path: Path
) -> None:
    """The root a peer config carries (`{cell.ca_certificate}`, the mail host's) is the one
    behind Caddy's HTTPS too: a client trusting that file alone gets the answer."""
    ensure_ca(tmp_path, "cell")
    root = cell_root_files(tmp_path)
    assert root is not None
    port = await _serve_notes(caddy, backends, tls_policy("cell.test", public=False, root=root))
    trusting_the_file = ssl.create_default_context(cafile=str(root[0]))
    answer = await _answer(port, trusting_the_file)
    assert answer.text == "I am notes"
    async with caddy.raw_client() as client:
        ca = (await client.get(f"/pki/ca/{CA_ID}")).json()
    assert ca["root_certificate"].strip() == root_certificate(tmp_path).strip()
